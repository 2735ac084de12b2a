"""ECS images (H5) through the portal's API against the emulator, oss2 and the ECS SDK on the wire:
the sync of system and custom images, the delete of a custom one, and the upload of a local qcow2
image through an OSS bucket to a custom image, with its progress, a failed part resumed by the
step's retry, and a failure after the import that leaves nothing in the cloud."""
import hashlib
import os
import subprocess
import time

import oss2
import pytest

from apps.core.models import Job
from apps.hybrid.cloud import Cloud
from apps.hybrid.models import EcsImage
from apps.storage.models import BackupStorage, Image
from apps.storage.models.backup_storage import check_directory
from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET
from tests.hybrid.test_storage_buckets import BUCKETS, buckets, created as created_bucket, sdk_bucket

pytestmark = pytest.mark.django_db
IMAGES = "/api/v1/ecs-images/"
SYSTEM_IMAGE = "aliyun_3_x64_20G_alibase_20240819.vhd"
PART = 100 << 10   # the smallest part OSS takes (hybrid/oss.partSize)
QCOW2_HEADER = b"QFI\xfb\x00\x00\x00\x03"


@pytest.fixture
def center(hybrid):
    hybrid.add_key()
    return hybrid.add_data_center("cn-hangzhou")


@pytest.fixture
def bucket(hybrid, center):
    return created_bucket(hybrid, center, "portal-uploads")


@pytest.fixture
def local_image(hybrid, tmp_path):
    """A real qcow2 (qemu-img, random bits: about nine parts) added as a local image by the portal's
    own image flow (apps.storage: format detected, sha256, kept on a backup storage)."""
    raw = tmp_path / "disk.raw"
    raw.write_bytes(os.urandom(PART * 8))
    qcow2 = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", str(raw), str(qcow2)], check=True)
    url = str(tmp_path / "bs")
    total, available = check_directory(url)
    storage = BackupStorage.objects.create(name="bs", url=url, total_capacity=total, available_capacity=available)
    response = hybrid.post("/api/v1/images/", {"name": "centos-local", "url": f"file://{qcow2}", "platform": "Linux",
                                               "backup_storage_uuids": [str(storage.uuid)]})
    assert hybrid.job(response)["state"] == "succeeded"
    image = Image.objects.get(uuid=response.json()["resource"]["uuid"])
    assert image.format == "qcow2" and image.actual_size > 3 * PART
    return image


@pytest.fixture
def small_parts(hybrid):
    answer = hybrid.client.patch("/api/v1/global-configs/hybrid/oss.partSize/", {"value": PART}, format="json")
    assert answer.status_code == 200, answer.content


def custom_images(hybrid):
    return hybrid.emulator.table("images")


def objects(hybrid, name):
    return [o.key for o in oss2.ObjectIterator(sdk_bucket(hybrid, name))]


def uploads(hybrid, name):
    return list(oss2.MultipartUploadIterator(sdk_bucket(hybrid, name)))


def upload(hybrid, local_image, bucket, **extra):
    return hybrid.post(IMAGES, {"name": "centos-from-portal", "local_image_uuid": str(local_image.uuid),
                                "oss_bucket_uuid": bucket["uuid"], "platform": "CentOS", **extra})


def test_sync_mirrors_system_images_and_the_accounts_own(hybrid, center):
    images = {row.image_id: row for row in EcsImage.objects.all()}
    assert images[SYSTEM_IMAGE].owner_alias == "system" and images[SYSTEM_IMAGE].state == "Available"
    assert images[SYSTEM_IMAGE].size == 20 << 30 and images[SYSTEM_IMAGE].os_type == "linux"
    listed = hybrid.client.get(IMAGES, {"q": "owner_alias=system", "limit": 500}).json()
    assert listed["count"] == len(images) > 10
    again = hybrid.job(hybrid.post(f"/api/v1/alibaba-data-centers/{center['uuid']}/sync/"))
    [counts] = [kind for kind in again["result"]["kinds"] if kind["kind"] == "EcsImage"]
    assert (counts["imported"], counts["updated"], counts["unchanged"]) == (0, 0, len(images))   # nothing written

    answer = hybrid.client.patch("/api/v1/global-configs/hybrid/images.syncOwners/", {"value": "self,nobody"},
                                 format="json")
    assert answer.status_code == 400   # only the owners DescribeImages knows


