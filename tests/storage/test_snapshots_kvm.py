"""Volume snapshots on real QEMU through the real libvirt agent: distinct data at every level of
the chain (qemu-io writes on stopped files), checked with qemu-io reads after every operation."""
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from apps.compute.models import VmInstance
from apps.core.testing import make_account
from apps.storage.models import LocalStorageHostRef, Volume, VolumeSnapshot, VolumeStatus, VolumeType
from tests.hostagent.conftest import remove_domain

pytestmark = pytest.mark.libvirt
KiB64 = 64 * 1024


def qemu_io(path, command, share=False):
    argv = ["qemu-io", "-f", "qcow2", *(["-U"] if share else []), "-c", command, str(path)]
    result = subprocess.run(argv, capture_output=True, text=True)
    assert result.returncode == 0 and "Pattern verification failed" not in result.stdout, result.stdout + result.stderr
    return result.stdout


def write(path, pattern, offset):
    qemu_io(path, f"write -P {pattern:#04x} {offset} {KiB64}")


def reads(path, pattern, offset, share=False):
    """Whether ``path`` shows ``pattern`` at ``offset`` (through its backing chain)."""
    argv = ["qemu-io", "-f", "qcow2", *(["-U"] if share else []), "-c",
            f"read -P {pattern:#04x} {offset} {KiB64}", str(path)]
    result = subprocess.run(argv, capture_output=True, text=True)
    return result.returncode == 0 and "Pattern verification failed" not in result.stdout


def backing(path):
    import json

    info = json.loads(subprocess.run(["qemu-img", "info", "-U", "--output=json", str(path)],
                                     capture_output=True, text=True, check=True).stdout)
    return info.get("full-backing-filename") or info.get("backing-filename")


@pytest.fixture
def kvm(libvirt_agent):
    """The module's real agent, a directory QEMU can read, one VM uuid; the domain and files go after."""
    work = Path(tempfile.mkdtemp(prefix="cp-snap-"))
    work.chmod(0o755)
    vm_uuid = str(uuid.uuid4())
    yield libvirt_agent, work, vm_uuid
    remove_domain(vm_uuid)
    shutil.rmtree(work, ignore_errors=True)


def define(agent, vm_uuid, paths, start):
    agent.client.call("/v1/vm/define", {
        "vm_uuid": vm_uuid, "name": "snap", "cpu_num": 1, "memory_size": 64 << 20, "vnc": False,
        "disk_path": str(paths[0]), "disks": [{"path": str(p), "format": "qcow2"} for p in paths[1:]]})
    if start:
        agent.client.call("/v1/vm/start", {"vm_uuid": vm_uuid})


def domain_sources(vm_uuid):
    import libvirt
    import xml.etree.ElementTree as ET

    conn = libvirt.open("qemu:///system")
    try:
        root = ET.fromstring(conn.lookupByUUIDString(vm_uuid).XMLDesc(0))
    finally:
        conn.close()
    return [d.find("source").get("file") for d in root.findall("./devices/disk") if d.find("source") is not None]


def test_live_and_stopped_snapshots_revert_and_merges_keep_every_levels_data(kvm):
    agent, work, vm_uuid = kvm
    call = agent.client.call
    root, data = work / "root.qcow2", work / "data.qcow2"
    for path in (root, data):
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "32M"], check=True)
    write(root, 0x11, 0)
    write(data, 0xd1, 0)

    # live: both disks of the running VM switch to new overlays in one atomic call
    define(agent, vm_uuid, [root, data], start=True)
    top1, dtop1 = work / "top1.qcow2", work / "dtop1.qcow2"
    answer = call("/v1/volume/snapshot", {"vm_uuid": vm_uuid, "disks": [
        {"path": str(root), "overlay": str(top1)}, {"path": str(data), "overlay": str(dtop1)}]})
    assert answer["live"] is True
    assert domain_sources(vm_uuid) == [str(top1), str(dtop1)]
    assert backing(top1) == str(root) and backing(dtop1) == str(data)
    # a retried request changes nothing
    call("/v1/volume/snapshot", {"vm_uuid": vm_uuid, "disks": [
        {"path": str(root), "overlay": str(top1)}, {"path": str(data), "overlay": str(dtop1)}]})
    assert domain_sources(vm_uuid) == [str(top1), str(dtop1)]

    # undo of a live snapshot (a flow's rollback): committed back and pivoted, overlays gone
    call("/v1/volume/snapshot-undo", {"vm_uuid": vm_uuid, "disks": [{"path": str(data), "overlay": str(dtop1)}]})
    assert domain_sources(vm_uuid) == [str(top1), str(data)] and not dtop1.exists()

    call("/v1/vm/destroy", {"vm_uuid": vm_uuid})
    write(top1, 0x22, 0)                      # after snapshot S1 (= root)
    assert reads(root, 0x11, 0) and reads(top1, 0x22, 0)

    # stopped: top1 becomes snapshot S2, top2 the volume's file
    top2 = work / "top2.qcow2"
    assert call("/v1/volume/snapshot", {"vm_uuid": vm_uuid, "disks": [
        {"path": str(top1), "overlay": str(top2)}]})["live"] is False
    write(top2, 0x33, KiB64)
    assert reads(top2, 0x22, 0) and reads(top2, 0x33, KiB64)

    # revert to S1 (VM stopped): a new overlay on root; the old top goes
    top3 = work / "top3.qcow2"
    call("/v1/volume/create", {"path": str(top3), "format": "qcow2", "backing_file": str(root),
                               "backing_format": "qcow2"})
    call("/v1/volume/delete", {"path": str(top2)})
    assert reads(top3, 0x11, 0) and not reads(top3, 0x33, KiB64)
    write(top3, 0x44, 2 * KiB64)

    # delete S1 (root) with two children (S2's file top1, and top3): both rebased, data kept
    merged = call("/v1/volume/snapshot-merge", {"vm_uuid": vm_uuid, "path": str(root),
                                                "children": [str(top1), str(top3)]})
    assert merged["removed"] and sorted(merged["rebased"]) == sorted([str(top1), str(top3)])
    assert not root.exists() and backing(top1) is None and backing(top3) is None
    assert reads(top1, 0x22, 0) and reads(top3, 0x11, 0) and reads(top3, 0x44, 2 * KiB64)

    # live delete: the VM runs on top4 (over top1 = S2); deleting S2 pulls it into the active layer
    top4 = work / "top4.qcow2"
    call("/v1/volume/create", {"path": str(top4), "format": "qcow2", "backing_file": str(top1),
                               "backing_format": "qcow2"})
    write(top4, 0x55, 3 * KiB64)
    define(agent, vm_uuid, [top4, data], start=True)
    merged = call("/v1/volume/snapshot-merge", {"vm_uuid": vm_uuid, "path": str(top1), "children": [str(top4)]})
    assert merged["removed"] and not top1.exists()
    assert domain_sources(vm_uuid)[0] == str(top4)
    call("/v1/vm/destroy", {"vm_uuid": vm_uuid})   # QEMU's metadata reaches the file once it stops
    assert backing(top4) is None and reads(top4, 0x22, 0) and reads(top4, 0x55, 3 * KiB64)
    assert reads(data, 0xd1, 0)


