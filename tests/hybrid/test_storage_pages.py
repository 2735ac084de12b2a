"""The storage console pages through Django's client (answered by the API in-process): buckets
with their objects, images and the upload form, disks with their action forms; tenancy."""
import pytest

from apps.core.testing import make_account
from tests.hybrid.test_storage_buckets import sdk_bucket
from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET
from tests.ui.pages import browser, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(hybrid):
    user = make_account("storage-pages")
    page = browser(user)
    page.post("/ui/alibaba-access-keys/new/", {"name": "demo", "access_key_id": DEMO_KEY_ID,
                                               "access_key_secret": DEMO_KEY_SECRET})
    return page


def test_a_bucket_is_created_and_its_objects_listed_from_the_console(hybrid, page):
    with hybrid.capture(execute=True):
        page.post("/ui/alibaba-data-centers/new/", {"region_id": "cn-hangzhou", "time_zone": "Asia/Shanghai"})
    center = page.get("/api/v1/alibaba-data-centers/").json()["results"][0]
    with hybrid.capture(execute=True):
        made = page.post("/ui/oss-buckets/new/", {"bucket_name": "console-bucket", "data_center_uuid": center["uuid"],
                                                  "acl": "private", "storage_class": "Standard",
                                                  "data_redundancy_type": "LRS"}, follow=True)
    assert made.status_code == 200, text(made)
    bucket = page.get("/api/v1/oss-buckets/").json()["results"][0]
    assert bucket["state"] == "Available"
    sdk_bucket(hybrid, "console-bucket").put_object("hello.txt", b"hello")
    detail = page.get(f"/ui/oss-buckets/{bucket['uuid']}/")
    assert detail.status_code == 200 and "console-bucket" in text(detail) and "Delete here" in text(detail)
    assert "Unfinished multipart uploads" in text(detail)   # the panel of what it holds, asked now
    objects = page.get(f"/ui/oss-buckets/{bucket['uuid']}/objects/")
    assert objects.status_code == 200 and "hello.txt" in text(objects)
    listing = page.get("/ui/oss-buckets/")
    assert "console-bucket" in text(listing)
    other = browser(make_account("storage-pages-other"))
    assert "console-bucket" not in text(other.get("/ui/oss-buckets/"))
    assert other.get(f"/ui/oss-buckets/{bucket['uuid']}/objects/").status_code == 404


def test_image_and_disk_pages_and_their_forms(hybrid, page):
    with hybrid.capture(execute=True):
        page.post("/ui/alibaba-data-centers/new/", {"region_id": "cn-hangzhou"})
    assert "aliyun_3_x64_20G_alibase_20240819.vhd" in text(page.get("/ui/ecs-images/?limit=100"))
    assert page.get("/ui/ecs-images/new/").status_code == 200
    assert page.get("/ui/ecs-disks/new/").status_code == 200
    assert page.get("/ui/ecs-disks/").status_code == 200


def test_a_disks_page_offers_its_actions_and_the_attach_form_picks_an_instance(hybrid, page):
    with hybrid.capture(execute=True):
        page.post("/ui/alibaba-data-centers/new/", {"region_id": "cn-hangzhou"})
    zone = page.get("/api/v1/alibaba-identity-zones/", {"q": "zone_id=cn-hangzhou-h"}).json()["results"][0]
    with hybrid.capture(execute=True):
        made = page.post("/ui/ecs-disks/new/", {"name": "console-disk", "identity_zone_uuid": zone["uuid"],
                                                "size": str(20 << 30), "category": "cloud_essd",
                                                "disk_charge_type": "PostPaid"}, follow=True)
    assert made.status_code == 200, text(made)
    disk = page.get("/api/v1/ecs-disks/").json()["results"][0]
    assert disk["state"] == "Available" and disk["size"] == 20 << 30
    detail = text(page.get(f"/ui/ecs-disks/{disk['uuid']}/"))
    assert "Attach" in detail and "Delete in the cloud" in detail and "Delete here" in detail
    attach = page.get(f"/ui/ecs-disks/{disk['uuid']}/attach/")
    assert attach.status_code == 200 and "ECS instance" in text(attach)