def import_outside(hybrid, name="made-outside"):
    """A custom image the account made without the portal (an object in OSS, then ImportImage)."""
    sdk_bucket(hybrid, "outside-images").create_bucket()
    sdk_bucket(hybrid, "outside-images").put_object("disk.qcow2", QCOW2_HEADER + b"\0" * 1024)
    cloud = Cloud(DEMO_KEY_ID, "cn-hangzhou", DEMO_KEY_SECRET)
    return cloud.ecs("ImportImage", {"ImageName": name, "DiskDeviceMapping": [
        {"OSSBucket": "outside-images", "OSSObject": "disk.qcow2", "Format": "QCOW2"}]})["ImageId"]


def test_a_custom_image_is_synced_and_deleted_in_the_cloud_a_system_one_is_not(hybrid, center):
    hybrid.emulator.admin("POST", "timing", {"transition_seconds": 0.01})
    image_id = import_outside(hybrid)
    time.sleep(0.1)   # Waiting -> Creating ... -> Available, 0.01 s a step
    hybrid.job(hybrid.post(f"/api/v1/alibaba-data-centers/{center['uuid']}/sync/"))
    row = EcsImage.objects.get(image_id=image_id)
    assert (row.name, row.owner_alias) == ("made-outside", "self")

    system = EcsImage.objects.get(image_id=SYSTEM_IMAGE)
    with hybrid.capture(execute=True):
        refused = hybrid.client.delete(f"{IMAGES}{system.uuid}/")
    assert refused.status_code == 409 and refused.json()["code"] == "ECS_IMAGE_NOT_CUSTOM"

    with hybrid.capture(execute=True):
        answer = hybrid.client.delete(f"{IMAGES}{row.uuid}/")
    assert hybrid.job(answer)["state"] == "succeeded"
    assert image_id not in custom_images(hybrid) and not EcsImage.objects.filter(image_id=image_id).exists()


def test_a_local_qcow2_image_is_uploaded_through_oss_and_imported(hybrid, bucket, local_image, small_parts):
    response = upload(hybrid, local_image, bucket)
    job = hybrid.job(response)
    assert job["state"] == "succeeded", job
    steps = {step["name"]: step for step in job["steps"]}
    upload_detail = steps["UploadToOss"]["detail"]
    assert upload_detail["bytes_sent"] == upload_detail["bytes_total"] == local_image.actual_size
    assert steps["WaitImageAvailable"]["detail"]["status"] in ("Waiting", "Creating")   # it followed the import
    image = hybrid.client.get(f"{IMAGES}{response.json()['resource']['uuid']}/").json()
    assert image["state"] == "Available" and image["owner_alias"] == "self" and image["progress"] == 100
    assert image["local_image_uuid"] == str(local_image.uuid) and image["name"] == "centos-from-portal"
    record = custom_images(hybrid)[image["image_id"]]
    assert (record["Status"], record["Platform"], record["Size"]) == ("Available", "CentOS", 5)   # GiB, at least 5
    mapping = record["DiskDeviceMappings"]["DiskDeviceMapping"][0]
    assert (mapping["ImportOSSBucket"], mapping["Format"]) == ("portal-uploads", "QCOW2")
    assert {"TagKey": "cloudportal:uuid", "TagValue": image["uuid"]} in record["Tags"]["Tag"]
    assert job["result"]["uploaded_bytes"] == local_image.actual_size
    assert objects(hybrid, "portal-uploads") == [] and uploads(hybrid, "portal-uploads") == []   # not kept


