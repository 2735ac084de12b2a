"""Migration on simulated hosts through the API: live (shared storage) and cold (local storage),
the allocator's pick and dry runs, refusals, and a failure injected at each step leaving the VM
where and as it was. The real-QEMU migrations are in test_migrate_kvm.py."""
import uuid as uuid_lib

import pytest

from apps.compute.flows.vm_migrate import COLD_MIGRATE_VM, LIVE_MIGRATE_VM
from apps.compute.models import VmInstance, VmNic
from apps.infra import agent
from apps.infra.models import Host
from apps.storage.models import ImageCache, LocalStorageHostRef, PrimaryStorage, Volume
from tests.compute.vm_env import Env

pytestmark = pytest.mark.django_db


@pytest.fixture
def env(admin_client, sim_agent, tmp_path, django_capture_on_commit_callbacks):
    return Env(admin_client, django_capture_on_commit_callbacks, tmp_path)


def shared_vm(env, **extra):
    """A running VM whose root volume is on a SharedMountPoint both simulated hosts mount."""
    response = env.client.post("/api/v1/primary-storage/", {
        "name": "smp", "type": "SharedMountPoint", "url": f"/mnt/shared/smp-{uuid_lib.uuid4().hex[:8]}",
        "zone_uuid": str(env.zone.uuid)}, format="json")
    assert response.status_code == 201, response.content
    ps = response.json()["uuid"]
    assert env.job("post", f"/api/v1/primary-storage/{ps}/attach/",
                   {"cluster_uuid": str(env.cluster.uuid)})[1]["state"] == "succeeded"
    uuid, job = env.create(primary_storage_type="SharedMountPoint", **extra)
    assert job["state"] == "succeeded", job
    return uuid


def other(env, host_uuid):
    return next(h for h in env.hosts if h != host_uuid)


def migrate(env, uuid, **body):
    return env.job("post", f"/api/v1/vm-instances/{uuid}/migrate/", body)


def snapshot(env, uuid):
    """Everything a migration changes: rows, capacity, domains, files, DHCP entries."""
    vm = env.vm(uuid)
    volume = Volume.objects.get(uuid=vm["root_volume_uuid"])
    files = {}
    for host_uuid in env.hosts:
        try:
            files[host_uuid] = agent.call(Host.objects.get(uuid=host_uuid), "/v1/volume/info",
                                          {"path": volume.install_path})["actual_size"]
        except Exception:  # noqa: BLE001 - not on that host
            files[host_uuid] = None
    return {
        "vm": (vm["state"], vm["host_uuid"], vm["last_host_uuid"], vm["cluster_uuid"]),
        "volume_host": str(volume.host.uuid),
        "capacity": sorted(Host.objects.values_list("uuid", "used_cpu", "used_memory")),
        "ps_used": sorted(LocalStorageHostRef.objects.values_list("host__uuid", "used_capacity")),
        "caches": sorted((str(h), n) for h, n in ImageCache.objects.values_list("host__uuid", "ref_count")),
        "shared_used": sorted(PrimaryStorage.objects.values_list("name", "used_capacity")),
        "domains": {h: env.domains(h) for h in env.hosts},
        "files": files,
        "dhcp": {h: env.dhcp_entries(h) for h in env.hosts},
        "nics": sorted(VmNic.objects.values_list("mac", "ip")),
    }


def test_a_running_vm_on_shared_storage_migrates_live_and_its_host_capacity_and_dhcp_follow(env):
    uuid = shared_vm(env)
    source = env.vm(uuid)["host_uuid"]
    dest = other(env, source)
    nic = env.vm(uuid)["nics"][0]
    response, job = migrate(env, uuid)
    assert job["state"] == "succeeded", job
    assert response.json()["resource"]["state"] == "Running"
    vm = env.vm(uuid)
    assert vm["state"] == "Running" and vm["host_uuid"] == dest and vm["last_host_uuid"] == dest
    assert job["result"]["mode"] == "live" and job["result"]["host_uuid"] == dest
    assert job["result"]["migration"]["libvirt_seconds"] == 0.0
    assert env.domains(dest) == {uuid: "Running"} and uuid not in env.domains(source)
    assert (Host.objects.get(uuid=dest).used_cpu, Host.objects.get(uuid=source).used_cpu) == (1, 0)
    assert [e["mac"] for e in env.dhcp_entries(dest)[env.l3["uuid"]]] == [nic["mac"]]
    assert env.dhcp_entries(source) == {}
    assert vm["nics"][0]["mac"] == nic["mac"] and vm["nics"][0]["ip"] == nic["ip"]


