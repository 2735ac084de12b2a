"""Volume snapshots through the API on simulated hosts: take (one volume, a VM's volumes at once,
live and stopped), the tree, revert, delete with merges, tenancy, errors, and a failure injected at
every step of a snapshot leaving nothing behind. Real QEMU: test_snapshots_kvm.py."""
import uuid as uuid_lib

import pytest
from django.db.models import Sum

from apps.compute.models import VmInstance
from apps.infra import agent
from apps.infra.models import Host
from apps.storage.flows import volume_snapshot
from apps.storage.snapshot_chain import derived_uuid, overlay_path, remove_snapshot_files
from apps.storage.models import (LocalStorageHostRef, Volume, VolumeSnapshot, VolumeSnapshotGroup,
                                 VolumeStatus, VolumeType)
from tests.compute.vm_env import Env

pytestmark = pytest.mark.django_db


@pytest.fixture
def env(admin_client, sim_agent, tmp_path, django_capture_on_commit_callbacks):
    return Env(admin_client, django_capture_on_commit_callbacks, tmp_path, hosts=1)


@pytest.fixture
def vm(env):
    uuid, job = env.create()
    assert job["state"] == "succeeded", job
    return VmInstance.objects.get(uuid=uuid)


def data_volume(vm, name="data"):
    """A data volume attached to ``vm`` as the data-volume feature makes them: a row and its file."""
    root = Volume.objects.get(pk=vm.root_volume_id)
    volume_uuid = uuid_lib.uuid4()
    path = root.primary_storage.volume_path(volume_uuid, "Data")
    agent.call(root.host, "/v1/volume/create", {"path": path, "format": "qcow2", "size": 16 << 20})
    return Volume.objects.create(uuid=volume_uuid, name=name, account=root.account, type=VolumeType.DATA,
                                 status=VolumeStatus.READY, size=16 << 20, install_path=path,
                                 primary_storage=root.primary_storage, host=root.host, vm_instance_uuid=vm.uuid)


def file_info(volume_or_host, path):
    host = volume_or_host.host if isinstance(volume_or_host, Volume) else volume_or_host
    try:
        return agent.call(host, "/v1/volume/info", {"path": path})
    except Exception:  # noqa: BLE001 - VOLUME_NOT_FOUND
        return None


def sim_disks(vm):
    detail = agent.sim_admin("GET", f"/sim/hosts/{Host.objects.get(pk=vm.host_id or vm.last_host_id).uuid}")
    spec = detail["vms"][str(vm.uuid)]["spec"]
    return [spec["disk_path"]] + [d["path"] for d in spec.get("disks", [])[1:]]


def snapshot_volume(env, volume, name="s"):
    response, job = env.job("post", "/api/v1/volume-snapshots/", {"name": name, "volume_uuid": str(volume.uuid)})
    return response.json()["resource"], job


def snapshot_vm(env, vm, name="vm-snap"):
    response, job = env.job("post", "/api/v1/volume-snapshot-groups/", {"name": name,
                                                                        "vm_instance_uuid": str(vm.uuid)})
    return response.json()["resource"], job


def test_a_live_vm_snapshot_takes_every_volume_at_once_and_the_domain_follows(env, vm):
    data = data_volume(vm)
    root = Volume.objects.get(pk=vm.root_volume_id)
    tops = {root.pk: root.install_path, data.pk: data.install_path}
    group, job = snapshot_vm(env, vm)
    assert job["state"] == "succeeded", job
    assert job["result"]["live"] is True and len(job["result"]["snapshot_uuids"]) == 2
    for volume in (root, data):
        volume.refresh_from_db()
        snap = VolumeSnapshot.objects.get(volume=volume)
        assert snap.install_path == tops[volume.pk] and snap.status == "Ready" and snap.latest and snap.live
        assert str(snap.group.uuid) == group["uuid"]
        assert file_info(volume, volume.install_path)["backing_file"] == snap.install_path
    assert sim_disks(vm)[0] == Volume.objects.get(pk=root.pk).install_path
    assert VmInstance.objects.get(pk=vm.pk).busy_job is None
    assert not Volume.objects.filter(busy_job__isnull=False).exists()
    listed = env.client.get(f"/api/v1/volume-snapshot-groups/{group['uuid']}/").json()
    assert listed["status"] == "Ready" and len(listed["snapshot_uuids"]) == 2


