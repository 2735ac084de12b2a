"""Cloning VMs on simulated hosts through the API: what a clone gets, the rules (state, tenancy,
placement, bad requests), dry run, and a failure at each step leaving nothing behind.
The real-QEMU clone (the data is copied, the clone starts) is tests/compute/test_vm_clone_kvm.py."""
import pytest

from apps.compute.flows.vm_clone import CLONE_VM
from apps.compute.models import VmInstance, VmNic
from apps.core.testing import fail_after_its_work
from apps.infra import agent
from apps.infra.models import Host
from apps.network.models import UsedIp
from apps.storage.models import ImageCache, LocalStorageHostRef, Volume, VolumeSnapshot
from tests.compute.vm_env import Env

pytestmark = pytest.mark.django_db


@pytest.fixture
def env(admin_client, sim_agent, tmp_path, django_capture_on_commit_callbacks):
    return Env(admin_client, django_capture_on_commit_callbacks, tmp_path)


@pytest.fixture
def stopped(env):
    """A stopped VM to clone (its host is env.hosts[...], its root volume on local storage)."""
    uuid, job = env.create(name="src")
    assert job["state"] == "succeeded", job
    assert env.action(uuid, "stop")["state"] == "succeeded"
    return uuid


def clone(env, uuid, body):
    response = env.client.post(f"/api/v1/vm-instances/{uuid}/clone/", body, format="json")
    return response


def run_clone(env, uuid, body):
    with env.capture(execute=True):
        response = clone(env, uuid, body)
    assert response.status_code == 202, response.content
    data = response.json()
    jobs = data.get("jobs") or [data["job"]]
    resources = data.get("resources") or [data["resource"]]
    return [env.client.get(f"/api/v1/jobs/{j['uuid']}/").json() for j in jobs], [r["uuid"] for r in resources]


def storage_available(host_uuid):
    return agent.call(Host.objects.get(uuid=host_uuid), "/v1/storage/capacity", {"path": "/var/lib/cp/ps"})["available"]


def test_clone_of_a_stopped_vm_gets_copies_of_its_volumes_and_new_nics_on_the_same_l3(env, stopped):
    source = env.vm(stopped)
    host = source["last_host_uuid"]
    jobs, clones = run_clone(env, stopped, {"names": ["c1", "c2"]})
    assert [j["state"] for j in jobs] == ["succeeded", "succeeded"], jobs
    source_volume = Volume.objects.get(uuid=source["root_volume_uuid"])
    ips, macs = {source["nics"][0]["ip"]}, {source["nics"][0]["mac"]}
    for uuid, name in zip(clones, ["c1", "c2"]):
        vm = env.vm(uuid)
        assert vm["name"] == name and vm["state"] == "Running" and vm["host_uuid"] == host
        assert (vm["cpu_num"], vm["memory_size"]) == (source["cpu_num"], source["memory_size"])
        volume = Volume.objects.get(uuid=vm["root_volume_uuid"])
        assert volume.install_path != source_volume.install_path and volume.size == source_volume.size
        assert volume.image_sha256 == "" and volume.vm_instance_uuid.hex == uuid.replace("-", "")
        info = agent.call(Host.objects.get(uuid=host), "/v1/volume/info", {"path": volume.install_path})
        assert info["backing_file"] is None   # flattened: depends on no file of the source
        [nic] = vm["nics"]
        assert nic["l3_network_uuid"] == source["nics"][0]["l3_network_uuid"]
        assert nic["ip"] not in ips and nic["mac"] not in macs
        ips.add(nic["ip"])
        macs.add(nic["mac"])
        assert env.domains(host)[uuid] == "Running"
    assert env.vm(stopped)["state"] == "Stopped"   # the source is left as it was


def test_a_clone_does_not_depend_on_its_source(env, stopped):
    _, [copy] = run_clone(env, stopped, {"count": 1, "start": False})
    assert env.vm(copy)["name"] == "src-clone-1" and env.vm(copy)["state"] == "Stopped"
    env.job("delete", f"/api/v1/vm-instances/{stopped}/")
    assert env.action(stopped, "expunge")["state"] == "succeeded"
    assert env.action(copy, "start")["state"] == "succeeded" and env.vm(copy)["state"] == "Running"


def test_clone_dry_run_shows_the_placement_and_changes_nothing(env, stopped):
    before = (VmInstance.objects.count(), sorted(Host.objects.values_list("used_cpu", "used_memory")))
    response = clone(env, stopped, {"count": 2, "dry_run": True})
    assert response.status_code == 200, response.content
    placement = response.json()["placement"]
    assert [p["name"] for p in placement] == ["src-clone-1", "src-clone-2"]
    assert placement[0]["host"]["uuid"] == env.vm(stopped)["last_host_uuid"]
    assert placement[0]["volumes"][0]["type"] == "Root" and placement[0]["nics"][0]["ip"].startswith("10.20.0.")
    assert (VmInstance.objects.count(), sorted(Host.objects.values_list("used_cpu", "used_memory"))) == before


