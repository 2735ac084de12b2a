"""Migration between two real libvirt hosts (tests/two_hosts.py), through the API only.

A stopped VM on local storage with a snapshot migrates cold (its root volume's files, the snapshot's
and the overlay on it, go from one host's directory to the other's, and it then starts there on
real QEMU); a running VM on storage both hosts share
migrates live (libvirt moves the running QEMU) and keeps answering RFB through the portal's
console proxy on the destination's VNC port; the portal's host, capacity, state and NIC rows
follow. Each host is a network namespace of its own with its own bridge and DHCP server (dnsmasq)
for the L3, both bridges on one shared L2: the live VM boots from the network (iPXE) and leases its
address from host a's dnsmasq; after the migration host b's dnsmasq holds its static lease and
hands it the same address when iPXE asks again, and host a's has forgotten it.
"""
import time

import pytest
from asgiref.sync import async_to_sync

from apps.compute.models import VmInstance
from apps.infra import agent
from apps.infra.models import Host
from apps.storage.models import VolumeSnapshot
from tests.compute.test_vm_kvm import ok, run
from tests.console import rfb
from tests.console.test_end_to_end import vnc_session
from tests.network.conftest import test_subnet  # noqa: F401  (fixture)
from tests.storage.conftest import make_qcow2

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")
pytestmark = pytest.mark.libvirt
MIB = 1 << 20


def _dhcp(row, l3_uuid, mac):
    """``(static entry's IP, leased IP)`` of ``mac`` in host ``row``'s DHCP server for the L3."""
    state = agent.call(row, "/v1/network/state")["dhcp"].get(l3_uuid, {})
    entry = next((e["ip"] for e in state.get("entries", []) if e["mac"] == mac), None)
    return entry, next((lease["ip"] for lease in state.get("leases", []) if lease["mac"] == mac), None)


def _wait_lease(row, l3_uuid, mac, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        leased = _dhcp(row, l3_uuid, mac)[1]
        if leased:
            return leased
        time.sleep(0.5)
    return None


def test_cold_then_live_migration_between_two_libvirt_hosts(
        transactional_db, admin_client, live_server, settings, tmp_path, two_kvm_hosts, test_subnet):
    client, hosts = admin_client, two_kvm_hosts.hosts
    # the agents fetch the image from the portal's image store
    settings.PORTAL_URL = hosts.portal_url(live_server.url)
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
                                                     "physical_interface": hosts.l2_interface, "zone_uuid": zone},
                            format="json"))
        run(client, "post", f"/api/v1/l2-networks/{l2['uuid']}/attach/", {"cluster_uuid": cluster})
        l3 = ok(client.post("/api/v1/l3-networks/", {"name": "flat-l3", "l2_network_uuid": l2["uuid"]},
                            format="json"))
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

        attach_ps("local", f"{hosts.local_dir}/ps")
        (hosts.shared_dir / "smp").mkdir(mode=0o755)
        attach_ps("shared", f"{hosts.shared_dir}/smp", type="SharedMountPoint")
        # the live one first: it boots (and iPXE asks a's dnsmasq) while the cold one migrates
        live = create("live", primary_storage_type="SharedMountPoint")

        # --- cold: a stopped VM on local storage; its file moves to the other host's directory
        uuid = create("cold", start=False, primary_storage_type="LocalStorage")
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

        # --- live: a running VM whose volume is on storage both hosts see
        uuid = live
        before = client.get(f"/api/v1/vm-instances/{uuid}/").json()
        assert before["state"] == "Running" and hosts.where(uuid) == {"a": libvirt.VIR_DOMAIN_RUNNING}
        [nic] = before["nics"]
        row_a, row_b = two_kvm_hosts.rows
        # iPXE (the blank disk falls through to the network) leases the allocated IP from a's dnsmasq
        assert _wait_lease(row_a, l3["uuid"], nic["mac"]) == nic["ip"]
        assert _dhcp(row_b, l3["uuid"], nic["mac"]) == (None, None)
        _, job = run(client, "post", f"/api/v1/vm-instances/{uuid}/migrate/", {})
        vm = client.get(f"/api/v1/vm-instances/{uuid}/").json()
        assert vm["state"] == "Running" and vm["host_uuid"] == host_b
        assert hosts.where(uuid) == {"b": libvirt.VIR_DOMAIN_RUNNING}
        assert job["result"]["mode"] == "live" and job["result"]["migration"]["libvirt_seconds"] > 0
        assert [(n["mac"], n["ip"]) for n in vm["nics"]] == [(n["mac"], n["ip"]) for n in before["nics"]]
        used = {str(h.uuid): (h.used_cpu, h.used_memory) for h in Host.objects.all()}
        assert used == {host_a: (0, 0), host_b: (1, 64 * MIB)}
        # b's DHCP server knows the VM's MAC, a's has dropped it (entry and lease); when the VM asks
        # again (reset: iPXE runs anew on b), b's dnsmasq hands it the same address
        assert _dhcp(row_b, l3["uuid"], nic["mac"])[0] == nic["ip"]
        assert _dhcp(row_a, l3["uuid"], nic["mac"]) == (None, None)
        conn = b.libvirt()
        try:
            conn.lookupByUUIDString(uuid).reset()
        finally:
            conn.close()
        assert _wait_lease(row_b, l3["uuid"], nic["mac"]) == nic["ip"]
        assert hosts.where(uuid) == {"b": libvirt.VIR_DOMAIN_RUNNING}
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
