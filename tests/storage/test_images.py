"""Images end to end through the API and the add-image flow: real files, qemu-img, HTTP."""
import hashlib
import json
import os
import subprocess
import time

import pytest

from apps.core.models import Job
from apps.storage import imagestore
from apps.storage.models import BackupStorage, Image, ImageBackupStorageRef

from .conftest import make_iso, make_qcow2, make_raw_disk

pytestmark = pytest.mark.django_db


def sha256_of(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def blobs(bs):
    root = bs.root / "images"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def leftovers(bs):
    tmp = bs.root / "tmp"
    return sorted(tmp.iterdir()) if tmp.exists() else []


def add_image(client, capture, url, bss, **extra):
    body = {"name": extra.pop("name", "img"), "url": url, "backup_storage_uuids": [str(b.uuid) for b in bss],
            "platform": "Linux", **extra}
    with capture(execute=True):
        response = client.post("/api/v1/images/", body, format="json")
    assert response.status_code == 202, response.content
    job = client.get(response["Location"]).json()
    return response.json()["resource"]["uuid"], job


def test_image_from_a_file_url_is_ready_with_format_sizes_and_sha256(admin_client, backup_storage, tmp_path,
                                                                     django_capture_on_commit_callbacks):
    source = make_qcow2(tmp_path / "cirros.qcow2", "64M")
    uuid, job = add_image(admin_client, django_capture_on_commit_callbacks, f"file://{source}", [backup_storage])
    assert job["state"] == "succeeded", job
    image = admin_client.get(f"/api/v1/images/{uuid}/").json()
    assert image["status"] == "Ready" and image["format"] == "qcow2" and image["media_type"] == "RootVolumeTemplate"
    assert image["size"] == 64 * 1024 * 1024
    assert image["actual_size"] == source.stat().st_size
    assert image["sha256"] == sha256_of(source)
    stored = backup_storage.blob_path(image["sha256"])
    assert blobs(backup_storage) == [stored] and stored.read_bytes() == source.read_bytes()
    assert image["backup_storage_refs"] == [{"backup_storage_uuid": str(backup_storage.uuid),
                                             "install_path": str(stored)}]
    assert leftovers(backup_storage) == []
    assert job["result"]["sha256"] == image["sha256"] and job["progress"] == 100
    download = next(s for s in job["steps"] if s["name"] == "DownloadImage")
    assert download["detail"] == {"bytes_done": image["actual_size"], "bytes_total": image["actual_size"]}


def test_image_from_http_twice_is_stored_once_and_expunge_keeps_shared_bits(admin_client, backup_storage,
                                                                            image_server,
                                                                            django_capture_on_commit_callbacks):
    source = make_qcow2(image_server.root / "disk.qcow2", "32M")
    url = f"{image_server.url}/disk.qcow2"
    first, job1 = add_image(admin_client, django_capture_on_commit_callbacks, url, [backup_storage], name="a")
    second, job2 = add_image(admin_client, django_capture_on_commit_callbacks, url, [backup_storage], name="b")
    assert job1["state"] == job2["state"] == "succeeded", (job1, job2)
    a, b = Image.objects.get(uuid=first), Image.objects.get(uuid=second)
    assert a.sha256 == b.sha256 == sha256_of(source) and a.format == "qcow2" and a.size == 32 * 1024 * 1024
    assert blobs(backup_storage) == [backup_storage.blob_path(a.sha256)]   # one file for both

    # delete -> Deleted, recover -> Ready, delete again, expunge: the file stays for the other image
    response = admin_client.delete(f"/api/v1/images/{first}/")
    assert response.status_code == 200 and response.json()["status"] == "Deleted"
    assert admin_client.post(f"/api/v1/images/{first}/recover/").json()["status"] == "Ready"
    response = admin_client.post(f"/api/v1/images/{first}/expunge/")
    assert response.status_code == 409 and response.json()["code"] == "INVALID_STATE"   # only Deleted images
    admin_client.delete(f"/api/v1/images/{first}/")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/api/v1/images/{first}/expunge/")
    assert response.status_code == 202
    assert admin_client.get(response["Location"]).json()["state"] == "succeeded"
    assert not Image.objects.filter(uuid=first).exists()
    assert blobs(backup_storage) == [backup_storage.blob_path(b.sha256)]
    # the last user goes: so do the bits
    admin_client.delete(f"/api/v1/images/{second}/")
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/api/v1/images/{second}/expunge/")
    assert blobs(backup_storage) == [] and not ImageBackupStorageRef.objects.exists()


def test_image_on_two_backup_storages_and_capacity_refreshed(admin_client, backup_storage, tmp_path,
                                                             django_capture_on_commit_callbacks):
    other = BackupStorage.objects.create(name="bs2", url=str(tmp_path / "bs2"))
    source = make_qcow2(tmp_path / "x.qcow2", "16M")
    uuid, job = add_image(admin_client, django_capture_on_commit_callbacks, f"file://{source}",
                          [backup_storage, other])
    assert job["state"] == "succeeded", job
    sha = sha256_of(source)
    assert blobs(backup_storage) == [backup_storage.blob_path(sha)] and blobs(other) == [other.blob_path(sha)]
    other.refresh_from_db()
    assert other.total_capacity > 0 and 0 < other.available_capacity <= other.total_capacity
    listed = admin_client.get("/api/v1/images/", {"q": f"backup_storage_uuid={other.uuid}"}).json()
    assert [row["uuid"] for row in listed["results"]] == [uuid]


def test_iso_is_detected_as_iso(admin_client, backup_storage, image_server, django_capture_on_commit_callbacks):
    make_iso(image_server.root / "install.iso")
    uuid, job = add_image(admin_client, django_capture_on_commit_callbacks, f"{image_server.url}/install.iso",
                          [backup_storage])
    assert job["state"] == "succeeded", job
    image = Image.objects.get(uuid=uuid)
    assert image.format == "iso" and image.media_type == "ISO" and image.actual_size == 64 * 1024


def test_raw_disk_with_a_partition_table_is_accepted(admin_client, backup_storage, tmp_path,
                                                     django_capture_on_commit_callbacks):
    source = make_raw_disk(tmp_path / "disk.raw")
    uuid, job = add_image(admin_client, django_capture_on_commit_callbacks, f"file://{source}", [backup_storage],
                          format="raw")
    assert job["state"] == "succeeded", job
    assert Image.objects.get(uuid=uuid).format == "raw"


def assert_failed_leaving_nothing(job, uuid, backup_storage, code):
    assert job["state"] == "failed", job
    assert job["error"]["code"] == code, job["error"]
    assert job["error"]["message"]
    assert not Image.objects.filter(uuid=uuid).exists()   # ZStack removes a failed image
    assert blobs(backup_storage) == [] and leftovers(backup_storage) == []
    assert not ImageBackupStorageRef.objects.exists()


@pytest.mark.parametrize("content", [b"hello, I am a text file\n" * 100,
                                     b"<!DOCTYPE html><html><body>Not here</body></html>" * 20,
                                     b"tiny"])
def test_text_html_or_tiny_file_is_not_an_image(admin_client, backup_storage, image_server, content,
                                                django_capture_on_commit_callbacks):
    (image_server.root / "readme.txt").write_bytes(content)
    uuid, job = add_image(admin_client, django_capture_on_commit_callbacks, f"{image_server.url}/readme.txt",
                          [backup_storage])
    assert_failed_leaving_nothing(job, uuid, backup_storage, "NOT_AN_IMAGE")
    assert job["error"]["step"] == "DetectFormat"


def test_declared_format_must_match(admin_client, backup_storage, tmp_path, django_capture_on_commit_callbacks):
    source = make_qcow2(tmp_path / "x.qcow2")
    uuid, job = add_image(admin_client, django_capture_on_commit_callbacks, f"file://{source}", [backup_storage],
                          format="iso")
    assert_failed_leaving_nothing(job, uuid, backup_storage, "IMAGE_FORMAT_MISMATCH")


def test_qcow2_with_a_backing_file_is_refused(admin_client, backup_storage, tmp_path,
                                              django_capture_on_commit_callbacks):
    base = make_qcow2(tmp_path / "base.qcow2")
    overlay = tmp_path / "overlay.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(overlay)],
                   check=True)
    uuid, job = add_image(admin_client, django_capture_on_commit_callbacks, f"file://{overlay}", [backup_storage])
    assert_failed_leaving_nothing(job, uuid, backup_storage, "IMAGE_HAS_BACKING_FILE")


