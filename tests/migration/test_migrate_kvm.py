"""Migration between two real libvirt hosts (tests/two_hosts.py), through the API only.

A stopped VM on local storage with a snapshot migrates cold (its root volume's files, the snapshot's
and the overlay on it, go from one host's directory to the other's, and it then starts there on
real QEMU); a running VM on storage both hosts share
migrates live (libvirt moves the running QEMU) and keeps answering RFB through the portal's
console proxy on the destination's VNC port; the portal's host, capacity, state and NIC rows
follow. The NIC sits on a real Linux bridge; both "hosts" share this machine's network namespace,
so it is one bridge, and DHCP is off on the L3 (two hosts' dnsmasq for one L3 in one namespace
would be one server, not two): the lease itself is not tested here.
"""
import pytest
from asgiref.sync import async_to_sync

from apps.compute.models import VmInstance
from apps.infra.models import Host
from apps.storage.models import PrimaryStorage, VolumeSnapshot
from tests.compute.test_vm_kvm import ok, run
from tests.console import rfb
from tests.console.test_end_to_end import vnc_session
from tests.network.conftest import test_interface, test_subnet  # noqa: F401  (fixtures)
from tests.storage.conftest import make_qcow2

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")
pytestmark = pytest.mark.libvirt
MIB = 1 << 20


