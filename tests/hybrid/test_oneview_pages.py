"""One view (H12) in the console: the VM list marks a cloud VM (its hypervisor badge and zone),
its page offers only the actions the cloud has (no pause, no local console), and the create
wizard offers the identity zones and creates there through the API."""
import re

import pytest

from apps.compute.models import VmInstance
from apps.core.models import Job
from tests.hybrid.test_oneview_create import placed  # noqa: F401 - the fixture
from tests.ui.pages import browser, text

pytestmark = pytest.mark.django_db


def form(env, **extra):
    return {"name": "vm", "description": "", "count": "1", "start": ["false", "true"],
            "instance_offering_uuid": env.offering["uuid"], "image_uuid": env.image,
            "l3_network_uuids": [env.l3["uuid"]], **extra}


def test_the_wizard_creates_in_a_zone_and_the_list_and_page_mark_the_cloud_vm(hybrid, placed, admin_user):  # noqa: F811
    env, zone = placed["env"], placed["zone"]
    page = browser(admin_user)
    wizard = text(page.get("/ui/vm-instances/new/"))
    assert 'name="identity_zone_uuid"' in wizard and zone["uuid"] in wizard and "cn-hangzhou-h" in wizard

    with hybrid.capture(execute=True):
        made = page.post("/ui/vm-instances/new/", form(env, name="there", identity_zone_uuid=zone["uuid"]))
    vm = VmInstance.objects.get(name="there")
    assert made.status_code == 302, text(made)
    job = Job.objects.get(uuid=made.headers["Location"].split("/")[-2])
    assert job.flow == "create-ecs-instance" and job.state == "succeeded"
    [record] = hybrid.instances().values()
    assert record["InstanceName"] == "there" and record["InstanceType"] == "ecs.g7.large"

    listing = text(page.get("/ui/vm-instances/", {"q": "hypervisor_type=AlibabaCloud"}))
    assert ">there<" in listing and re.search(r'badge bg-orange-lt"[^>]*>AlibabaCloud<', listing)
    assert "cn-hangzhou-h" in listing

    detail = text(page.get(f"/ui/vm-instances/{vm.uuid}/"))
    assert "cn-hangzhou-h" in detail and 'id="open-console"' not in detail
    assert "/pause/" not in detail and "/stop/" in detail


def test_the_mapping_pages_list_what_was_mapped(hybrid, placed, admin_user):  # noqa: F811
    page = browser(admin_user)
    images = text(page.get("/ui/ecs-image-mappings/"))
    assert "aliyun_3_x64_20G_alibase_20240819.vhd" in images
    assert "ecs.g7.large" in text(page.get("/ui/ecs-offering-mappings/"))
    networks = page.get("/ui/ecs-network-mappings/")
    assert networks.status_code == 200 and (placed["network"].get("v_switch_id", "") in text(networks))
    assert page.get("/ui/ecs-offering-mappings/new/").status_code == 200