def test_404_is_a_failed_job(admin_client, backup_storage, image_server, django_capture_on_commit_callbacks):
    uuid, job = add_image(admin_client, django_capture_on_commit_callbacks, f"{image_server.url}/missing.qcow2",
                          [backup_storage])
    assert_failed_leaving_nothing(job, uuid, backup_storage, "IMAGE_DOWNLOAD_FAILED")
    assert job["error"]["details"]["http_status"] == 404 and "404" in job["error"]["message"]


def test_unreachable_server_is_a_failed_job(admin_client, backup_storage, unreachable_url,
                                            django_capture_on_commit_callbacks):
    uuid, job = add_image(admin_client, django_capture_on_commit_callbacks, unreachable_url, [backup_storage])
    assert_failed_leaving_nothing(job, uuid, backup_storage, "IMAGE_SERVER_UNREACHABLE")


@pytest.mark.parametrize("url", ["ftp://example.com/a.qcow2", "gopher://x/y", "/just/a/path.qcow2"])
def test_unsupported_scheme_is_a_failed_job(admin_client, backup_storage, url, django_capture_on_commit_callbacks):
    uuid, job = add_image(admin_client, django_capture_on_commit_callbacks, url, [backup_storage])
    assert_failed_leaving_nothing(job, uuid, backup_storage, "UNSUPPORTED_URL_SCHEME")