def test_snapshots_form_a_tree_revert_branches_and_delete_merges(env, vm):
    root = Volume.objects.get(pk=vm.root_volume_id)
    s1, job = snapshot_volume(env, root, "s1")
    assert job["state"] == "succeeded" and job["result"]["live"] is True
    s2, _ = snapshot_volume(env, root, "s2")
    refused = env.client.post(f"/api/v1/volume-snapshots/{s1['uuid']}/revert/", {}, format="json")
    assert refused.status_code == 409
    assert refused.json()["code"] == "VM_NOT_STOPPED" and refused.json()["details"]["state"] == "Running"
    assert env.action(str(vm.uuid), "stop")["state"] == "succeeded"

    # revert needs the VM stopped (it is now); the old top goes, a branch starts under s1
    root.refresh_from_db()
    old_top = root.install_path
    job = env.job("post", f"/api/v1/volume-snapshots/{s1['uuid']}/revert/")[1]
    assert job["state"] == "succeeded", job
    root.refresh_from_db()
    s1_row = VolumeSnapshot.objects.get(uuid=s1["uuid"])
    assert file_info(root, root.install_path)["backing_file"] == s1_row.install_path
    assert file_info(root, old_top) is None and s1_row.latest
    s3, job = snapshot_volume(env, root, "s3")
    assert job["result"]["live"] is False
    tree = env.client.get(f"/api/v1/volume-snapshots/tree/?volume_uuid={root.uuid}").json()["tree"]
    assert [n["name"] for n in tree] == ["s1"]
    assert sorted(c["name"] for c in tree[0]["children"]) == ["s2", "s3"]
    listed = env.client.get(f"/api/v1/volume-snapshots/?q=volume_uuid={root.uuid}&q=parent_uuid={s1['uuid']}").json()
    assert sorted(r["name"] for r in listed["results"]) == ["s2", "s3"]

    # delete s1 (two children): both rebased onto the image cache, the tree keeps s2 and s3 as roots
    s1_file = s1_row.install_path
    base = file_info(root, s1_file)["backing_file"]
    response, job = env.job("delete", f"/api/v1/volume-snapshots/{s1['uuid']}/")
    assert job["state"] == "succeeded", job
    assert file_info(root, s1_file) is None
    for name in ("s2", "s3"):
        row = VolumeSnapshot.objects.get(name=name)
        assert row.parent is None and file_info(root, row.install_path)["backing_file"] == base
    # delete the latest (s3): the volume's file is its child
    job = env.job("delete", f"/api/v1/volume-snapshots/{s3['uuid']}/")[1]
    assert job["state"] == "succeeded"
    root.refresh_from_db()
    assert file_info(root, root.install_path)["backing_file"] == base
    assert list(VolumeSnapshot.objects.values_list("name", flat=True)) == ["s2"]
    assert not VolumeSnapshot.objects.filter(latest=True).exists()


def test_errors_a_busy_vm_a_vm_in_a_wrong_state_a_missing_volume_a_bad_tree_query(env, vm):
    VmInstance.objects.filter(pk=vm.pk).update(busy_job=uuid_lib.uuid4())
    response = env.client.post("/api/v1/volume-snapshot-groups/", {"name": "x", "vm_instance_uuid": str(vm.uuid)},
                               format="json")
    assert response.status_code == 409 and response.json()["code"] == "RESOURCE_BUSY"
    assert not VolumeSnapshotGroup.objects.exists()
    VmInstance.objects.filter(pk=vm.pk).update(busy_job=None, state="Starting")
    response = env.client.post(f"/api/v1/vm-instances/{vm.uuid}/snapshot/", {"name": "x"}, format="json")
    assert response.status_code == 409 and response.json()["details"]["state"] == "Starting"
    response = env.client.post("/api/v1/volume-snapshots/", {"name": "x", "volume_uuid": str(uuid_lib.uuid4())},
                               format="json")
    assert response.status_code == 400 and "volume_uuid" in response.json()["details"]
    assert env.client.get("/api/v1/volume-snapshots/tree/").status_code == 400


