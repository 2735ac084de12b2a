"""Reinit on simulated hosts: a Stopped VM's root volume becomes a new overlay on its image cache at
the same path; a running VM is refused; a failure at any step puts the old file back."""
import pytest

from apps.compute.flows.vm_reinit import REINIT_ROOT_VOLUME
from apps.core.testing import fail_after_its_work
from apps.infra import agent
from apps.infra.models import Host
from apps.core.errors import CloudPortalError
from apps.storage.models import ImageCache, Volume, VolumeSnapshot
from tests.compute.vm_env import Env

pytestmark = pytest.mark.django_db


@pytest.fixture
def env(admin_client, sim_agent, tmp_path, django_capture_on_commit_callbacks):
    return Env(admin_client, django_capture_on_commit_callbacks, tmp_path)


def host_files(env, host_uuid, volume):
    """What the host has at the root volume's path and beside it."""
    host = Host.objects.get(uuid=host_uuid)
    found = {}
    for suffix in ("", ".reinit", ".old"):
        try:
            found[suffix] = agent.call(host, "/v1/volume/info", {"path": volume.install_path + suffix})
        except Exception:   # noqa: BLE001 - VOLUME_NOT_FOUND: not there
            pass
    return found


@pytest.fixture
def cloned_then_stopped(env):
    """A stopped clone: its root volume is a flattened copy (no image cache), so reinit changes it
    into an overlay on the image cache."""
    uuid, _ = env.create(name="src")
    assert env.action(uuid, "stop")["state"] == "succeeded"
    with env.capture(execute=True):
        response = env.client.post(f"/api/v1/vm-instances/{uuid}/clone/", {"count": 1, "start": False}, format="json")
    return response.json()["resource"]["uuid"]


def test_reinit_makes_the_root_volume_an_overlay_on_its_image_again(env, cloned_then_stopped):
    uuid = cloned_then_stopped
    vm = env.vm(uuid)
    volume = Volume.objects.get(uuid=vm["root_volume_uuid"])
    assert volume.image_sha256 == ""
    host = vm["last_host_uuid"]
    refs = ImageCache.objects.get().ref_count
    job = env.action(uuid, "reinit")
    assert job["state"] == "succeeded", job
    volume.refresh_from_db()
    files = host_files(env, host, volume)
    assert list(files) == [""], files   # the new file in place, nothing beside it
    cache = ImageCache.objects.get()
    assert files[""]["backing_file"] == cache.install_path and cache.ref_count == refs + 1
    assert volume.image_sha256 == cache.sha256 and env.vm(uuid)["root_volume_uuid"] == str(volume.uuid)
    # reinit again: the reference the old overlay held goes with it
    assert env.action(uuid, "reinit")["state"] == "succeeded"
    assert ImageCache.objects.get().ref_count == refs + 1
    assert env.action(uuid, "start")["state"] == "succeeded"


def test_reinit_of_a_running_vm_is_409_naming_the_state(env):
    uuid, _ = env.create(name="up")
    response = env.client.post(f"/api/v1/vm-instances/{uuid}/reinit/")
    assert response.status_code == 409 and response.json()["code"] == "INVALID_STATE"
    assert "Running" in response.json()["message"]


def test_another_accounts_vm_cannot_be_reinitialised(env, tenant_client):
    uuid, _ = env.create(name="up")
    assert tenant_client.post(f"/api/v1/vm-instances/{uuid}/reinit/").status_code == 404


def test_reinit_failing_at_any_step_puts_the_old_file_back(env, cloned_then_stopped, monkeypatch):
    """Each step does its work and then something breaks: the old file is back at its path, nothing
    is beside it, the volume's row and the image cache counts are as they were."""
    uuid = cloned_then_stopped
    volume = Volume.objects.get(uuid=env.vm(uuid)["root_volume_uuid"])
    host = env.vm(uuid)["last_host_uuid"]

    def state():
        row = Volume.objects.filter(pk=volume.pk).values().get()
        return (host_files(env, host, volume), sorted(ImageCache.objects.values_list("ref_count", flat=True)),
                {k: v for k, v in row.items() if k not in ("updated_at", "busy_job")})

    before = state()
    for step in REINIT_ROOT_VOLUME.steps[:-1]:
        with monkeypatch.context() as patched:
            fail_after_its_work(patched, step)
            job = env.action(uuid, "reinit")
        assert job["state"] == "failed" and job["error"]["step"] == step.step_name(), job
        assert not [s for s in job["steps"] if s["state"] == "rollback_failed"], job["steps"]
        assert state() == before, step.step_name()


