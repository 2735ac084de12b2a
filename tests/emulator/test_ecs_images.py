"""ECS images through the real ECS SDK: the system catalogue (filters, paging, every region),
custom images made by ImportImage from OSS (Waiting → Creating NN% → Available) and by CreateImage,
DeleteImage refused while an instance uses the image unless Force, ModifyImageAttribute; errors,
and a restart."""
import time

import oss2
import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_tea_openapi.exceptions import ClientException

from .conftest import sdk_config
from .ecs_helpers import run, wait_for
from .process import DEMO_KEY_ID, DEMO_KEY_SECRET

REGION = "cn-hangzhou"
ALL_STATUSES = "Waiting,Creating,Available,Deprecated,CreateFailed"


def _error(call):
    with pytest.raises(ClientException) as raised:
        call()
    return raised.value


def _images(client, region=REGION, **fields):
    return client.describe_images(ecs_models.DescribeImagesRequest(region_id=region, **fields)).body


def _image(client, image_id):
    (image,) = _images(client, image_id=image_id, status=ALL_STATUSES).images.image
    return image


def _wait_image(client, image_id, timeout=10.0):
    """The (Status, Progress) pairs an image shows until it is Available."""
    seen, deadline = [], time.monotonic() + timeout
    while not seen or seen[-1][0] != "Available":
        image = _image(client, image_id)
        if not seen or seen[-1] != (image.status, image.progress):
            seen.append((image.status, image.progress))
        assert time.monotonic() < deadline, f"image {image_id} still {seen[-1]}"
        time.sleep(0.02)
    return seen


def _create_image(client, instance_id, name="golden"):
    return client.create_image(ecs_models.CreateImageRequest(
        region_id=REGION, instance_id=instance_id, image_name=name)).body.image_id


def test_system_images_in_every_region_with_filters_and_paging(emulator, ecs_client):
    everything = _images(ecs_client, page_size=100)
    assert everything.total_count == 16 and everything.region_id == REGION
    platforms = {i.platform for i in everything.images.image}
    assert {"Aliyun", "CentOS", "Ubuntu", "Debian", "Windows Server 2022"} <= platforms
    assert all(i.image_owner_alias == "system" and i.status == "Available" and i.is_public
               for i in everything.images.image)
    pages = [_images(ecs_client, page_size=5, page_number=n).images.image for n in (1, 2, 3, 4)]
    assert [len(p) for p in pages] == [5, 5, 5, 1]
    assert [i.image_id for p in pages for i in p] == [i.image_id for i in everything.images.image]
    windows = _images(ecs_client, ostype="windows", page_size=50).images.image
    assert windows and all(i.ostype == "windows" and i.size == 40 for i in windows)
    arm = _images(ecs_client, architecture="arm64").images.image
    assert {i.image_id for i in arm} == {"aliyun_3_arm64_20G_alibase_20240819.vhd",
                                         "ubuntu_22_04_arm64_20G_alibase_20240812.vhd"}
    ubuntu = _images(ecs_client, image_name="ubuntu_22", image_owner_alias="system").images.image
    assert len(ubuntu) == 2
    assert _images(ecs_client, image_owner_alias="self").total_count == 0
    (image,) = _images(ecs_client, region="eu-central-1", image_id="ubuntu_22_04_x64_20G_alibase_20240812.vhd").images.image
    assert (image.osname_en, image.disk_device_mappings.disk_device_mapping[0].device) == ("Ubuntu  22.04 64 bit",
                                                                                         "/dev/xvda")
    assert _error(lambda: _images(ecs_client, page_size=101)).code == "InvalidParameter"


