"""The delete confirmation shows the API's cascade dry run as a list a person reads: what goes with
the object, grouped by type with names, uuids and links; what blocks it, with the reason, and then
the delete button is off."""
import re

import pytest
from django.urls import reverse
from django.utils import translation

from apps.core.testing import client_for, make_account
from apps.infra.models import Cluster, Host, Zone
from apps.storage.models import BackupStorage, Image, ImageBackupStorageRef
from tests.ui.pages import browser

pytestmark = pytest.mark.django_db


def group(html, section, resource_type):
    """The names listed under ``resource_type`` in the plan's ``section`` (deletes or blockers)."""
    part = html[html.index(f'id="plan-{section}"'):]
    block = part[part.index(f'data-plan-type="{resource_type}"'):]
    block = block[:block.index("</ul>")]
    return re.findall(r'<a href="[^"]+">([^<]+)</a>', block)


def test_deleting_a_zone_lists_its_clusters_and_hosts_by_type_with_links():
    admin = make_account("plan-admin", admin=True)
    zone = Zone.objects.create(name="zone-a")
    c1 = Cluster.objects.create(name="cluster-1", zone=zone, hypervisor_type="Simulator")
    Cluster.objects.create(name="cluster-2", zone=zone, hypervisor_type="Simulator")
    host = Host.objects.create(name="host-1", cluster=c1, hypervisor_type="Simulator", management_ip="127.0.0.9")
    api = client_for(admin).delete(f"/api/v1/zones/{zone.uuid}/?dry_run=true").json()
    assert {ref["name"] for ref in api["deletes"]} == {"zone-a", "cluster-1", "cluster-2", "host-1"}

    page = browser(admin).get(f"/ui/zones/{zone.uuid}/delete/")
    html = page.content.decode()
    assert page.status_code == 200 and "pprint" not in html and "&#x27;deletes&#x27;" not in html
    assert sorted(group(html, "deletes", "Cluster")) == ["cluster-1", "cluster-2"]
    assert group(html, "deletes", "Host") == ["host-1"]
    assert f'href="/ui/hosts/{host.uuid}/"' in html and str(host.uuid) in html
    assert 'data-plan-type="Zone"' not in html   # the zone itself is named above, not "deleted with it"
    assert 'id="plan-blockers"' not in html and 'id="confirm" disabled' not in html


def test_what_blocks_a_delete_is_listed_with_its_reason_and_the_button_is_off():
    admin = make_account("plan-admin", admin=True)
    store = BackupStorage.objects.create(name="store-1", url="/tmp/h4-plan-store")
    image = Image.objects.create(name="image-1", account=admin.account)
    ImageBackupStorageRef.objects.create(image=image, backup_storage=store, install_path="/tmp/h4-plan-store/x")

    page = browser(admin).get(f"/ui/backup-storage/{store.uuid}/delete/")
    html = page.content.decode()
    assert group(html, "blockers", "Image") == ["image-1"]
    assert "delete it first" in html   # the API's reason
    assert 'id="confirm" disabled' in html
    assert "Nothing else: only this object is deleted." in html


def test_the_plan_reads_in_chinese():
    admin = make_account("plan-admin", admin=True)
    zone = Zone.objects.create(name="zone-b")
    client = browser(admin)
    client.cookies["django_language"] = "zh-hans"
    html = client.get(f"/ui/zones/{zone.uuid}/delete/").content.decode()
    assert "将一并删除" in html and "没有其他资源" in html


def test_a_row_reached_twice_is_listed_once_with_both_reasons_and_a_long_group_is_counted():
    from apps.core.ui.apicall import Answer
    from apps.core.ui.plan import SHOWN_PER_TYPE, readable

    reverse("console:dashboard")   # the URLconf loaded, as for any request: every app's pages declared
    volume = {"resource_type": "Volume", "uuid": "5d2c7a52-0000-4000-8000-000000000001", "name": "ROOT-web-1"}
    clusters = [{"resource_type": "Cluster", "uuid": f"5d2c7a52-0000-4000-8000-1000000000{i:02}", "name": f"c{i}"}
                for i in range(SHOWN_PER_TYPE + 3)]
    with translation.override("en"):
        plan = readable(Answer(200, {
            "deletes": clusters + [{"resource_type": "Zone", "uuid": "z", "name": "zone"}],
            "blockers": [{**volume, "reason": "Volume belongs to Host h1; delete it first"},
                         {**volume, "reason": "Volume belongs to PrimaryStorage ps1; delete it first"}],
            "can_delete": False}), "z")
    [volumes] = plan.blockers
    assert [row.name for row in volumes.rows] == ["ROOT-web-1"]
    assert volumes.rows[0].reasons == ["Volume belongs to Host h1; delete it first",
                                       "Volume belongs to PrimaryStorage ps1; delete it first"]
    [listed] = plan.deletes
    assert listed.label == "Clusters" and len(listed.shown) == SHOWN_PER_TYPE and listed.more == 3
    assert listed.rows[0].url == f"/ui/clusters/{clusters[0]['uuid']}/"
    assert not plan.can_delete