def run_job(client, capture, method, url, body=None):
    with capture(execute=True):
        response = getattr(client, method)(url, body, format="json")
    assert response.status_code == 202, response.content
    job = client.get(response["Location"]).json()
    assert job["state"] == "succeeded", job["error"]
    return response.json(), job


@pytest.mark.django_db
def test_through_the_portal_a_running_vms_snapshot_reverts_to_its_content(
        kvm, kvm_host, local_ps, admin_client, django_capture_on_commit_callbacks):
    """Portal flows on the real agent: a VM snapshot of a running VM (root + data volume, one
    atomic libvirt call), data written after it, revert with the VM stopped: the content is the
    snapshot's; then deleting the snapshot keeps the data of the later one."""
    agent, work, vm_uuid = kvm
    capture = django_capture_on_commit_callbacks
    account = make_account("snap-owner").account
    files = [work / "root.qcow2", work / "data.qcow2"]
    for path, pattern in zip(files, (0x11, 0xd1)):
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "32M"], check=True)
        write(path, pattern, 0)
    vm = VmInstance.objects.create(uuid=vm_uuid, name="snap", account=account, state="Running", host=kvm_host,
                                   last_host=kvm_host, cpu_num=1, memory_size=64 << 20)
    volumes = [Volume.objects.create(name=kind, account=account, type=kind, status=VolumeStatus.READY, size=32 << 20,
                                     install_path=str(path), primary_storage=local_ps, host=kvm_host,
                                     vm_instance_uuid=vm.uuid)
               for kind, path in zip((VolumeType.ROOT, VolumeType.DATA), files)]
    define(agent, vm_uuid, files, start=True)
    # the host's room on the storage (its attach makes it): each snapshot's frozen file counts there
    ref = LocalStorageHostRef.objects.create(primary_storage=local_ps, host=kvm_host, total_capacity=1 << 30)

    group, job = run_job(admin_client, capture, "post", "/api/v1/volume-snapshot-groups/",
                         {"name": "before-upgrade", "vm_instance_uuid": vm_uuid})
    assert job["result"]["live"] is True
    on_disk = sum(os.stat(path).st_blocks * 512 for path in files)
    assert LocalStorageHostRef.objects.get(pk=ref.pk).used_capacity == on_disk > 0
    tops = [Volume.objects.get(pk=v.pk).install_path for v in volumes]
    assert domain_sources(vm_uuid) == tops and all(backing(t) == str(f) for t, f in zip(tops, files))

    agent.client.call("/v1/vm/destroy", {"vm_uuid": vm_uuid})
    VmInstance.objects.filter(pk=vm.pk).update(state="Stopped", host=None)
    write(tops[0], 0x22, 0)                       # "the upgrade"
    write(tops[1], 0xd2, 0)
    later, job = run_job(admin_client, capture, "post", "/api/v1/volume-snapshots/",
                         {"name": "after-upgrade", "volume_uuid": str(volumes[0].uuid)})
    assert job["result"]["live"] is False

    run_job(admin_client, capture, "post", f"/api/v1/volume-snapshot-groups/{group['resource']['uuid']}/revert/")
    root, data = (Volume.objects.get(pk=v.pk) for v in volumes)
    assert reads(root.install_path, 0x11, 0) and reads(data.install_path, 0xd1, 0)
    assert not reads(root.install_path, 0x22, 0) and not Path(tops[1]).exists()

    # deleting the first snapshot merges it into both children; "after-upgrade" keeps 0x22
    first = VolumeSnapshot.objects.get(volume=volumes[0], parent__isnull=True)
    run_job(admin_client, capture, "delete", f"/api/v1/volume-snapshots/{first.uuid}/")
    assert not files[0].exists()
    after = VolumeSnapshot.objects.get(uuid=later["resource"]["uuid"])
    assert after.parent is None and reads(after.install_path, 0x22, 0)
    assert reads(root.install_path, 0x11, 0)