def test_file_urls_are_for_admins_and_bad_input_is_400(tenant_client, admin_client, backup_storage, tmp_path):
    body = {"name": "x", "url": f"file://{tmp_path}/x", "backup_storage_uuids": [str(backup_storage.uuid)]}
    assert tenant_client.post("/api/v1/images/", body, format="json").json()["code"] == "PERMISSION_DENIED"
    response = admin_client.post("/api/v1/images/", {**body, "backup_storage_uuids": []}, format="json")
    assert response.status_code == 400 and "backup_storage_uuids" in response.json()["details"]
    response = admin_client.post("/api/v1/images/", {**body, "backup_storage_uuids": [
        "00000000-0000-4000-8000-000000000000"]}, format="json")
    assert response.status_code == 400 and "not found" in str(response.json()["details"])
    assert not Image.objects.exists()


def test_tenant_adds_an_image_and_other_accounts_do_not_see_it(tenant_client, client_factory, backup_storage,
                                                               image_server, django_capture_on_commit_callbacks):
    make_qcow2(image_server.root / "t.qcow2")
    uuid, job = add_image(tenant_client, django_capture_on_commit_callbacks, f"{image_server.url}/t.qcow2",
                          [backup_storage])
    assert job["state"] == "succeeded", job
    other = client_factory("tenant-b")
    assert other.get(f"/api/v1/images/{uuid}/").status_code == 404
    assert tenant_client.get(f"/api/v1/images/{uuid}/").json()["status"] == "Ready"


@pytest.fixture
def client_factory(db):
    from tests.conftest import client_for, make_account

    return lambda name: client_for(make_account(name))


def test_browser_upload_is_streamed_to_disk(admin_client, backup_storage, tmp_path, settings,
                                            django_capture_on_commit_callbacks):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024   # anything bigger must not be kept in memory
    source = make_qcow2(tmp_path / "upload.qcow2", "8M")
    with open(source, "rb") as fh, django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/api/v1/images/upload/", {
            "name": "uploaded", "platform": "Linux", "backup_storage_uuids": [str(backup_storage.uuid)],
            "file": fh}, format="multipart")
    assert response.status_code == 202, response.content
    job = admin_client.get(response["Location"]).json()
    assert job["state"] == "succeeded", job
    image = Image.objects.get(uuid=response.json()["resource"]["uuid"])
    assert image.status == "Ready" and image.format == "qcow2" and image.sha256 == sha256_of(source)
    assert image.url == "upload://upload.qcow2"
    assert backup_storage.blob_path(image.sha256).read_bytes() == source.read_bytes()
    assert list((settings.DATA_DIR / "uploads").glob(f"{image.uuid}*")) == []


def test_a_browser_session_uploads_with_its_csrf_token_and_the_file_still_goes_to_disk(
        admin_user, backup_storage, tmp_path, settings, django_capture_on_commit_callbacks):
    """The session's CSRF check reads the form (for its token) before the view runs: the disk
    handler is in place by then, or the file would be parsed by Django's default handlers."""
    from django.test import Client

    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    browser.get("/ui/")   # a console page: the CSRF cookie
    token = browser.cookies["csrftoken"].value
    source = make_qcow2(tmp_path / "session.qcow2", "8M")
    with open(source, "rb") as fh, django_capture_on_commit_callbacks(execute=True):
        refused = browser.post("/api/v1/images/upload/", {"name": "s", "file": fh}, HTTP_ACCEPT="application/json")
        assert refused.status_code == 403
        fh.seek(0)
        response = browser.post("/api/v1/images/upload/", {
            "name": "by-session", "backup_storage_uuids": [str(backup_storage.uuid)], "file": fh},
            HTTP_X_CSRFTOKEN=token, HTTP_ACCEPT="application/json")
    assert response.status_code == 202, response.content
    image = Image.objects.get(uuid=response.json()["resource"]["uuid"])
    assert image.status == "Ready" and image.sha256 == sha256_of(source)


