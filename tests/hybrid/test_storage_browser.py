"""The storage's main path in Chromium (Playwright), on a real web server with a real Celery worker,
both pointed at the emulator: make an OSS bucket from the console, page through its objects, then
upload a local qcow2 image through it from the ECS image form and follow the job live until the
custom image is Available. The emulator's state is checked after each step; no page logs a
JavaScript error, every input has a label. Skipped without Chromium or Playwright."""
import hashlib
import os
import re

import oss2

from apps.core.testing import client_for, make_account
from apps.hybrid.models import AlibabaAccessKey, AlibabaDataCenter
from apps.storage.models import BackupStorage, Image, ImageBackupStorageRef
from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET
from tests.hybrid.conftest import ACCOUNT
from tests.hybrid.test_browser import hybrid_portal  # noqa: F401  (web server + worker at the emulator)
from tests.ui.browsing import Browsing
from tests.ui.test_browser import chromium  # noqa: F401  (the module's one browser)
from tests.ui.test_journey import UUID, choose

PART = 100 << 10


def local_qcow2(tmp_path, account):
    data = b"QFI\xfb\x00\x00\x00\x03" + os.urandom(3 * PART)
    sha = hashlib.sha256(data).hexdigest()
    storage = BackupStorage.objects.create(name="bs", url=str(tmp_path / "bs"))
    storage.blob_path(sha).parent.mkdir(parents=True)
    storage.blob_path(sha).write_bytes(data)
    image = Image.objects.create(name="golden-qcow2", status="Ready", format="qcow2", size=10 << 30,
                                 actual_size=len(data), sha256=sha, account=account)
    ImageBackupStorageRef.objects.create(image=image, backup_storage=storage, install_path=str(storage.blob_path(sha)))
    return image


def test_a_bucket_and_an_image_uploaded_through_it_from_the_console(chromium, hybrid_portal, cloud,  # noqa: F811
                                                                     tmp_path):
    user = make_account("storage-admin", admin=True)
    key = AlibabaAccessKey.objects.create(name="demo", account=user.account, access_key_id=DEMO_KEY_ID,
                                          access_key_secret=DEMO_KEY_SECRET, is_default=True)
    AlibabaDataCenter.objects.create(name="hangzhou", account=user.account, access_key=key, region_id="cn-hangzhou")
    local_qcow2(tmp_path, user.account)
    assert client_for(user).patch("/api/v1/global-configs/hybrid/oss.partSize/", {"value": PART},
                                  format="json").status_code == 200
    tab = Browsing(chromium, hybrid_portal, user)
    try:
        page = tab.goto("/ui/oss-buckets/")
        tab.click_to("#create", "**/ui/oss-buckets/new/")
        page.fill("#f-bucket_name", "console-uploads")
        choose(page, "#f-data_center_uuid", "hangzhou")
        tab.click_to("#save", re.compile(rf".*/ui/oss-buckets/{UUID}/$"))
        tab.until("document.querySelector('#fields').textContent.includes('Available')", what="the bucket made")
        record = cloud.state(ACCOUNT)["accounts"][ACCOUNT]["global"]["buckets"]["console-uploads"]
        assert record["Region"] == "cn-hangzhou"

        oss2.Bucket(oss2.AuthV4(DEMO_KEY_ID, DEMO_KEY_SECRET), cloud.url, "console-uploads",
                    region="cn-hangzhou").put_object("readme.txt", b"hello")
        tab.click_to("#bucket-objects", "**/objects/")
        assert "readme.txt" in page.text_content("#objects")

        page = tab.goto("/ui/ecs-images/new/")
        page.fill("#f-name", "golden-from-portal")
        choose(page, "#f-local_image_uuid", "golden-qcow2")
        choose(page, "#f-oss_bucket_uuid", "console-uploads")
        page.fill("#f-platform", "CentOS")
        tab.click_to("#save", re.compile(rf".*/ui/jobs/{UUID}/$"))   # the upload's job, followed live
        tab.until("document.querySelector('#fields').textContent.includes('succeeded')", what="the image made")
        [image] = cloud.table("images").values()
        assert image["ImageName"] == "golden-from-portal" and image["Status"] == "Available"

        page = tab.goto("/ui/ecs-images/?q=owner_alias%3Dself")
        assert image["ImageId"] in page.text_content("#rows")
        assert tab.errors == [] and tab.unlabelled == []
    finally:
        tab.close()