def test_cold_then_live_migration_between_two_libvirt_hosts(
        transactional_db, admin_client, live_server, settings, tmp_path, two_kvm_hosts, test_interface,
        test_subnet):
    settings.PORTAL_URL = live_server.url   # the agents fetch the image from the portal's image store
    client, hosts = admin_client, two_kvm_hosts.hosts
    a, b = hosts.hosts
    host_a, host_b = (str(row.uuid) for row in two_kvm_hosts.rows)
    zone, cluster = str(two_kvm_hosts.zone.uuid), str(two_kvm_hosts.cluster.uuid)
    l2 = None
    made = []
    try:
        bs = ok(client.post("/api/v1/backup-storage/", {"name": "store", "type": "ImageStore",
                                                        "url": str(tmp_path / "store")}, format="json"))
        ok(client.post(f"/api/v1/backup-storage/{bs['uuid']}/attach/", {"zone_uuid": zone}, format="json"))
        source = make_qcow2(tmp_path / "blank.qcow2", "32M")
        image, _ = run(client, "post", "/api/v1/images/", {"name": "blank", "url": f"file://{source}",
                                                          "backup_storage_uuids": [bs["uuid"]], "platform": "Linux"})
        l2 = ok(client.post("/api/v1/l2-networks/", {"name": "flat", "type": "NoVlan",
                                                     "physical_interface": test_interface, "zone_uuid": zone},
                            format="json"))
        run(client, "post", f"/api/v1/l2-networks/{l2['uuid']}/attach/", {"cluster_uuid": cluster})
        l3 = ok(client.post("/api/v1/l3-networks/", {"name": "flat-l3", "l2_network_uuid": l2["uuid"],
                                                     "dhcp": False}, format="json"))
        ok(client.post(f"/api/v1/l3-networks/{l3['uuid']}/ip-ranges/", {
            "start_ip": f"{test_subnet}.10", "end_ip": f"{test_subnet}.200", "netmask": "255.255.255.0",
            "gateway": f"{test_subnet}.1"}, format="json"))
        offering = ok(client.post("/api/v1/instance-offerings/", {"name": "tiny", "cpu_num": 1,
                                                                  "memory_size": 64 * MIB}, format="json"))
        ok(client.patch("/api/v1/global-configs/vm/stop.timeout/", {"value": 0}, format="json"))
        ok(client.patch("/api/v1/global-configs/vm/deletionPolicy/", {"value": "Direct"}, format="json"))

        def create(name, **extra):
            created, _ = run(client, "post", "/api/v1/vm-instances/", {
                "name": name, "instance_offering_uuid": offering["uuid"], "image_uuid": image["resource"]["uuid"],
                "l3_network_uuids": [l3["uuid"]], "host_uuid": host_a, **extra})
            made.append(created["resource"]["uuid"])
            return created["resource"]["uuid"]

        def attach_ps(name, url, type="LocalStorage"):
            ps = ok(client.post("/api/v1/primary-storage/", {"name": name, "type": type, "url": url,
                                                             "zone_uuid": zone}, format="json"))
            run(client, "post", f"/api/v1/primary-storage/{ps['uuid']}/attach/", {"cluster_uuid": cluster})
            return ps["uuid"]

        # --- cold: a stopped VM on local storage; its file moves to the other host's directory
        local = attach_ps("local", f"{hosts.local_dir}/ps")
        uuid = create("cold", start=False)
        vm = client.get(f"/api/v1/vm-instances/{uuid}/").json()
        assert vm["state"] == "Stopped" and vm["last_host_uuid"] == host_a
        # with a snapshot: the chain (the snapshot's file under the volume's overlay) moves whole
        run(client, "post", "/api/v1/volume-snapshots/", {"name": "before", "volume_uuid": vm["root_volume_uuid"]})
        volume = client.get(f"/api/v1/volumes/{vm['root_volume_uuid']}/").json()
        relative = volume["install_path"][len(str(hosts.local_dir)) + 1:]
        snapshot_file = VolumeSnapshot.objects.get(volume__uuid=vm["root_volume_uuid"]).install_path
        snapshot_relative = snapshot_file[len(str(hosts.local_dir)) + 1:]
        assert (a.local_backing / relative).exists() and not (b.local_backing / relative).exists()
        assert (a.local_backing / snapshot_relative).exists()
        plan = ok(client.post(f"/api/v1/vm-instances/{uuid}/migrate/", {"dry_run": True}, format="json"))
        assert plan["mode"] == "cold" and plan["destination"]["uuid"] == host_b
        _, job = run(client, "post", f"/api/v1/vm-instances/{uuid}/migrate/", {})
        vm = client.get(f"/api/v1/vm-instances/{uuid}/").json()
        assert vm["state"] == "Stopped" and vm["last_host_uuid"] == host_b and "left_on_source" not in job["result"]
        assert not (a.local_backing / relative).exists() and (b.local_backing / relative).exists()
        assert not (a.local_backing / snapshot_relative).exists() and (b.local_backing / snapshot_relative).exists()
        assert hosts.where(uuid) == {"b": libvirt.VIR_DOMAIN_SHUTOFF}
        run(client, "post", f"/api/v1/vm-instances/{uuid}/start/")   # QEMU opens the copied chain
        assert hosts.where(uuid) == {"b": libvirt.VIR_DOMAIN_RUNNING}
        run(client, "delete", f"/api/v1/vm-instances/{uuid}/")
        assert hosts.where(uuid) == {} and not (b.local_backing / relative).exists()
        PrimaryStorage.objects.filter(uuid=local).update(state="Disabled")

        # --- live: a running VM whose volume is on storage both hosts see
        (hosts.shared_dir / "smp").mkdir(mode=0o755)
        attach_ps("shared", f"{hosts.shared_dir}/smp", type="SharedMountPoint")
        uuid = create("live", primary_storage_type="SharedMountPoint")
        before = client.get(f"/api/v1/vm-instances/{uuid}/").json()
        assert before["state"] == "Running" and hosts.where(uuid) == {"a": libvirt.VIR_DOMAIN_RUNNING}
        _, job = run(client, "post", f"/api/v1/vm-instances/{uuid}/migrate/", {})
        vm = client.get(f"/api/v1/vm-instances/{uuid}/").json()
        assert vm["state"] == "Running" and vm["host_uuid"] == host_b
        assert hosts.where(uuid) == {"b": libvirt.VIR_DOMAIN_RUNNING}
        assert job["result"]["mode"] == "live" and job["result"]["migration"]["libvirt_seconds"] > 0
        assert [(n["mac"], n["ip"]) for n in vm["nics"]] == [(n["mac"], n["ip"]) for n in before["nics"]]
        used = {str(h.uuid): (h.used_cpu, h.used_memory) for h in Host.objects.all()}
        assert used == {host_a: (0, 0), host_b: (1, 64 * MIB)}
        # its console answers on the destination, through the portal's proxy
        console = ok(client.post(f"/api/v1/vm-instances/{uuid}/console/"))
        password = VmInstance.objects.get(uuid=uuid).console_password
        types, result, init = async_to_sync(vnc_session)(console["token"], password)
        assert rfb.SECURITY_VNC_AUTH in types and result == 0 and uuid in init["name"]
        # and back, to a host named
        run(client, "post", f"/api/v1/vm-instances/{uuid}/migrate/", {"host_uuid": host_a})
        assert client.get(f"/api/v1/vm-instances/{uuid}/").json()["host_uuid"] == host_a
        assert hosts.where(uuid) == {"a": libvirt.VIR_DOMAIN_RUNNING}
        run(client, "delete", f"/api/v1/vm-instances/{uuid}/")
    finally:
        for uuid in made:
            hosts.remove_domain(uuid)
        if l2 is not None:
            client.delete(f"/api/v1/l2-networks/{l2['uuid']}/")