def test_upload_of_a_text_file_fails_and_leaves_nothing(admin_client, backup_storage, tmp_path, settings,
                                                        django_capture_on_commit_callbacks):
    text = tmp_path / "notes.txt"
    text.write_text("just some notes\n" * 200)
    with open(text, "rb") as fh, django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/api/v1/images/upload/", {
            "name": "bad", "backup_storage_uuids": [str(backup_storage.uuid)], "file": fh}, format="multipart")
    job = admin_client.get(response["Location"]).json()
    assert_failed_leaving_nothing(job, response.json()["resource"]["uuid"], backup_storage, "NOT_AN_IMAGE")
    uuid = response.json()["resource"]["uuid"]
    assert list((settings.DATA_DIR / "uploads").glob(f"{uuid}*")) == []


def test_upload_without_a_file_is_400(admin_client, backup_storage):
    response = admin_client.post("/api/v1/images/upload/", {"name": "x", "backup_storage_uuids": [
        str(backup_storage.uuid)]}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["details"]


# --- the image store hosts download from -------------------------------------------------

def test_image_store_serves_signed_urls_only_with_range(client, admin_client, backup_storage, tmp_path, settings,
                                                        django_capture_on_commit_callbacks):
    settings.PORTAL_URL = "http://portal.example:8000"
    source = make_qcow2(tmp_path / "s.qcow2")
    add_image(admin_client, django_capture_on_commit_callbacks, f"file://{source}", [backup_storage])
    sha = sha256_of(source)
    url = imagestore.signed_url(sha, ttl=60)
    assert url.startswith(f"http://portal.example:8000/image-store/{sha}?expires=")
    path = url.split("8000", 1)[1]
    response = client.get(path)
    assert response.status_code == 200 and b"".join(response.streaming_content) == source.read_bytes()
    assert response["Content-Length"] == str(source.stat().st_size)
    response = client.get(path, HTTP_RANGE="bytes=0-3")
    assert response.status_code == 206 and b"".join(response.streaming_content) == b"QFI\xfb"
    assert response["Content-Range"] == f"bytes 0-3/{source.stat().st_size}"
    response = client.get(path.replace("signature=", "signature=0"))
    assert response.status_code == 403 and response.json()["code"] == "BAD_SIGNATURE"
    other_sha = "0" * 64
    assert client.get(path.replace(sha, other_sha)).status_code == 403   # a signature is for one content
    expired = imagestore.signed_url(sha, ttl=-1).split("8000", 1)[1]
    assert client.get(expired).json()["code"] == "URL_EXPIRED"
    missing_expires = int(time.time()) + 60
    response = client.get(f"/image-store/{other_sha}?expires={missing_expires}"
                          f"&signature={imagestore.signature(other_sha, missing_expires)}")
    assert response.status_code == 404


def test_progress_is_reported_while_downloading(backup_storage, tmp_path, monkeypatch):
    """fetch() reports (done, total) as it streams and once at the end."""
    from apps.storage import download

    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(3 * download.CHUNK + 5))
    seen = []
    monkeypatch.setattr(download, "CHUNK", 1 << 20)
    size, sha = download.fetch(f"file://{source}", tmp_path / "out", on_progress=lambda d, t: seen.append((d, t)),
                               progress_every=0)
    assert size == source.stat().st_size and sha == sha256_of(source)
    assert seen[0][0] < seen[-1][0] and seen[-1] == (size, size)
    assert all(total == size for _, total in seen)


def test_job_record_is_json(admin_client, backup_storage, tmp_path, django_capture_on_commit_callbacks):
    source = make_qcow2(tmp_path / "j.qcow2")
    _, job = add_image(admin_client, django_capture_on_commit_callbacks, f"file://{source}", [backup_storage])
    stored = Job.objects.get(uuid=job["uuid"])
    json.dumps(stored.context)
    assert stored.context["stored"] == [{"bs": str(backup_storage.uuid), "new_file": True}]