def test_a_failed_part_is_resumed_by_the_steps_retry(hybrid, bucket, local_image, small_parts, monkeypatch):
    """The third UploadPart fails once: the retry lists the upload and sends only the parts left."""
    from apps.hybrid.flows import storage_images

    report = storage_images.report_upload
    injected = []

    def fail_the_third_part(ctx, sent, total, resumed_from):
        if sent >= 2 * PART and not injected:
            injected.append(sent)
            hybrid.emulator.admin("POST", "faults", {"product": "Oss", "action": "UploadPart",
                                                     "code": "InternalError", "http_status": 500, "times": 1})
        return report(ctx, sent, total, resumed_from)

    monkeypatch.setattr(storage_images, "report_upload", fail_the_third_part)
    job = hybrid.job(upload(hybrid, local_image, bucket, keep_oss_object=True))
    assert job["state"] == "succeeded", job
    step = next(step for step in job["steps"] if step["name"] == "UploadToOss")
    assert step["attempts"] == 2 and step["detail"]["resumed_from_bytes"] == 2 * PART
    key = EcsImage.objects.get(owner_alias="self").oss_object
    assert objects(hybrid, "portal-uploads") == [key]   # kept, as asked
    stored = sdk_bucket(hybrid, "portal-uploads").get_object(key).read()
    assert hashlib.sha256(stored).hexdigest() == local_image.sha256   # every byte, in order


def test_an_upload_rides_out_a_throttling_burst_of_oss(hybrid, bucket, local_image, small_parts):
    """OSS throttles (503 TotalQpsLimitExceeded with Retry-After): the upload waits and goes on,
    without sending again what the cloud has."""
    hybrid.emulator.admin("POST", "throttle", {"product": "Oss", "action": "UploadPart", "times": 2,
                                               "retry_after": 0.1})
    job = hybrid.job(upload(hybrid, local_image, bucket, keep_oss_object=True))
    assert job["state"] == "succeeded", job
    key = EcsImage.objects.get(owner_alias="self").oss_object
    stored = sdk_bucket(hybrid, "portal-uploads").get_object(key).read()
    assert hashlib.sha256(stored).hexdigest() == local_image.sha256


def test_a_failure_after_the_import_deletes_the_image_and_the_object(hybrid, bucket, local_image, small_parts):
    # the upload's first DescribeImages is its wait for the imported image (ImportImage's ClientToken
    # is its look before the import)
    hybrid.emulator.admin("POST", "faults", {"product": "Ecs", "action": "DescribeImages", "code": "InternalError",
                                             "http_status": 500, "times": 1})
    job = hybrid.job(upload(hybrid, local_image, bucket))
    assert job["state"] == "failed" and job["error"]["step"] == "WaitImageAvailable", job
    assert job["error"]["details"]["cloud_code"] == "InternalError" and "Traceback" not in str(job)
    steps = {step["name"]: step["state"] for step in job["steps"]}
    assert steps["ImportImageInCloud"] == steps["UploadToOss"] == steps["RecordUpload"] == "rolled_back"
    assert custom_images(hybrid) == {} and not EcsImage.objects.filter(owner_alias="self").exists()
    assert objects(hybrid, "portal-uploads") == [] and uploads(hybrid, "portal-uploads") == []
    assert "portal-uploads" in buckets(hybrid)   # the bucket is the operator's


def test_an_upload_needs_a_ready_image_and_an_available_bucket(hybrid, bucket, local_image):
    local_image.status = "Downloading"
    local_image.save(update_fields=["status"])
    refused = upload(hybrid, local_image, bucket)
    assert refused.status_code == 400 and "local_image_uuid" in refused.json()["details"]
    assert Job.objects.filter(flow="upload-ecs-image").count() == 0
    assert hybrid.client.get(f"{BUCKETS}{bucket['uuid']}/").json()["state"] == "Available"


def test_an_upload_cut_in_other_parts_is_aborted_not_mixed_in(hybrid, center):
    """What the upload step resumes: the parts this file cut this way would have, nothing else."""
    from apps.hybrid.flows.storage_images import resume_or_start
    from apps.hybrid.storage_cloud import oss_bucket

    cloud = Cloud(DEMO_KEY_ID, "cn-hangzhou", DEMO_KEY_SECRET)
    remote = oss_bucket(cloud, "resume-check")
    remote.create_bucket()
    earlier = remote.init_multipart_upload("disk.qcow2").upload_id
    remote.upload_part("disk.qcow2", earlier, 1, b"x" * PART)
    same, parts = resume_or_start(cloud, remote, "disk.qcow2", 3 * PART, PART)
    assert same == earlier and sorted(parts) == [1]          # the same cut: resumed
    other, parts = resume_or_start(cloud, remote, "disk.qcow2", 3 * PART, 2 * PART)
    assert other != earlier and parts == {}                  # another part size: started afresh
    assert [u.upload_id for u in oss2.MultipartUploadIterator(remote)] == [other]
