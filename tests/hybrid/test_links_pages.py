"""The Express Connect and VPN console pages through Django's client: lists, the VBR's "Link to a
VPC" form, the customer gateway form (its job run), the VPN quick create form, tenancy."""
import pytest

from apps.core.testing import make_account
from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET
from tests.ui.pages import browser, field_errors, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(cloud, django_capture_on_commit_callbacks):
    """A browser of an account with the demo key and cn-hangzhou synced (its VBRs with it)."""
    page = browser(make_account("links-pages"))
    page.post("/ui/alibaba-access-keys/new/", {"name": "demo", "access_key_id": DEMO_KEY_ID,
                                               "access_key_secret": DEMO_KEY_SECRET})
    with django_capture_on_commit_callbacks(execute=True):
        page.post("/ui/alibaba-data-centers/new/", {"region_id": "cn-hangzhou", "time_zone": "Asia/Shanghai"})
    page.capture = django_capture_on_commit_callbacks
    return page


def test_the_lists_show_what_the_sync_found(page, cloud):
    vbr_id = min(cloud.table("vbrs"))
    listing = page.get("/ui/virtual-border-routers/")
    assert listing.status_code == 200 and vbr_id in text(listing)
    assert 'id="create"' not in listing.content.decode()   # no VBR is made here
    for url in ("/ui/router-interfaces/", "/ui/vpn-gateways/", "/ui/customer-gateways/", "/ui/vpn-connections/"):
        assert page.get(url).status_code == 200, url
    assert vbr_id not in text(browser(make_account("links-pages-other")).get("/ui/virtual-border-routers/"))


def test_the_link_form_asks_for_the_vpc_and_the_data_centres_cidr(page, cloud):
    from apps.hybrid.models import VirtualBorderRouter

    vbr = VirtualBorderRouter.objects.order_by("vbr_id").first()
    form = page.get(f"/ui/virtual-border-routers/{vbr.uuid}/link-vpc/")
    assert form.status_code == 200
    html = form.content.decode()
    assert 'name="vpc_uuid"' in html and 'name="vpc_id"' not in html and 'name="idc_cidr"' in html
    refused = page.post(f"/ui/virtual-border-routers/{vbr.uuid}/link-vpc/", {"idc_cidr": "x"})
    assert refused.status_code == 400 and field_errors(refused, "idc_cidr")


def test_a_customer_gateway_made_from_its_form(page, cloud):
    with page.capture(execute=True):
        made = page.post("/ui/customer-gateways/new/", {
            "name": "idc", "data_center_uuid": _data_center_uuid(), "ip_address": "203.0.113.8",
            "auth_key": "bgp-key-page"}, follow=True)
    assert made.status_code == 200
    [record] = cloud.table("customer_gateways").values()
    assert record["IpAddress"] == "203.0.113.8"
    listing = page.get("/ui/customer-gateways/")
    assert record["CustomerGatewayId"] in text(listing) and "bgp-key-page" not in listing.content.decode()


def test_the_vpn_quick_create_form(page):
    listing = page.get("/ui/vpn-connections/")
    assert 'id="quick-create"' in listing.content.decode()
    form = page.get("/ui/vpn-connections/quick-create/")
    assert form.status_code == 200
    for name in ("vpc_id", "customer_gateway_ip", "ike_enc_alg", "ipsec_pfs", "psk"):
        assert f'name="{name}"' in form.content.decode(), name
    refused = page.post("/ui/vpn-connections/quick-create/", {
        "name": "b", "data_center_uuid": _data_center_uuid(), "vpc_id": "vpc-a1", "customer_gateway_ip": "nope",
        "local_subnet": "10.0.0.0/8", "remote_subnet": "192.168.0.0/16", "ike_enc_alg": "rot13"})
    assert refused.status_code == 400
    assert field_errors(refused, "customer_gateway_ip") and field_errors(refused, "ike_enc_alg")


def _data_center_uuid():
    from apps.hybrid.models import AlibabaDataCenter

    return str(AlibabaDataCenter.objects.get().uuid)


def test_the_clouds_times_are_shown_in_the_sites_time_zone(page, cloud):
    from datetime import datetime, timezone

    from apps.hybrid.models import VirtualBorderRouter

    vbr = VirtualBorderRouter.objects.order_by("vbr_id").first()
    VirtualBorderRouter.objects.filter(pk=vbr.pk).update(
        remote_created_at=datetime(2026, 7, 1, 10, 0, tzinfo=timezone.utc))
    shown = text(page.get(f"/ui/virtual-border-routers/{vbr.uuid}/"))
    assert "2026-07-01 18:00:00 CST" in shown and "Asia/Shanghai" in shown
