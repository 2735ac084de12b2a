"""Express Connect and VPN in Chromium (Playwright), on a real web server with a real Celery worker,
both pointed at the emulator: link a synced VBR to a VPC from its page and see both router
interfaces Active, then run the VPN quick create from its form and follow its job. The emulator's
state is checked after each; no page logs a JavaScript error, every input has a label. Skipped
without Chromium or Playwright."""
import re

from apps.core.testing import client_for, make_account
from apps.hybrid.models import AlibabaVpc, VirtualBorderRouter
from tests.emulator.conftest import make_vpc_client, vpc_client  # noqa: F401
from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET
from tests.emulator.vpc_fixtures import make_vpc
from tests.hybrid.test_browser import hybrid_portal  # noqa: F401
from tests.ui.browsing import Browsing
from tests.ui.test_browser import chromium  # noqa: F401  (the module's one browser)
from tests.ui.test_journey import UUID, act, choose, rows_showing


def test_link_a_vbr_and_quick_create_a_vpn_from_the_console(chromium, hybrid_portal, cloud, vpc_client):  # noqa: F811
    user = make_account("links-admin", admin=True)
    api = client_for(user)   # the key and the data centre through the API (its sync runs in-process)
    assert api.post("/api/v1/alibaba-access-keys/", {"name": "demo", "access_key_id": DEMO_KEY_ID,
                                                     "access_key_secret": DEMO_KEY_SECRET},
                    format="json").status_code == 201
    network = make_vpc(vpc_client, cidr="10.30.0.0/16")   # before the data centre: its sync finds it
    assert api.post("/api/v1/alibaba-data-centers/", {"region_id": "cn-hangzhou"},
                    format="json").status_code == 202
    vbr = VirtualBorderRouter.objects.select_related("data_center").order_by("vbr_id").first()
    tab = Browsing(chromium, hybrid_portal, user)
    try:
        page = tab.goto("/ui/virtual-border-routers/")
        assert vbr.vbr_id in page.text_content("#rows")
        act(tab, "virtual-border-routers", vbr.uuid, "Link to a VPC",
            selects={"vpc_uuid": str(AlibabaVpc.objects.get(vpc_id=network.vpc_id).uuid)},
            values={"idc_cidr": "192.168.10.0/24"})
        page = tab.goto("/ui/router-interfaces/")
        tab.until(rows_showing("Active", 2), what="both ends of the link Active")
        interfaces = cloud.table("router_interfaces")
        assert sorted(i["Status"] for i in interfaces.values()) == ["Active", "Active"]
        routes = {(e["DestinationCidrBlock"], e["RouteTableId"]) for e in cloud.table("route_entries").values()
                  if e["Type"] == "Custom"}
        assert routes == {("192.168.10.0/24", network.route_table_id), ("10.30.0.0/16", vbr.route_table_id)}

        page = tab.goto("/ui/vpn-connections/")
        tab.click_to("#quick-create", "**/ui/vpn-connections/quick-create/")
        page.fill("#f-name", "branch")
        choose(page, "#f-data_center_uuid", str(vbr.data_center.uuid))
        page.fill("#f-vpc_id", network.vpc_id)
        page.fill("#f-customer_gateway_ip", "198.51.100.30")
        page.fill("#f-local_subnet", "10.30.0.0/16")
        page.fill("#f-remote_subnet", "192.168.10.0/24")
        page.fill("#f-psk", "browser-psk-1")
        choose(page, "#f-ike_version", "ikev2")
        tab.click_to("#save", re.compile(rf".*/ui/jobs/{UUID}/$"))
        tab.until("document.querySelector('#fields').textContent.includes('succeeded')", what="the quick create")
        [connection] = cloud.table("vpn_connections").values()
        assert connection["IkeConfig"]["IkeVersion"] == "ikev2" and connection["IkeConfig"]["Psk"] == "browser-psk-1"
        assert "browser-psk-1" not in page.content()
        page = tab.goto("/ui/vpn-connections/")
        assert connection["VpnConnectionId"] in page.text_content("#rows")

        assert tab.errors == [] and tab.unlabelled == []
    finally:
        tab.close()
