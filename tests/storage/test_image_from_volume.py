"""Images from volumes on simulated hosts: the simulated agent uploads a real (empty) qcow2 to the
portal (a live server here), which stores it like any image; the rules; a failure at each step
leaves no row, temporary file or stored bits. The real-QEMU content check is
tests/compute/test_vm_clone_kvm.py (one real-QEMU setup for clone, image and reinit)."""
import hashlib
import os

import pytest

from apps.storage.flows.volume_image import CREATE_IMAGE_FROM_VOLUME
from apps.storage.models import BackupStorage, Image, Volume, VolumeSnapshot
from apps.storage.volume_upload import HEADER_EXPIRES, HEADER_SIGNATURE, upload_target
from tests.compute.vm_env import Env


def _files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


@pytest.fixture
def live_env(transactional_db, admin_client, sim_agent, tmp_path, live_server, settings):
    settings.PORTAL_URL = live_server.url   # where the agent uploads
    return Env(admin_client, None, tmp_path)


def create_image(client, volume_uuid, body):
    return client.post(f"/api/v1/volumes/{volume_uuid}/create-image/", body, format="json")


def test_an_image_of_a_stopped_vms_root_volume_is_ready_and_a_failure_at_any_step_leaves_nothing(
        live_env, tmp_path, sim_agent, monkeypatch):
    env = live_env
    uuid, _ = env.create(name="src")
    volume = env.vm(uuid)["root_volume_uuid"]
    refused = create_image(env.client, volume, {"name": "busy"})
    assert refused.status_code == 409 and refused.json()["code"] == "VOLUME_IN_USE", refused.content
    assert "stop the VM" in refused.json()["message"]
    assert env.action(uuid, "stop")["state"] == "succeeded"

    bs = BackupStorage.objects.get(uuid=env.bs_uuid)
    store = tmp_path / "bs"
    files_before, images_before = _files(store), Image.objects.count()

    def nothing_left():
        bs.refresh_from_db()
        assert Image.objects.count() == images_before
        assert _files(store) == files_before
        assert Volume.objects.get(uuid=volume).busy_job is None

    for step in CREATE_IMAGE_FROM_VOLUME.steps[1:]:
        with monkeypatch.context() as patched:
            patched.setattr(step, "run", lambda self, ctx: (_ for _ in ()).throw(RuntimeError("injected")))
            response = create_image(env.client, volume, {"name": "doomed"})
            assert response.status_code == 202, response.content
            job = env.client.get(response["Location"]).json()
            assert job["state"] == "failed" and job["error"]["step"] == step.step_name(), job
            nothing_left()
    sim_agent.admin("POST", "/sim/faults", {"path": "/v1/volume/convert-to-image", "mode": "fail", "count": 1})
    response = create_image(env.client, volume, {"name": "doomed"})
    assert env.client.get(response["Location"]).json()["state"] == "failed"
    nothing_left()

    response = create_image(env.client, volume, {"name": "golden", "description": "from src"})
    assert response.status_code == 202, response.content
    job = env.client.get(response["Location"]).json()
    assert job["state"] == "succeeded", job
    image = env.client.get(f"/api/v1/images/{response.json()['resource']['uuid']}/").json()
    assert image["status"] == "Ready" and image["format"] == "qcow2" and image["media_type"] == "RootVolumeTemplate"
    assert image["size"] == 64 << 20   # the volume's virtual size
    [ref] = image["backup_storage_refs"]
    blob = bs.blob_path(image["sha256"])
    assert hashlib.sha256(blob.read_bytes()).hexdigest() == image["sha256"] and image["actual_size"] == blob.stat().st_size
    assert not list((store / "tmp").iterdir())
    assert Volume.objects.get(uuid=volume).busy_job is None   # the job held it while reading it
    # the new image makes VMs
    made, job = env.create(name="from-image", image_uuid=image["uuid"])
    assert job["state"] == "succeeded", job

    # an image of a snapshot: its file is read-only, so the VM may run
    assert env.action(uuid, "start")["state"] == "succeeded"
    response, job = env.job("post", "/api/v1/volume-snapshots/", {"volume_uuid": volume, "name": "s1"})
    snapshot = response.json()["resource"]["uuid"]
    response = env.client.post(f"/api/v1/volume-snapshots/{snapshot}/create-image/", {"name": "from-snap"},
                               format="json")
    assert response.status_code == 202, response.content
    job = env.client.get(response["Location"]).json()
    assert job["state"] == "succeeded", job
    from_snapshot = env.client.get(f"/api/v1/images/{response.json()['resource']['uuid']}/").json()
    assert from_snapshot["status"] == "Ready" and from_snapshot["size"] == 64 << 20
    assert VolumeSnapshot.objects.get(uuid=snapshot).busy_job is None


@pytest.mark.django_db
def test_image_requests_are_checked_and_another_account_gets_404(admin_client, tenant_client, sim_agent, tmp_path,
                                                                  django_capture_on_commit_callbacks):
    env = Env(admin_client, django_capture_on_commit_callbacks, tmp_path)
    uuid, _ = env.create(name="src")
    volume = env.vm(uuid)["root_volume_uuid"]
    assert create_image(tenant_client, volume, {"name": "x"}).status_code == 404
    assert create_image(admin_client, volume, {}).status_code == 400
    missing = create_image(admin_client, volume, {"name": "x", "backup_storage_uuids": [
        "00000000-0000-4000-8000-000000000000"]})
    assert missing.status_code == 400 and "backup_storage_uuids" in missing.json()["details"]


@pytest.mark.django_db
def test_the_upload_endpoint_wants_a_valid_signature_and_a_running_job(client, settings):
    import uuid

    bs, job = uuid.uuid4(), uuid.uuid4()
    target = upload_target(bs, job)
    path = target["url"].split(settings.PORTAL_URL.rstrip("/"), 1)[1]
    assert "signature" not in target["url"].lower()   # the credential travels in headers only
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in target["headers"].items()}
    bad = dict(headers, HTTP_X_UPLOAD_SIGNATURE="0" * 64)
    assert client.put(path, b"x", content_type="application/octet-stream", **bad).status_code == 403
    expired = upload_target(bs, job, ttl=-10)["headers"]
    expired = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in expired.items()}
    assert client.put(path, b"x", content_type="application/octet-stream", **expired).json()["code"] == "URL_EXPIRED"
    answer = client.put(path, b"x", content_type="application/octet-stream", **headers)
    assert answer.status_code == 409 and answer.json()["code"] == "JOB_NOT_RUNNING"
    assert client.get(path).status_code == 405
    assert (HEADER_EXPIRES, HEADER_SIGNATURE) == tuple(target["headers"])
