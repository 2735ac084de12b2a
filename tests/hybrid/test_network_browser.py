"""The network's main path in Chromium (Playwright), on a real web server with a real Celery worker
pointed at the emulator: with a key and a data centre, create a VPC, a vSwitch of it and a security
group from their forms, each job followed live to success; add an SSH rule from the group's page
and see it in its rules. The emulator's state is checked after each step; no page logs a JavaScript
error, every input has a label. Skipped without Chromium or Playwright."""
import re

from apps.core.testing import make_account
from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET
from tests.hybrid.test_browser import hybrid_portal  # noqa: F401  (web server and worker on the emulator)
from tests.ui.browsing import Browsing
from tests.ui.test_browser import chromium  # noqa: F401  (the module's one browser)
from tests.ui.test_journey import UUID, act, choose


def create(tab, basename, fill, choices):
    """From ``basename``'s list, its create form filled in; the job it starts followed to success."""
    page = tab.goto(f"/ui/{basename}/")
    tab.click_to("#create", f"**/ui/{basename}/new/")
    for name, option in choices.items():
        choose(page, f"#f-{name}", option)
    for name, value in fill.items():
        page.fill(f"#f-{name}", value)
    tab.click_to("#save", re.compile(rf".*/ui/jobs/{UUID}/$"))
    tab.until("document.querySelector('#fields').textContent.includes('succeeded')", what=f"the {basename} job")
    return page


def test_a_vpc_v_switch_and_security_group_with_a_rule_from_the_console(chromium, hybrid_portal, cloud):  # noqa: F811
    tab = Browsing(chromium, hybrid_portal, make_account("network-admin", admin=True))
    try:
        page = tab.goto("/ui/alibaba-access-keys/new/")
        page.fill("#f-name", "demo")
        page.fill("#f-access_key_id", DEMO_KEY_ID)
        page.fill("#f-access_key_secret", DEMO_KEY_SECRET)
        tab.click_to("#save", re.compile(rf".*/ui/alibaba-access-keys/{UUID}/$"))
        create(tab, "alibaba-data-centers", {"region_id": "cn-hangzhou"}, {"access_key_uuid": "demo"})

        create(tab, "alibaba-vpcs", {"name": "prod", "cidr_block": "10.0.0.0/16"}, {"data_center_uuid": "华东1"})
        [vpc] = cloud.table("vpcs").values()
        assert (vpc["VpcName"], vpc["Status"], vpc["CidrBlock"]) == ("prod", "Available", "10.0.0.0/16")

        create(tab, "alibaba-v-switches", {"name": "web", "cidr_block": "10.0.1.0/24"},
               {"vpc_uuid": "prod", "identity_zone_uuid": "cn-hangzhou-h"})
        [switch] = cloud.table("vswitches").values()
        assert (switch["VpcId"], switch["ZoneId"], switch["Status"]) == (vpc["VpcId"], "cn-hangzhou-h", "Available")

        create(tab, "alibaba-security-groups", {"name": "web-sg"}, {"vpc_uuid": "prod"})
        [group] = cloud.table("security_groups").values()
        page = tab.goto("/ui/alibaba-security-groups/")
        assert group["SecurityGroupId"] in page.text_content("#rows")
        uuid = page.get_attribute("#rows tbody tr[data-uuid]", "data-uuid")
        page = act(tab, "alibaba-security-groups", uuid, "Add a rule", selects={"ip_protocol": "TCP"},
                   values={"port_range": "22/22", "cidr_ip": "10.0.0.0/8"})
        tab.until("document.querySelector('#security-group-rules').textContent.includes('22/22')",
                  what="the rule shown")
        [rule] = cloud.table("security_groups")[group["SecurityGroupId"]]["Permissions"]["Permission"]
        assert (rule["PortRange"], rule["SourceCidrIp"]) == ("22/22", "10.0.0.0/8")

        assert tab.errors == [] and tab.unlabelled == []
    finally:
        tab.close()