def test_reinit_whose_rename_fails_halfway_puts_the_old_file_back(env, cloned_then_stopped, monkeypatch):
    uuid = cloned_then_stopped
    volume = Volume.objects.get(uuid=env.vm(uuid)["root_volume_uuid"])
    host = env.vm(uuid)["last_host_uuid"]
    before = host_files(env, host, volume)
    real_call = agent.call
    calls = []

    def second_rename_fails(h, path, body=None, **kw):
        if path == "/v1/volume/rename":
            calls.append(body)
            if len(calls) == 2:
                raise RuntimeError("rename failed")
        return real_call(h, path, body, **kw)

    monkeypatch.setattr(agent, "call", second_rename_fails)
    job = env.action(uuid, "reinit")
    monkeypatch.setattr(agent, "call", real_call)
    assert job["state"] == "failed" and host_files(env, host, volume) == before


def test_reinit_removes_the_root_volume_s_snapshots_rows_and_files(env, cloned_then_stopped):
    uuid = cloned_then_stopped
    volume = Volume.objects.get(uuid=env.vm(uuid)["root_volume_uuid"])
    host = Host.objects.get(uuid=env.vm(uuid)["last_host_uuid"])
    for name in ("before-upgrade", "after-upgrade"):
        response, job = env.job("post", "/api/v1/volume-snapshots/", {"volume_uuid": str(volume.uuid), "name": name})
        assert job["state"] == "succeeded", job
    files = list(VolumeSnapshot.objects.filter(volume=volume).values_list("install_path", flat=True))
    assert len(files) == 2
    assert env.action(uuid, "reinit")["state"] == "succeeded"
    assert not VolumeSnapshot.objects.filter(volume=volume).exists()
    for path in files:
        with pytest.raises(CloudPortalError) as exc:
            agent.call(host, "/v1/volume/info", {"path": path})
        assert exc.value.code == "VOLUME_NOT_FOUND"
    volume.refresh_from_db()
    info = agent.call(host, "/v1/volume/info", {"path": volume.install_path})
    assert info["backing_file"] == ImageCache.objects.get().install_path


def test_a_worker_dying_after_any_reinit_step_leaves_the_old_file_once_the_reaper_is_done(
        env, cloned_then_stopped, monkeypatch):
    import uuid as uuid_lib
    from datetime import timedelta

    from django.utils import timezone

    from apps.core.flows import execute_job, jobs, reap_jobs
    from apps.core.models import Job

    class WorkerDied(BaseException):
        pass

    uuid = cloned_then_stopped
    volume = Volume.objects.get(uuid=env.vm(uuid)["root_volume_uuid"])
    host = env.vm(uuid)["last_host_uuid"]
    before = (host_files(env, host, volume), sorted(ImageCache.objects.values_list("ref_count", flat=True)),
              Volume.objects.filter(pk=volume.pk).values("install_path", "image_sha256").get())
    monkeypatch.setattr(jobs, "dispatch", lambda job_uuid: None)
    for step in REINIT_ROOT_VOLUME.steps[:-2]:   # after RecordReinit the reinit is done
        run = step.run

        def die(self, ctx, run=run):
            run(self, ctx)
            raise WorkerDied()

        with monkeypatch.context() as patched:
            patched.setattr(step, "run", die)
            response = env.client.post(f"/api/v1/vm-instances/{uuid}/reinit/")
            job_uuid = response.json()["job"]["uuid"]
            with pytest.raises(WorkerDied):
                execute_job(job_uuid)
        Job.objects.filter(uuid=job_uuid).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
        assert reap_jobs() == [uuid_lib.UUID(job_uuid)]
        job = Job.objects.get(uuid=job_uuid)
        assert not [s for s in job.steps if s["state"] == "rollback_failed"], (step.step_name(), job.steps)
        after = (host_files(env, host, volume), sorted(ImageCache.objects.values_list("ref_count", flat=True)),
                 Volume.objects.filter(pk=volume.pk).values("install_path", "image_sha256").get())
        assert after == before, step.step_name()
