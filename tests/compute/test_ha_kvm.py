"""HA on two real libvirt hosts (tests/two_hosts.py, a pair of its own: this test stops one).

A NeverStop VM runs in QEMU on host b, its disk on the shared directory both hosts see. Host b's
agent and libvirtd are stopped; its QEMU is left running, as after a crash of the management
stack on a host that still runs its guests. HA confirms b down (agent silent, storage heartbeat
stale as read by host a's agent) and restarts the VM on a: QEMU's image lock refuses to open the
disk the live QEMU on b still holds, so the attempt fails and the VM does not run twice. Once b's
QEMU is gone (the host really down), the next attempt starts it on a: one restart, once."""
import os
import random
import signal
import subprocess
import time
import uuid as uuid_lib

import pytest
from django.utils import timezone

from apps.compute import ha
from apps.compute.models import HaRestart, VmInstance
from apps.core.models import Job
from apps.infra import agent
from apps.infra.models import Cluster, Host, Zone
from apps.storage.models import PrimaryStorage, Volume

pytestmark = pytest.mark.libvirt
MIB = 1 << 20


@pytest.fixture
def pair(transactional_db):
    """Two libvirt hosts of this test's own, stopped at its end."""
    from tests.two_hosts import TwoHosts, _can_run

    why = _can_run()
    if why:
        pytest.skip(f"two libvirt hosts: {why}")
    import libvirt

    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    hosts = TwoHosts()
    for index, host in enumerate(hosts.hosts):
        _own_vnc_ports(host, 20000 + random.randrange(0, 400) * 100 + index * 50)
    try:
        hosts.start()
        yield hosts
    finally:
        hosts.stop()


def _own_vnc_ports(host, first):
    """VNC ports of this host's domains from ``first`` on: libvirt's autoport checks a port is free,
    but another daemon on this machine (the system's, other tests') may take it before QEMU binds it."""
    from tests.two_hosts import _set

    prepare = host._prepare

    def prepare_with_ports():
        prepare()
        conf = host.dir / "etc_libvirt" / "qemu.conf"
        text = _set(_set(conf.read_text(), "remote_display_port_min", first), "remote_display_port_max", first + 49)
        conf.write_text(text)

    host._prepare = prepare_with_ports