def test_group_revert_and_delete_cover_every_volume(env, vm):
    data = data_volume(vm)
    group, _ = snapshot_vm(env, vm)
    env.action(str(vm.uuid), "stop")
    volumes = [Volume.objects.get(pk=vm.root_volume_id), data]
    before = _state(vm, volumes)
    # a failure while making the new files: nothing moves, the claims go
    agent.sim_admin("POST", "/sim/faults", {"path": "/v1/volume/create", "mode": "fail", "count": 1})
    job = env.job("post", f"/api/v1/volume-snapshot-groups/{group['uuid']}/revert/")[1]
    assert job["state"] == "failed" and _state(vm, volumes) == before
    assert VolumeSnapshot.objects.filter(latest=True).count() == 2
    assert not Volume.objects.filter(busy_job__isnull=False).exists()
    job = env.job("post", f"/api/v1/volume-snapshot-groups/{group['uuid']}/revert/")[1]
    assert job["state"] == "succeeded", job
    assert len(job["result"]["reverted"]) == 2
    for volume, old_top in zip(volumes, before[0].values()):
        assert file_info(volume, old_top) is None
    # a failed merge leaves the snapshots Ready (their data unchanged); deleting again finishes
    agent.sim_admin("POST", "/sim/faults", {"path": "/v1/volume/snapshot-merge", "mode": "fail", "count": 1})
    job = env.job("delete", f"/api/v1/volume-snapshot-groups/{group['uuid']}/")[1]
    assert job["state"] == "failed"
    assert set(VolumeSnapshot.objects.values_list("status", flat=True)) == {"Ready"}
    job = env.job("delete", f"/api/v1/volume-snapshot-groups/{group['uuid']}/")[1]
    assert job["state"] == "succeeded", job
    assert not VolumeSnapshot.objects.exists() and not VolumeSnapshotGroup.objects.exists()
    data.refresh_from_db()
    assert file_info(data, data.install_path)["backing_file"] is None


def test_another_account_sees_no_snapshot_and_cannot_snapshot_its_volume(env, vm, tenant_client):
    root = Volume.objects.get(pk=vm.root_volume_id)
    s1, _ = snapshot_volume(env, root)
    assert tenant_client.get("/api/v1/volume-snapshots/").json()["results"] == []
    assert tenant_client.get(f"/api/v1/volume-snapshots/{s1['uuid']}/").status_code == 404
    response = tenant_client.post("/api/v1/volume-snapshots/", {"name": "x", "volume_uuid": str(root.uuid)},
                                  format="json")
    assert response.status_code == 400 and "volume_uuid" in response.json()["details"]
    assert tenant_client.get(f"/api/v1/volume-snapshots/tree/?volume_uuid={root.uuid}").status_code == 404
    response = tenant_client.post("/api/v1/volume-snapshot-groups/", {"name": "x", "vm_instance_uuid": str(vm.uuid)},
                                  format="json")
    assert response.status_code == 404


def _state(vm, volumes):
    return ({v.pk: Volume.objects.get(pk=v.pk).install_path for v in volumes},
            [file_info(v, Volume.objects.get(pk=v.pk).install_path)["backing_file"] for v in volumes],
            sim_disks(vm), ps_used())


def ps_used():
    return sorted(LocalStorageHostRef.objects.values_list("used_capacity", flat=True))


def test_a_snapshot_counts_its_frozen_file_on_primary_storage_until_it_goes(env, vm):
    """Taking counts the frozen file's actual size; a merge into a child snapshot carries it there;
    the last delete (merged into the volume's file) and an expunge give it back."""
    root = Volume.objects.get(pk=vm.root_volume_id)
    ref = LocalStorageHostRef.objects.get(primary_storage=root.primary_storage, host=root.host)
    base = ref.used_capacity
    frozen = file_info(root, root.install_path)["actual_size"]
    first, job = snapshot_volume(env, root, "s1")
    assert job["state"] == "succeeded", job
    assert VolumeSnapshot.objects.get(uuid=first["uuid"]).actual_size == frozen > 0
    assert LocalStorageHostRef.objects.get(pk=ref.pk).used_capacity == base + frozen
    second, _ = snapshot_volume(env, root, "s2")
    both = VolumeSnapshot.objects.aggregate(total=Sum("actual_size"))["total"]
    assert LocalStorageHostRef.objects.get(pk=ref.pk).used_capacity == base + both
    assert env.job("delete", f"/api/v1/volume-snapshots/{first['uuid']}/")[1]["state"] == "succeeded"
    assert VolumeSnapshot.objects.get(uuid=second["uuid"]).actual_size == both   # s1's data is in s2 now
    assert LocalStorageHostRef.objects.get(pk=ref.pk).used_capacity == base + both
    assert env.job("delete", f"/api/v1/volume-snapshots/{second['uuid']}/")[1]["state"] == "succeeded"
    assert LocalStorageHostRef.objects.get(pk=ref.pk).used_capacity == base
    snapshot_volume(env, root, "s3")
    assert LocalStorageHostRef.objects.get(pk=ref.pk).used_capacity > base
    remove_snapshot_files(Volume.objects.get(pk=root.pk))   # what an expunge of the volume runs first
    assert LocalStorageHostRef.objects.get(pk=ref.pk).used_capacity == base