def sim_disk_path(sim_agent, host_uuid, vm_uuid):
    status, detail = sim_agent.admin("GET", f"/sim/hosts/{host_uuid}")
    return detail["vms"][vm_uuid]["spec"]["disk_path"]


def test_a_running_vm_is_cloned_live_from_a_temporary_snapshot_that_then_goes(env, sim_agent):
    uuid, _ = env.create(name="live")
    source = env.vm(uuid)
    host = source["host_uuid"]
    volume = Volume.objects.get(uuid=source["root_volume_uuid"])
    jobs, clones = run_clone(env, uuid, {"count": 2})
    assert [j["state"] for j in jobs] == ["succeeded", "succeeded"], [j["error"] for j in jobs]
    assert [env.vm(c)["state"] for c in clones] == ["Running", "Running"]
    # the source runs on, on its own file again; no snapshot is left; nothing holds it
    assert env.vm(uuid)["state"] == "Running" and env.domains(host)[uuid] == "Running"
    assert Volume.objects.get(pk=volume.pk).install_path == volume.install_path
    assert sim_disk_path(sim_agent, host, uuid) == volume.install_path
    assert not VolumeSnapshot.objects.exists()
    assert VmInstance.objects.get(uuid=uuid).busy_job is None
    assert Volume.objects.get(pk=volume.pk).busy_job is None
    steps = [s["name"] for s in jobs[0]["steps"]]
    assert steps.index("TakeLiveSnapshots") < steps.index("CopyVolumes") < steps.index("RemoveTemporarySnapshots")


def test_a_destroyed_vm_is_not_cloned(env):
    uuid, _ = env.create(name="gone")
    env.job("delete", f"/api/v1/vm-instances/{uuid}/")
    response = clone(env, uuid, {"count": 1})
    assert response.status_code == 409 and response.json()["code"] == "INVALID_STATE", response.content
    assert "Destroyed" in response.json()["message"]
    assert VmInstance.objects.count() == 1


def test_clone_requests_are_checked(env, stopped):
    both = clone(env, stopped, {"names": ["a"], "count": 1})
    assert both.status_code == 400 and both.json()["code"] == "INVALID_ARGUMENT"
    assert clone(env, stopped, {}).status_code == 400
    assert clone(env, stopped, {"count": 0}).status_code == 400
    other = [h for h in env.hosts if h != env.vm(stopped)["last_host_uuid"]][0]
    for body in ({"count": 1, "host_uuid": other, "dry_run": True}, ):
        refused = clone(env, stopped, body)
        assert refused.status_code == 400 and refused.json()["code"] == "HOST_NOT_ALLOWED", refused.content
    jobs, clones = run_clone(env, stopped, {"count": 1, "host_uuid": other})
    assert jobs[0]["state"] == "failed" and jobs[0]["error"]["code"] == "HOST_NOT_ALLOWED"
    assert not VmInstance.objects.filter(uuid__in=clones).exists()