def test_create_image_from_an_instance_and_delete_it(emulator, ecs_client):
    (instance_id,) = run(ecs_client, image_id="debian_12_6_x64_20G_alibase_20240717.vhd")
    assert _error(lambda: _create_image(ecs_client, instance_id)).code == "IncorrectInstanceStatus"   # Pending
    wait_for(ecs_client, [instance_id], "Running")
    image_id = _create_image(ecs_client, instance_id)
    assert image_id.startswith("m-")
    assert _images(ecs_client, image_id=image_id).total_count == 0   # DescribeImages shows Available ones by default
    seen = _wait_image(ecs_client, image_id)
    assert seen[0][0] == "Creating" and seen[-1] == ("Available", "100%")
    image = _image(ecs_client, image_id)
    assert (image.image_owner_alias, image.platform, image.ostype, image.size, image.is_public) == (
        "self", "Debian", "linux", 40, False)
    assert image.disk_device_mappings.disk_device_mapping[0].snapshot_id.startswith("s-")
    assert _error(lambda: _create_image(ecs_client, instance_id)).code == "InvalidImageName.Duplicated"
    assert _error(lambda: _create_image(ecs_client, "i-doesnotexist000000000", "other")).code == "InvalidInstanceId.NotFound"

    ecs_client.modify_image_attribute(ecs_models.ModifyImageAttributeRequest(
        region_id=REGION, image_id=image_id, image_name="golden-v2", description="Debian with our agent"))
    stored = emulator.table("images")[image_id]
    assert (stored["ImageName"], stored["Description"]) == ("golden-v2", "Debian with our agent")

    (user,) = run(ecs_client, image_id=image_id)
    assert _image(ecs_client, image_id).usage == "instance"
    error = _error(lambda: ecs_client.delete_image(ecs_models.DeleteImageRequest(region_id=REGION, image_id=image_id)))
    assert (error.code, error.status_code) == ("ImageUsingByInstance", 403)
    ecs_client.delete_image(ecs_models.DeleteImageRequest(region_id=REGION, image_id=image_id, force=True))
    assert image_id not in emulator.table("images")
    assert user in emulator.table("instances")               # Force leaves the instances alone


def test_system_images_cannot_be_changed_and_unknown_ones_are_ignored(emulator, ecs_client):
    system = "centos_7_9_x64_20G_alibase_20240628.vhd"
    error = _error(lambda: ecs_client.delete_image(ecs_models.DeleteImageRequest(region_id=REGION, image_id=system)))
    assert (error.code, error.status_code) == ("OperationDenied", 403)
    assert _error(lambda: ecs_client.modify_image_attribute(ecs_models.ModifyImageAttributeRequest(
        region_id=REGION, image_id=system, image_name="mine"))).code == "OperationDenied"
    # the service ignores DeleteImage of a custom image that does not exist
    ecs_client.delete_image(ecs_models.DeleteImageRequest(region_id=REGION, image_id="m-doesnotexist000000000"))
    error = _error(lambda: ecs_client.modify_image_attribute(ecs_models.ModifyImageAttributeRequest(
        region_id=REGION, image_id="m-doesnotexist000000000", image_name="mine")))
    assert (error.code, error.status_code) == ("InvalidImageId.NotFound", 404)
    assert _error(lambda: run(ecs_client, image_id="m-doesnotexist000000000")).code == "InvalidImageId.NotFound"


def _import(client, bucket="images", key="disks/app.qcow2", image_format="QCOW2", **fields):
    mapping = ecs_models.ImportImageRequestDiskDeviceMapping(ossbucket=bucket, ossobject=key, format=image_format,
                                                            disk_image_size=20)
    request = dict(region_id=REGION, image_name="app", ostype="linux", platform="Ubuntu", architecture="x86_64")
    request.update(fields)
    return client.import_image(ecs_models.ImportImageRequest(disk_device_mapping=[mapping], **request)).body


def _oss_bucket(emulator, name, region=REGION):
    bucket = oss2.Bucket(oss2.AuthV4(DEMO_KEY_ID, DEMO_KEY_SECRET), emulator.url, name, region=region)
    bucket.create_bucket()
    return bucket