def test_a_failure_at_each_step_of_a_vm_snapshot_leaves_nothing(env, vm, monkeypatch):
    data = data_volume(vm)
    volumes = [Volume.objects.get(pk=vm.root_volume_id), data]
    before = _state(vm, volumes)

    def boom(*args, **kwargs):
        raise RuntimeError("injected")

    for where in ("agent", "PlanSnapshots", "TakeSnapshots.record", "ReserveSnapshotSpace", "EndSnapshots"):
        with monkeypatch.context() as patch:
            if where == "agent":
                agent.sim_admin("POST", "/sim/faults", {"path": "/v1/volume/snapshot", "mode": "fail", "count": 1})
            elif where == "TakeSnapshots.record":
                patch.setattr(volume_snapshot.TakeSnapshots, "record", boom)
            else:
                patch.setattr(getattr(volume_snapshot, where), "run", boom)
            _, job = snapshot_vm(env, vm)
        assert job["state"] == "failed", where
        assert "Traceback" not in str(job["error"]) and "RuntimeError" not in job["error"]["message"]
        assert _state(vm, volumes) == before, where
        assert not VolumeSnapshot.objects.exists() and not VolumeSnapshotGroup.objects.exists(), where
        assert VmInstance.objects.get(pk=vm.pk).busy_job is None
        assert not Volume.objects.filter(busy_job__isnull=False).exists()
        # no overlay left where the flow put them (their names come from the job's uuid)
        for volume in volumes:
            snapshot_uuid = derived_uuid(job["uuid"], "snapshot", volume.uuid)
            assert file_info(volume, overlay_path(Volume.objects.get(pk=volume.pk), snapshot_uuid[:8])) is None, where
    # and after all that, a snapshot works
    assert snapshot_vm(env, vm)[1]["state"] == "succeeded"


def test_a_failure_while_taking_one_volume_snapshot_removes_its_row(env, vm):
    root = Volume.objects.get(pk=vm.root_volume_id)
    agent.sim_admin("POST", "/sim/faults", {"path": "/v1/volume/snapshot", "mode": "fail", "count": 1})
    _, job = snapshot_volume(env, root)
    assert job["state"] == "failed" and job["error"]["code"] == "HOST_AGENT_UNREACHABLE"
    assert not VolumeSnapshot.objects.exists()
    root.refresh_from_db()
    assert root.busy_job is None and file_info(root, root.install_path)["backing_file"] is not None


def test_the_vm_action_snapshots_every_volume_and_expunge_takes_the_snapshot_files(env, vm):
    data = data_volume(vm)
    response, job = env.job("post", f"/api/v1/vm-instances/{vm.uuid}/snapshot/", {"name": "nightly"})
    assert job["state"] == "succeeded", job
    assert response.json()["resource"]["uuid"] == str(vm.uuid) and len(job["result"]["snapshot_uuids"]) == 2
    files = [(s.volume, s.install_path) for s in VolumeSnapshot.objects.select_related("volume", "volume__host")]
    assert env.job("delete", f"/api/v1/vm-instances/{vm.uuid}/")[1]["state"] == "succeeded"
    assert env.action(str(vm.uuid), "expunge")["state"] == "succeeded"
    Volume.objects.filter(pk=data.pk).delete()   # the data volume feature deletes its own volumes
    assert not VolumeSnapshot.objects.exists()
    for volume, path in files:
        assert file_info(volume, path) is None


def test_an_agent_that_does_not_say_the_frozen_size_counts_the_volumes_actual_size(env, vm, monkeypatch):
    """An older agent answers no ``frozen_actual_size``: the snapshot counts the volume's actual
    size (not 0), on the snapshot's row and on the primary storage."""
    root = Volume.objects.get(pk=vm.root_volume_id)
    ref = LocalStorageHostRef.objects.get(primary_storage=root.primary_storage, host=root.host)
    base = ref.used_capacity
    real_call = volume_snapshot._call

    def older_agent(ctx, path, body, tag=""):
        answer = real_call(ctx, path, body, tag)
        if path == "/v1/volume/snapshot":
            for disk in answer["disks"]:
                assert disk.pop("frozen_actual_size") is not None   # what the newer agent said, gone
        return answer

    monkeypatch.setattr(volume_snapshot, "_call", older_agent)
    snap, job = snapshot_volume(env, root)
    assert job["state"] == "succeeded", job
    assert root.actual_size > 0
    assert VolumeSnapshot.objects.get(uuid=snap["uuid"]).actual_size == root.actual_size
    assert LocalStorageHostRef.objects.get(pk=ref.pk).used_capacity == base + root.actual_size