def test_another_accounts_vm_cannot_be_cloned(env, stopped, tenant_client):
    response = tenant_client.post(f"/api/v1/vm-instances/{stopped}/clone/", {"count": 1}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"


def test_clone_on_a_full_host_is_422(env, stopped):
    host = Host.objects.get(uuid=env.vm(stopped)["last_host_uuid"])
    LocalStorageHostRef.objects.filter(host=host).update(used_capacity=models_total(host))
    jobs, clones = run_clone(env, stopped, {"count": 1})
    assert jobs[0]["state"] == "failed" and jobs[0]["error"]["code"] == "NO_HOST_AVAILABLE", jobs[0]["error"]
    assert not VmInstance.objects.filter(uuid__in=clones).exists()


def models_total(host):
    return LocalStorageHostRef.objects.filter(host=host).values_list("total_capacity", flat=True).first()


def _left(env):
    return {
        "capacity": sorted(Host.objects.values_list("used_cpu", "used_memory")),
        "ips": set(UsedIp.objects.filter(owner_type="VmNic").values_list("ip", flat=True)),
        "volumes": sorted(Volume.objects.values_list("install_path", flat=True)),
        "cache_refs": sorted(ImageCache.objects.values_list("ref_count", flat=True)),
        "ps_used": sorted(LocalStorageHostRef.objects.values_list("used_capacity", flat=True)),
        "nics": VmNic.objects.count(),
        "vms": VmInstance.objects.count(),
        "files": [storage_available(h) for h in env.hosts],
        "domains": {h: env.domains(h) for h in env.hosts},
        "dhcp": {h: env.dhcp_entries(h) for h in env.hosts},
        "snapshots": VolumeSnapshot.objects.count(),
        "claims": sorted(str(u) for u in VmInstance.objects.exclude(busy_job=None).values_list("uuid", flat=True)) +
        sorted(str(u) for u in Volume.objects.exclude(busy_job=None).values_list("uuid", flat=True)),
        "source_files": sorted(Volume.objects.values_list("install_path", flat=True)),
    }


@pytest.mark.parametrize("live", [False, True], ids=["stopped", "live"])
def test_a_clone_failing_at_any_step_or_agent_call_leaves_nothing(env, stopped, sim_agent, monkeypatch, live):
    """One environment for every failure (a step that raises after doing its work; an agent path
    that fails): after each, no VM row, NIC, address, reservation, volume row or file, snapshot,
    claim, domain or DHCP entry is left, and a live source runs on its own file."""
    if live:
        assert env.action(stopped, "start")["state"] == "succeeded"
    before = _left(env)
    for step in CLONE_VM.steps[1:]:
        failing = step.step_name()
        with monkeypatch.context() as patched:
            fail_after_its_work(patched, step, no_retry=True)
            jobs, _ = run_clone(env, stopped, {"count": 1})
        assert jobs[0]["state"] == "failed" and jobs[0]["error"]["step"] == failing, jobs[0]
        assert "injected" not in jobs[0]["error"]["message"]
        assert not [s for s in jobs[0]["steps"] if s["state"] == "rollback_failed"], jobs[0]["steps"]
        assert _left(env) == before, failing
    paths = ["/v1/volume/copy", "/v1/dhcp/apply", "/v1/vm/define"] + (
        ["/v1/volume/snapshot", "/v1/volume/snapshot-undo"] if live else [])
    for path in paths:
        sim_agent.admin("POST", "/sim/faults", {"path": path, "mode": "fail", "count": 1})
        jobs, _ = run_clone(env, stopped, {"count": 1})
        assert jobs[0]["state"] == "failed" and jobs[0]["error"]["code"] == "HOST_AGENT_UNREACHABLE", jobs[0]   # a 503
        assert _left(env) == before, path


def test_a_clone_failing_after_the_copy_of_a_second_volume_removes_both(env, stopped, sim_agent, monkeypatch):
    """Data volumes are copied too (a Data row of the source); the second copy fails: the first goes."""
    source = VmInstance.objects.get(uuid=stopped)
    root = Volume.objects.get(pk=source.root_volume_id)
    data_path = root.primary_storage.volume_path("0" * 8 + "-0000-4000-8000-" + "0" * 12, "Data")
    host = root.host
    agent.call(host, "/v1/volume/create", {"path": data_path, "size": 1 << 30})
    Volume.objects.create(name="DATA-src", type="Data", status="Ready", size=1 << 30, install_path=data_path,
                          primary_storage=root.primary_storage, host=host, vm_instance_uuid=source.uuid,
                          account=source.account)
    before = _left(env)
    calls = []
    real_call = agent.call

    def second_copy_fails(h, path, body=None, **kw):
        if path == "/v1/volume/copy":
            calls.append(body["dst"])
            if len(calls) == 2:
                raise RuntimeError("copy failed")
        return real_call(h, path, body, **kw)

    monkeypatch.setattr(agent, "call", second_copy_fails)
    jobs, _ = run_clone(env, stopped, {"count": 1})
    assert jobs[0]["state"] == "failed" and len(calls) == 2
    monkeypatch.setattr(agent, "call", real_call)
    assert _left(env) == before
    # and without the failure both volumes are copied
    jobs, [copy] = run_clone(env, stopped, {"count": 1})
    assert jobs[0]["state"] == "succeeded", jobs[0]
    assert sorted(Volume.objects.filter(vm_instance_uuid=copy).values_list("type", flat=True)) == ["Data", "Root"]


class WorkerDied(BaseException):
    """Stands for the worker process dying (nothing after it runs in this process)."""


def test_a_worker_dying_after_any_clone_step_leaks_nothing_once_the_reaper_is_done(env, stopped, monkeypatch):
    """The worker dies right after a step did its work (live source: the snapshot steps too); the
    reaper's rollback, from what the job's record says, removes what the clone had made."""
    import uuid as uuid_lib
    from datetime import timedelta

    from django.utils import timezone

    from apps.core.flows import execute_job, jobs, reap_jobs
    from apps.core.models import Job

    assert env.action(stopped, "start")["state"] == "succeeded"
    before = _left(env)
    monkeypatch.setattr(jobs, "dispatch", lambda job_uuid: None)
    for step in CLONE_VM.steps[1:]:
        run = step.run

        def die(self, ctx, run=run):
            run(self, ctx)
            raise WorkerDied()

        with monkeypatch.context() as patched:
            patched.setattr(step, "run", die)
            response = clone(env, stopped, {"count": 1})
            job_uuid = response.json()["job"]["uuid"]
            with pytest.raises(WorkerDied):
                execute_job(job_uuid)
        Job.objects.filter(uuid=job_uuid).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
        assert reap_jobs() == [uuid_lib.UUID(job_uuid)]
        job = Job.objects.get(uuid=job_uuid)
        assert job.state == "failed" and job.error["code"] == "WORKER_LOST", step.step_name()
        assert not [s for s in job.steps if s["state"] == "rollback_failed"], (step.step_name(), job.steps)
        assert _left(env) == before, step.step_name()


def test_a_live_clone_waits_for_another_job_on_its_source_and_gives_up_cleanly(env, monkeypatch):
    import uuid as uuid_lib

    from apps.compute.flows.vm_clone import WaitForSource

    uuid, _ = env.create(name="held")
    other_job = uuid_lib.uuid4()
    VmInstance.objects.filter(uuid=uuid).update(busy_job=other_job)   # a snapshot job, say
    before = _left(env)
    monkeypatch.setattr(WaitForSource, "retries", 2)
    monkeypatch.setattr(WaitForSource, "retry_delay", 0.01)
    jobs, _ = run_clone(env, uuid, {"count": 1})
    assert jobs[0]["state"] == "failed" and jobs[0]["error"]["code"] == "RESOURCE_BUSY", jobs[0]["error"]
    assert [s["attempts"] for s in jobs[0]["steps"] if s["name"] == "WaitForSource"] == [3]
    assert _left(env) == before and VmInstance.objects.get(uuid=uuid).busy_job == other_job


def test_a_clone_on_shared_storage_is_placed_by_the_allocator_on_a_host_that_mounts_it(env, monkeypatch):
    """Every volume on a SharedMountPoint: the clone may go to another host of the cluster (the one
    asked for; the dry run says so), its copy on the same storage and counted there; a failure at
    each step gives everything back."""
    from apps.storage.models import PrimaryStorage
    from tests.storage.test_shared_primary_storage import smp

    ps = smp(env)
    uuid, job = env.create(name="shared-src", primary_storage_type="SharedMountPoint")
    assert job["state"] == "succeeded", job
    assert env.action(uuid, "stop")["state"] == "succeeded"
    source_host = env.vm(uuid)["last_host_uuid"]
    other = [h for h in env.hosts if h != source_host][0]
    planned = clone(env, uuid, {"count": 1, "host_uuid": other, "dry_run": True})
    assert planned.status_code == 200, planned.content
    assert planned.json()["placement"][0]["host"]["uuid"] == other
    used = PrimaryStorage.objects.get(uuid=ps["uuid"]).used_capacity

    def shared_files():   # the room the storage's files leave (a copy left behind would take some)
        return agent.call(Host.objects.get(uuid=other), "/v1/storage/capacity", {"path": ps["mount_path"]})

    before, files = _left(env), shared_files()
    for step in CLONE_VM.steps[1:]:
        with monkeypatch.context() as patched:
            fail_after_its_work(patched, step, no_retry=True)
            jobs, _ = run_clone(env, uuid, {"count": 1, "host_uuid": other})
        assert jobs[0]["state"] == "failed" and jobs[0]["error"]["step"] == step.step_name(), jobs[0]
        assert _left(env) == before, step.step_name()
        assert PrimaryStorage.objects.get(uuid=ps["uuid"]).used_capacity == used, step.step_name()
        assert shared_files() == files, step.step_name()
    jobs, [copy] = run_clone(env, uuid, {"count": 1, "host_uuid": other})
    assert jobs[0]["state"] == "succeeded", jobs[0]["error"]
    vm = env.vm(copy)
    assert vm["host_uuid"] == other and env.domains(other)[copy] == "Running"
    volume = Volume.objects.get(uuid=vm["root_volume_uuid"])
    assert str(volume.primary_storage.uuid) == ps["uuid"] and volume.host.uuid.hex == other.replace("-", "")
    assert PrimaryStorage.objects.get(uuid=ps["uuid"]).used_capacity == used + volume.size
    assert shared_files()["available"] < files["available"]   # the probe above sees a copy
    info = agent.call(Host.objects.get(uuid=other), "/v1/volume/info", {"path": volume.install_path})
    assert info["backing_file"] is None