def test_a_stopped_vm_on_local_storage_migrates_cold_with_its_volume_copied(env):
    uuid, _ = env.create()
    assert env.action(uuid, "stop")["state"] == "succeeded"
    source = env.vm(uuid)["last_host_uuid"]
    dest = other(env, source)
    before = snapshot(env, uuid)
    assert before["files"][source] and before["files"][dest] is None
    response, job = migrate(env, uuid, host_uuid=dest)
    assert job["state"] == "succeeded", job
    after = snapshot(env, uuid)
    assert after["vm"] == ("Stopped", None, dest, before["vm"][3]) and after["volume_host"] == dest
    assert after["files"] == {source: None, dest: before["files"][source]}
    assert after["domains"] == {source: {}, dest: {uuid: "Stopped"}}
    # the volume's room and the image cache's reference moved with it
    ps_used = dict(after["ps_used"])
    assert ps_used[Host.objects.get(uuid=source).uuid] == 0 and ps_used[Host.objects.get(uuid=dest).uuid] > 0
    assert [h for h, _ in after["caches"]] == [dest]
    assert "left_on_source" not in job["result"]
    # and it starts there
    assert env.action(uuid, "start")["state"] == "succeeded" and env.vm(uuid)["host_uuid"] == dest


def test_dry_run_answers_the_allocators_pick_and_changes_nothing(env):
    uuid = shared_vm(env)
    source = env.vm(uuid)["host_uuid"]
    before = snapshot(env, uuid)
    response = env.client.post(f"/api/v1/vm-instances/{uuid}/migrate/", {"dry_run": True}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["mode"] == "live" and response.json()["source"]["uuid"] == source
    assert response.json()["destination"]["uuid"] == other(env, source)
    candidates = env.client.get(f"/api/v1/vm-instances/{uuid}/migration-candidates/").json()
    assert candidates["mode"] == "live" and [h["uuid"] for h in candidates["hosts"]] == [other(env, source)]
    assert snapshot(env, uuid) == before


def test_migration_refusals_are_clear(env, tenant_client):
    uuid, _ = env.create()
    source = env.vm(uuid)["host_uuid"]
    post = env.client.post
    # running on local storage: a live migration needs shared storage
    answer = post(f"/api/v1/vm-instances/{uuid}/migrate/", {}, format="json")
    assert answer.status_code == 409 and answer.json()["code"] == "MIGRATION_NEEDS_SHARED_STORAGE"
    env.job("delete", f"/api/v1/vm-instances/{uuid}/")
    uuid = shared_vm(env)
    source = env.vm(uuid)["host_uuid"]
    answer = post(f"/api/v1/vm-instances/{uuid}/migrate/", {"host_uuid": source}, format="json")
    assert answer.status_code == 400 and answer.json()["code"] == "SAME_HOST"
    answer = post(f"/api/v1/vm-instances/{uuid}/migrate/", {"host_uuid": "00000000-0000-4000-8000-000000000000"},
                  format="json")
    assert answer.status_code == 404
    Host.objects.filter(uuid=other(env, source)).update(state="Disabled")
    answer = post(f"/api/v1/vm-instances/{uuid}/migrate/?", {"dry_run": True}, format="json")
    assert answer.status_code == 422 and answer.json()["code"] == "NO_HOST_AVAILABLE"
    assert env.client.get(f"/api/v1/vm-instances/{uuid}/migration-candidates/").json()["hosts"] == []
    Host.objects.filter(uuid=other(env, source)).update(state="Enabled")
    env.job("delete", f"/api/v1/vm-instances/{uuid}/")
    answer = post(f"/api/v1/vm-instances/{uuid}/migrate/", {}, format="json")
    assert answer.status_code == 409 and "Destroyed" in answer.json()["message"]
    # a tenant does not migrate (not even their own VM)
    assert tenant_client.post(f"/api/v1/vm-instances/{uuid}/migrate/", {}, format="json").status_code in (403, 404)


@pytest.mark.parametrize("mode,failing", [("live", s.step_name()) for s in LIVE_MIGRATE_VM.steps[:-1]]
                         + [("cold", s.step_name()) for s in COLD_MIGRATE_VM.steps[:-1]])
def test_a_failure_at_any_step_leaves_the_vm_on_its_source_as_it_was(env, mode, failing, monkeypatch):
    uuid = shared_vm(env) if mode == "live" else env.create()[0]
    if mode == "cold":
        env.action(uuid, "stop")
    before = snapshot(env, uuid)
    flow = LIVE_MIGRATE_VM if mode == "live" else COLD_MIGRATE_VM
    step = next(s for s in flow.steps if s.step_name() == failing)
    original = step.run

    def boom(self, ctx):
        original(self, ctx)   # the step did its work; then something failed
        raise RuntimeError(f"injected failure in {failing}")

    monkeypatch.setattr(step, "run", boom)
    _, job = migrate(env, uuid)
    assert job["state"] == "failed" and job["error"]["step"] == failing, job
    assert "injected" not in job["error"]["message"]
    states = {s["name"]: s["state"] for s in job["steps"]}
    assert all(state != "rollback_failed" for state in states.values()), states
    assert snapshot(env, uuid) == before


def test_a_source_that_cannot_clean_up_does_not_fail_the_migration_and_says_what_it_kept(env, sim_agent):
    uuid, _ = env.create()
    env.action(uuid, "stop")
    source = env.vm(uuid)["last_host_uuid"]
    sim_agent.admin("POST", "/sim/faults", {"host_uuid": source, "path": "/v1/volume/delete", "mode": "fail"})
    try:
        _, job = migrate(env, uuid)
    finally:
        sim_agent.admin("DELETE", "/sim/faults")
    assert job["state"] == "succeeded", job
    [left] = job["result"]["left_on_source"]
    assert left["code"] == "HOST_AGENT_UNREACHABLE" and left["what"].endswith(".qcow2")   # the injected 503
    assert env.vm(uuid)["last_host_uuid"] == other(env, source)


def test_an_agent_that_fails_the_migration_leaves_the_vm_running_on_its_source(env, sim_agent):
    uuid = shared_vm(env)
    before = snapshot(env, uuid)
    source = env.vm(uuid)["host_uuid"]
    sim_agent.admin("POST", "/sim/faults", {"host_uuid": source, "path": "/v1/vm/migrate", "mode": "fail"})
    try:
        _, job = migrate(env, uuid)
    finally:
        sim_agent.admin("DELETE", "/sim/faults")
    assert job["state"] == "failed" and job["error"]["step"] == "MigrateOnHypervisor", job
    assert job["error"]["code"] == "HOST_AGENT_UNREACHABLE" and "h" in job["error"]["message"]
    assert snapshot(env, uuid) == before


class WorkerDied(BaseException):
    """Stands for the worker process dying (nothing after it runs in this process)."""


@pytest.mark.parametrize("mode,dying", [("live", "ApplyDhcp"), ("live", "MigrateOnHypervisor"),
                                        ("cold", "CacheImages"), ("cold", "CopyVolumes"),
                                        ("cold", "DefineOnDestination")])
def test_a_worker_dying_right_after_a_remote_step_leaves_nothing_once_the_reaper_is_done(env, mode, dying,
                                                                                         monkeypatch):
    """The worker dies once the step's agent calls are done and before the job records anything:
    the reaper's rollback finds what was made by looking (the domain on the destination is
    migrated back, copied files and caches go) and the VM is on its source as it was."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.core.flows import execute_job, jobs, reap_jobs
    from apps.core.models import Job

    uuid = shared_vm(env) if mode == "live" else env.create()[0]
    if mode == "cold":
        env.action(uuid, "stop")
    before = snapshot(env, uuid)
    flow = LIVE_MIGRATE_VM if mode == "live" else COLD_MIGRATE_VM
    step = next(s for s in flow.steps if s.step_name() == dying)
    run = step.run

    def die(self, ctx):
        run(self, ctx)
        raise WorkerDied()

    monkeypatch.setattr(step, "run", die)
    monkeypatch.setattr(jobs, "dispatch", lambda job_uuid: None)
    response = env.client.post(f"/api/v1/vm-instances/{uuid}/migrate/", {}, format="json")
    job_uuid = response.json()["job"]["uuid"]
    with pytest.raises(WorkerDied):
        execute_job(job_uuid)
    Job.objects.filter(uuid=job_uuid).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    reap_jobs()
    job = Job.objects.get(uuid=job_uuid)
    assert job.state == "failed" and not [s for s in job.steps if s["state"] == "rollback_failed"], job.steps
    assert snapshot(env, uuid) == before


def test_a_vm_that_never_ran_has_no_host_to_migrate_from(env):
    uuid, _ = env.create(start=False)
    VmInstance.objects.filter(uuid=uuid).update(last_host=None)   # as if its host went
    for answer in (env.client.get(f"/api/v1/vm-instances/{uuid}/migration-candidates/"),
                   env.client.post(f"/api/v1/vm-instances/{uuid}/migrate/", {"dry_run": True}, format="json"),
                   env.client.post(f"/api/v1/vm-instances/{uuid}/migrate/", {}, format="json")):
        assert answer.status_code == 409 and answer.json()["code"] == "VM_HAS_NO_HOST", answer.content


def test_a_volume_backed_by_something_else_than_its_image_is_not_copied_cold(env):
    """An external snapshot's chain would arrive broken (one file is copied per volume)."""
    uuid, _ = env.create()
    env.action(uuid, "stop")
    volume = Volume.objects.get(uuid=env.vm(uuid)["root_volume_uuid"])
    host = volume.host
    # the volume becomes an overlay on a file of its own, as an external snapshot makes it
    snapshot_path = volume.install_path.replace(".qcow2", "-snap.qcow2")
    agent.call(host, "/v1/volume/create", {"path": snapshot_path, "format": "qcow2",
                                           "backing_file": volume.install_path})
    Volume.objects.filter(pk=volume.pk).update(install_path=snapshot_path)
    before = snapshot(env, uuid)
    _, job = migrate(env, uuid)
    assert job["state"] == "failed" and job["error"]["code"] == "VOLUME_CHAIN_NOT_SUPPORTED", job
    assert snapshot(env, uuid) == before


def test_a_stopped_vm_with_snapshots_migrates_cold_with_its_whole_chain_and_can_revert_there(env, monkeypatch):
    """Every file of the volume's snapshot tree moves (a copy failing half way removes what it
    copied); the snapshots' counted bytes move too; a snapshot reverts on the destination."""
    from apps.storage.models import VolumeSnapshot

    uuid, _ = env.create()
    root = Volume.objects.get(uuid=env.vm(uuid)["root_volume_uuid"])
    for name in ("s1", "s2"):
        assert env.job("post", "/api/v1/volume-snapshots/", {"name": name, "volume_uuid": str(root.uuid)})[1][
            "state"] == "succeeded"
    assert env.action(uuid, "stop")["state"] == "succeeded"
    source = env.vm(uuid)["last_host_uuid"]
    dest = other(env, source)
    chain = [Volume.objects.get(pk=root.pk).install_path] + list(
        VolumeSnapshot.objects.order_by("created_at").values_list("install_path", flat=True))
    before = snapshot(env, uuid)
    real_call, copies = agent.call, []

    def second_file_fails(host, path, body=None, **kw):
        if path == "/v1/image/cache" and body["path"] in chain:
            copies.append(body["path"])
            if len(copies) == 2:
                raise RuntimeError("copy failed")
        return real_call(host, path, body, **kw)

    with monkeypatch.context() as patch:
        patch.setattr(agent, "call", second_file_fails)
        _, job = migrate(env, uuid, host_uuid=dest)
    assert job["state"] == "failed" and len(copies) == 2
    assert snapshot(env, uuid) == before
    assert all(file_info(dest, path) is None for path in chain)
    _, job = migrate(env, uuid, host_uuid=dest)
    assert job["state"] == "succeeded", job["error"]
    assert all(file_info(dest, path) and file_info(source, path) is None for path in chain)
    # what the source counted (volume, snapshots' files, image cache) is the destination's now
    assert sum(VolumeSnapshot.objects.values_list("actual_size", flat=True)) > 0
    ps_used = dict(snapshot(env, uuid)["ps_used"])
    source_pk, dest_pk = Host.objects.get(uuid=source).uuid, Host.objects.get(uuid=dest).uuid
    assert (ps_used[source_pk], ps_used[dest_pk]) == (0, dict(before["ps_used"])[source_pk])
    first = VolumeSnapshot.objects.get(name="s1")
    _, job = env.job("post", f"/api/v1/volume-snapshots/{first.uuid}/revert/")
    assert job["state"] == "succeeded", job["error"]
    assert file_info(dest, Volume.objects.get(pk=root.pk).install_path)["backing_file"] == first.install_path


def file_info(host_uuid, path):
    try:
        return agent.call(Host.objects.get(uuid=host_uuid), "/v1/volume/info", {"path": path})
    except Exception:  # noqa: BLE001 - VOLUME_NOT_FOUND
        return None


def test_a_cold_migration_moves_the_config_drive_beside_the_root_volume(env):
    uuid, _ = env.create(hostname="moved")
    assert env.action(uuid, "stop")["state"] == "succeeded"
    drive = VmInstance.objects.get(uuid=uuid).config_drive_path
    source = env.vm(uuid)["last_host_uuid"]
    dest = other(env, source)
    assert file_info(source, drive) and file_info(dest, drive) is None
    _, job = migrate(env, uuid, host_uuid=dest)
    assert job["state"] == "succeeded", job["error"]
    assert file_info(dest, drive) and file_info(source, drive) is None
    assert env.action(uuid, "start")["state"] == "succeeded"


def test_a_failed_cold_migration_keeps_the_config_drive_beside_a_shared_root_volume(env, monkeypatch):
    """Root on shared storage (its config drive beside it: the only copy), a data volume on local
    storage: the rollback removes the copied data volume from the destination, never the drive."""
    from apps.compute.flows.vm_migrate import DefineOnDestination

    uuid = shared_vm(env, hostname="kept")
    source = env.vm(uuid)["host_uuid"]
    dest = other(env, source)
    local = PrimaryStorage.objects.get(type="LocalStorage")
    response, _ = env.job("post", "/api/v1/volumes/", {"name": "data", "size": 1 << 20, "host_uuid": source,
                                                       "primary_storage_uuid": str(local.uuid)})
    data = response.json()["resource"]["uuid"]
    assert env.job("post", f"/api/v1/volumes/{data}/attach/", {"vm_instance_uuid": uuid})[1]["state"] == "succeeded"
    assert env.action(uuid, "stop")["state"] == "succeeded"
    drive = VmInstance.objects.get(uuid=uuid).config_drive_path
    assert drive.startswith("/mnt/shared/") and file_info(source, drive)

    def boom(self, ctx):
        raise RuntimeError("injected failure after CopyVolumes")

    monkeypatch.setattr(DefineOnDestination, "run", boom)
    _, job = migrate(env, uuid, host_uuid=dest)
    assert job["state"] == "failed" and job["error"]["step"] == "DefineOnDestination", job
    assert file_info(source, drive) and file_info(dest, drive)   # the same file, on the shared storage
    assert file_info(dest, Volume.objects.get(uuid=data).install_path) is None
    assert env.vm(uuid)["last_host_uuid"] == source and env.vm(uuid)["state"] == "Stopped"
