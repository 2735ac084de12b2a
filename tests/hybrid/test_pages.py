"""The hybrid console pages through Django's client (the browser test is test_browser.py): each
answered by the API in-process, its tenancy and its messages."""
import pytest

from apps.core.testing import make_account
from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET
from tests.ui.pages import browser, field_errors, text

pytestmark = pytest.mark.django_db


def test_the_access_key_form_checks_the_key_with_the_cloud_and_never_shows_the_secret(cloud):
    user = make_account("keys-page")
    page = browser(user)
    assert page.get("/ui/alibaba-access-keys/new/").status_code == 200
    refused = page.post("/ui/alibaba-access-keys/new/", {"name": "bad", "access_key_id": DEMO_KEY_ID,
                                                          "access_key_secret": "wrong"})
    assert refused.status_code == 400 and "SignatureDoesNotMatch" in text(refused)
    created = page.post("/ui/alibaba-access-keys/new/", {"name": "demo", "access_key_id": DEMO_KEY_ID,
                                                          "access_key_secret": DEMO_KEY_SECRET}, follow=True)
    assert created.status_code == 200 and DEMO_KEY_ID in text(created)
    assert DEMO_KEY_SECRET not in text(created)
    listing = page.get("/ui/alibaba-access-keys/")
    assert DEMO_KEY_ID in text(listing) and DEMO_KEY_SECRET not in text(listing)
    other = browser(make_account("keys-page-other")).get("/ui/alibaba-access-keys/")
    assert DEMO_KEY_ID not in text(other)


def test_a_data_center_form_names_a_bad_time_zone(cloud):
    user = make_account("dc-page")
    page = browser(user)
    page.post("/ui/alibaba-access-keys/new/", {"name": "demo", "access_key_id": DEMO_KEY_ID,
                                               "access_key_secret": DEMO_KEY_SECRET})
    answer = page.post("/ui/alibaba-data-centers/new/", {"region_id": "cn-hangzhou", "time_zone": "Mars/Olympus"})
    assert answer.status_code == 400 and field_errors(answer, "time_zone")


def test_the_clouds_times_are_shown_in_the_sites_time_zone():
    from datetime import datetime, timezone

    from apps.hybrid.models import AlibabaAccessKey, AlibabaDataCenter, EcsInstance

    user = make_account("tz-page")
    key = AlibabaAccessKey.objects.create(name="k", account=user.account, access_key_id="LTAI5tTz",
                                          access_key_secret="s")
    center = AlibabaDataCenter.objects.create(name="frankfurt", account=user.account, access_key=key,
                                              region_id="eu-central-1", time_zone="Europe/Berlin")
    instance = EcsInstance.objects.create(
        name="web", account=user.account, data_center=center, instance_id="i-tz", state="Running",
        instance_type="ecs.g7.large", remote_created_at=datetime(2026, 7, 1, 10, 0, tzinfo=timezone.utc))
    page = text(browser(user).get(f"/ui/ecs-instances/{instance.uuid}/"))
    assert "2026-07-01 12:00:00 CEST" in page and "Europe/Berlin" in page


def test_a_data_centres_sync_and_an_instances_actions_from_their_pages(hybrid):
    from apps.core.models import Job
    from apps.hybrid.models import AlibabaDataCenter, EcsInstance

    hybrid.add_key()
    center = AlibabaDataCenter.objects.get(uuid=hybrid.add_data_center()["uuid"])
    page = browser(make_account("pages-hybrid-admin", admin=True))
    detail = text(page.get(f"/ui/alibaba-data-centers/{center.uuid}/"))
    assert "Sync" in detail and "cn-hangzhou" in detail
    jobs = Job.objects.count()
    with hybrid.capture(execute=True):
        answer = page.post(f"/ui/alibaba-data-centers/{center.uuid}/sync/")
    assert answer.status_code == 302 and Job.objects.count() == jobs + 1
    assert Job.objects.latest("id").state == "succeeded"

    instance = EcsInstance.objects.create(name="web", account=center.account, data_center=center,
                                          instance_id="i-none", state="Stopped", instance_type="ecs.g7.large")
    detail = text(page.get(f"/ui/ecs-instances/{instance.uuid}/"))
    for label in ("Start", "Rename", "Change password", "Change billing", "Set VNC password", "Open VNC"):
        assert label in detail, label
    assert 'name="name"' in text(page.get(f"/ui/ecs-instances/{instance.uuid}/rename/"))
    refused = page.post(f"/ui/ecs-instances/{instance.uuid}/vnc/")   # a stopped instance has no VNC
    assert refused.status_code == 409 and "Stopped" in text(refused)


def test_a_keys_page_lists_the_clouds_regions_and_the_data_centres_made_of_them(hybrid):
    from apps.hybrid.models import AlibabaAccessKey

    key = hybrid.add_key()
    center = hybrid.add_data_center("eu-central-1")
    admin = AlibabaAccessKey.objects.get(uuid=key["uuid"]).account.users.first()
    page = text(browser(admin).get(f"/ui/alibaba-access-keys/{key['uuid']}/"))
    assert "cn-hangzhou" in page and "ap-southeast-1" in page and 'id="key-regions"' in page
    assert f"/ui/alibaba-data-centers/{center['uuid']}/" in page   # the one made of eu-central-1, linked
    add = f"/ui/alibaba-data-centers/new/?region_id=cn-shanghai&amp;access_key_uuid={key['uuid']}"
    assert add in page   # the others: a form filled with the region and this key
    form = text(browser(admin).get(add.replace("&amp;", "&")))
    assert 'value="cn-shanghai"' in form and f'value="{key["uuid"]}" selected' in form
    hybrid.emulator.admin("POST", "faults", {"product": "Ecs", "action": "DescribeRegions", "code": "InternalError",
                                             "http_status": 500})
    page = text(browser(admin).get(f"/ui/alibaba-access-keys/{key['uuid']}/"))
    assert "InternalError" in page   # the page still shows, with the cloud's word


def test_the_pages_speak_simplified_chinese(cloud):
    from django.conf import settings

    page = browser(make_account("zh-page"))
    page.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    answer = page.get("/ui/ecs-instances/")
    assert answer.status_code == 200 and "混合云" in text(answer) and "ECS 实例" in text(answer)
    assert "AccessKey Secret" in text(page.get("/ui/alibaba-access-keys/new/"))