def qemu_pids(vm_uuid):
    """Pids of the QEMU processes running domain ``vm_uuid`` (its uuid is on their command line)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    cmdline = handle.read()
            except OSError:
                continue
            if b"qemu-system" in cmdline and vm_uuid.encode() in cmdline:
                pids.append(int(entry))
    return pids


def test_ha_restarts_a_vm_whose_host_agent_and_libvirtd_stopped_exactly_once(pair, admin_user, admin_client):
    a, b = pair.hosts
    zone = Zone.objects.create(name="ha")
    cluster = Cluster.objects.create(name="kvm", zone=zone, hypervisor_type="KVM")
    rows = {}
    for host in (a, b):
        row = Host.objects.create(uuid=host.host_uuid, name=f"kvm-{host.name}", cluster=cluster, hypervisor_type="KVM",
                                  management_ip="127.0.0.1", agent_port=host.agent.port, agent_secret=host.secret,
                                  status="Connected", address_key=f"127.0.0.1:{host.agent.port}",
                                  cpu_num=2, memory_size=4 << 30)
        row.facts = agent.call(row, "/v1/host/connect", agent.connect_body())["facts"]
        row.save()
        rows[host.name] = row
    ps = PrimaryStorage.objects.create(name="smp", type="SharedMountPoint", url=str(pair.shared_dir), zone=zone)
    ps.clusters.add(cluster)
    for name, value in (("heartbeat.interval", 1), ("host.check.times", 2)):
        assert admin_client.patch(f"/api/v1/global-configs/ha/{name}/", {"value": value},
                                  format="json").status_code == 200
    for row in rows.values():   # what connecting does: each agent heartbeats on the shared storage
        ha.start_heartbeat(row)
    assert {p.name for p in (pair.shared_dir / "heartbeat").iterdir()} == {a.host_uuid, b.host_uuid}

    vm_uuid = str(uuid_lib.uuid4())
    disk = pair.shared_dir / f"{vm_uuid}.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "16M"], check=True)
    disk.chmod(0o666)
    volume = Volume.objects.create(name="root", account=admin_user.account, size=16 * MIB, install_path=str(disk),
                                   primary_storage=ps, host=rows["b"], status="Ready", vm_instance_uuid=vm_uuid)
    vm = VmInstance.objects.create(uuid=vm_uuid, name="ha-vm", account=admin_user.account, state="Running",
                                   cpu_num=1, memory_size=64 * MIB, host=rows["b"], last_host=rows["b"],
                                   cluster=cluster, zone=zone, root_volume=volume, ha_level="NeverStop")
    Host.objects.filter(pk=rows["b"].pk).update(used_cpu=1, used_memory=64 * MIB)
    from apps.compute.flows.vm_common import define_body

    agent.call(rows["b"], "/v1/vm/define", define_body(vm, [], str(disk), "qcow2"))
    agent.call(rows["b"], "/v1/vm/start", {"vm_uuid": vm_uuid})
    try:
        [b_qemu] = qemu_pids(vm_uuid)

        # host b fails: its agent and libvirtd stop; the QEMU it started runs on
        b.agent.stop()
        libvirtd = int((b.dir / "libvirtd.pid").read_text())
        os.kill(libvirtd, signal.SIGTERM)
        for _ in range(150):
            if not os.path.exists(f"/proc/{libvirtd}") or open(f"/proc/{libvirtd}/stat").read().split()[2] == "Z":
                break
            time.sleep(0.1)
        else:
            pytest.fail("libvirtd of host b did not stop")
        assert qemu_pids(vm_uuid) == [b_qemu]
        Host.objects.filter(pk=rows["b"].pk).update(status="Disconnected")   # what the host tracker does
        time.sleep(2.5)   # the heartbeat goes stale: older than two intervals

        assert ha.check_failed_hosts(gate=False) == []
        assert ha.check_failed_hosts(gate=False) == [b.host_uuid]
        vm.refresh_from_db()
        assert vm.state == "Stopped" and vm.host_id is None
        assert ha.run_due_restarts() == 1   # on host a: QEMU cannot take the disk b's QEMU holds
        [first] = Job.objects.filter(resource_uuid=vm_uuid, action="ha-restart-vm")
        assert first.state == "failed", first.result
        assert "lock" in first.error["message"], first.error
        assert qemu_pids(vm_uuid) == [b_qemu]   # never twice
        vm.refresh_from_db()
        assert vm.state == "Stopped"

        # the host is really down now; the retry (its delay passed) starts the VM on a, once
        os.kill(b_qemu, signal.SIGKILL)
        for _ in range(50):
            if not qemu_pids(vm_uuid):
                break
            time.sleep(0.1)
        ha.run_due_restarts()   # records the failure and its backoff
        restart = HaRestart.objects.get(vm_instance=vm)
        assert restart.attempts == 1 and restart.next_attempt_at > timezone.now()
        HaRestart.objects.filter(pk=restart.pk).update(next_attempt_at=timezone.now())
        assert ha.run_due_restarts() == 1
        vm.refresh_from_db()
        assert vm.state == "Running" and vm.host_id == rows["a"].pk
        conn = a.libvirt()
        try:
            assert conn.lookupByUUIDString(vm_uuid).isActive()
        finally:
            conn.close()
        assert len(qemu_pids(vm_uuid)) == 1
        assert ha.run_due_restarts() == 0 and ha.check_failed_hosts(gate=False) == []
        assert [j.state for j in Job.objects.filter(resource_uuid=vm_uuid, action="ha-restart-vm")
                .order_by("created_at")] == ["failed", "succeeded"]
    finally:
        for pid in qemu_pids(vm_uuid):
            os.kill(pid, signal.SIGKILL)
        a_conn = a.libvirt()
        try:
            dom = a_conn.lookupByUUIDString(vm_uuid)
            if dom.isActive():
                dom.destroy()
            dom.undefine()
        except Exception:  # noqa: BLE001 - not defined there
            pass
        finally:
            a_conn.close()