def test_import_image_from_an_oss_object_reports_progress_until_available(emulator, ecs_client):
    _oss_bucket(emulator, "images").put_object("disks/app.qcow2", b"QFI\xfb" + b"\0" * 4096)
    imported = _import(ecs_client)
    assert imported.image_id.startswith("m-") and imported.task_id.startswith("t-") and imported.region_id == REGION
    assert _image(ecs_client, imported.image_id).status == "Waiting"
    seen = _wait_image(ecs_client, imported.image_id)
    assert [status for status, _ in seen][-1] == "Available"
    progress = [int(p.rstrip("%")) for _, p in seen]
    assert progress == sorted(progress) and progress[-1] == 100 and any(0 < p < 100 for p in progress)
    image = _image(ecs_client, imported.image_id)
    (mapping,) = image.disk_device_mappings.disk_device_mapping
    assert (mapping.import_ossbucket, mapping.import_ossobject, mapping.format) == ("images", "disks/app.qcow2", "QCOW2")
    assert (image.platform, image.size, image.image_owner_alias) == ("Ubuntu", 20, "self")
    (instance_id,) = run(ecs_client, image_id=imported.image_id)
    assert emulator.table("instances")[instance_id]["ImageId"] == imported.image_id


def test_import_image_checks_the_oss_object(emulator, ecs_client):
    _oss_bucket(emulator, "images")
    error = _error(lambda: _import(ecs_client, key="disks/missing.qcow2"))
    assert (error.code, error.status_code) == ("InvalidOSSObject.NotFound", 404)
    _oss_bucket(emulator, "images-sh", region="cn-shanghai").put_object("app.qcow2", b"QFI\xfb")
    assert _error(lambda: _import(ecs_client, bucket="images-sh", key="app.qcow2")).code == \
        "InvalidOSSBucket.RegionMismatch"
    assert not emulator.table("images")


def test_import_image_parameters(emulator, ecs_client):
    error = _error(lambda: ecs_client.import_image(ecs_models.ImportImageRequest(region_id=REGION, image_name="app")))
    assert (error.code, error.status_code) == ("MissingParameter", 400)
    assert _error(lambda: _import(ecs_client, image_format="ISO9660")).code == "InvalidFormat.ValueNotSupported"
    assert _error(lambda: _import(ecs_client, ostype="beos")).code == "InvalidParameter"
    assert _error(lambda: _import(ecs_client, image_name="http://app")).code == "InvalidImageName.Malformed"


def test_images_and_their_progress_survive_a_restart(own_emulator):
    client = EcsClient(sdk_config(own_emulator))
    (instance_id,) = run(client)
    wait_for(client, [instance_id], "Running")
    image_id = _create_image(client, instance_id)
    own_emulator.restart()
    client = EcsClient(sdk_config(own_emulator))
    assert _wait_image(client, image_id)[-1] == ("Available", "100%")
    assert _image(client, image_id).image_name == "golden"


def test_changing_a_custom_image_leaves_the_system_image_it_came_from_alone(emulator, ecs_client):
    (instance_id,) = run(ecs_client, image_id="ubuntu_22_04_x64_20G_alibase_20240812.vhd")
    wait_for(ecs_client, [instance_id], "Running")
    image_id = _create_image(ecs_client, instance_id)
    _wait_image(ecs_client, image_id)
    ecs_client.modify_image_attribute(ecs_models.ModifyImageAttributeRequest(
        region_id=REGION, image_id=image_id, features=ecs_models.ModifyImageAttributeRequestFeatures(
            nvme_support="unsupported")))
    assert _image(ecs_client, image_id).features.nvme_support == "unsupported"
    system = _image(ecs_client, "ubuntu_22_04_x64_20G_alibase_20240812.vhd")
    assert system.features.nvme_support == "supported"


def test_custom_images_are_per_account_and_region(emulator, ecs_client, make_ecs_client):
    (instance_id,) = run(ecs_client)
    wait_for(ecs_client, [instance_id], "Running")
    image_id = _create_image(ecs_client, instance_id)
    _wait_image(ecs_client, image_id)
    assert _images(ecs_client, region="cn-shanghai", image_owner_alias="self").total_count == 0
    emulator.admin("POST", "keys", {"access_key_id": "LTAI5tOtherAccount", "access_key_secret": "other-secret",
                                    "account": "1688000000000002"})
    other = make_ecs_client(access_key_id="LTAI5tOtherAccount", access_key_secret="other-secret")
    assert _images(other, image_owner_alias="self").total_count == 0
    assert _images(other).total_count == 16                  # the system images, all the same
    assert _error(lambda: other.modify_image_attribute(ecs_models.ModifyImageAttributeRequest(
        region_id=REGION, image_id=image_id, image_name="mine"))).code == "InvalidImageId.NotFound"
