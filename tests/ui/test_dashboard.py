"""The dashboard's capacity per zone and per cluster (CPU, memory, primary storage) and its
Disconnected hosts: the figures are the API's own (a host's over-provisioning ratio, its own or
its cluster's, counted as the API counts it), shown to whoever the API shows them to."""
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.core.models import ResourceConfig
from apps.core.testing import client_for, make_account
from apps.infra.models import Cluster, Host, HostStatus, Zone
from apps.storage.models import LocalStorageHostRef, PrimaryStorage
from tests.ui.pages import browser

pytestmark = pytest.mark.django_db

GiB = 1 << 30
CPU_RATIO = {"category": "host", "name": "cpu.overProvisioning.ratio"}


def host(name, cluster, status=HostStatus.CONNECTED, **figures):
    return Host.objects.create(name=name, cluster=cluster, hypervisor_type="Simulator", status=status,
                               management_ip=f"192.0.2.{Host.objects.count() + 1}", **figures)


@pytest.fixture
def cloud(db):
    """Zone a: cluster a1 (two hosts, the default ratios: 10 vCPUs a CPU, memory 1:1), cluster a2
    (a host with a CPU ratio of its own, 2); zone b: cluster b1 with a ratio of 4; zone c: empty.
    A local primary storage in zone a on a1's hosts."""
    a, b = Zone.objects.create(name="zone-a"), Zone.objects.create(name="zone-b")
    Zone.objects.create(name="zone-c")
    a1, a2 = Cluster.objects.create(name="a1", zone=a), Cluster.objects.create(name="a2", zone=a)
    b1 = Cluster.objects.create(name="b1", zone=b)
    h1 = host("h1", a1, cpu_num=4, used_cpu=6, reserved_cpu=2, memory_size=8 * GiB, used_memory=2 * GiB,
              reserved_memory=GiB)
    h2 = host("h2", a1, status=HostStatus.DISCONNECTED, cpu_num=8, memory_size=16 * GiB,
              last_ping_at=timezone.now() - timedelta(minutes=5))
    h3 = host("h3", a2, cpu_num=2, used_cpu=1, memory_size=4 * GiB)
    host("h4", b1, cpu_num=4, used_cpu=4, memory_size=4 * GiB, used_memory=4 * GiB)
    ResourceConfig.objects.create(**CPU_RATIO, resource_type="Host", resource_uuid=h3.uuid, value=2.0)
    ResourceConfig.objects.create(**CPU_RATIO, resource_type="Cluster", resource_uuid=b1.uuid, value=4.0)
    storage = PrimaryStorage.objects.create(name="ps", url="/var/ps", zone=a)
    storage.clusters.add(a1)
    LocalStorageHostRef.objects.create(primary_storage=storage, host=h1, total_capacity=100 * GiB,
                                       used_capacity=30 * GiB)
    LocalStorageHostRef.objects.create(primary_storage=storage, host=h2, total_capacity=100 * GiB,
                                       used_capacity=10 * GiB)
    return {"zones": (a, b), "clusters": (a1, a2, b1), "disconnected": h2, "storage": storage}


def figures(page, table, uuid):
    """``{figure: text}`` of the row of ``uuid`` in the dashboard's table ``table``."""
    row = re.search(rf'<table[^>]*id="{table}".*?<tr data-capacity="{uuid}">(.*?)</tr>', page, re.S).group(1)
    return {name: " ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for name, cell in re.findall(r'<td data-figure="(\w+)">(.*?)</td>', row, re.S)}


def by_uuid(rows):
    return {str(item.uuid): capacity for item, capacity in rows}


def test_capacity_per_cluster_and_zone_counts_each_hosts_ratio_as_the_api_does(cloud):
    admin = make_account("dash-admin", admin=True)
    response = browser(admin).get("/ui/")
    clusters = by_uuid(response.context["capacity"]["clusters"])
    zones = by_uuid(response.context["capacity"]["zones"])
    a1, a2, b1 = (str(c.uuid) for c in cloud["clusters"])
    a, b = (str(z.uuid) for z in cloud["zones"])
    # what the API says of each host, summed by cluster: total and what is no longer available
    api_hosts = client_for(admin).get("/api/v1/hosts/", {"limit": 100}).json()["results"]
    for cluster in (a1, a2, b1):
        mine = [h for h in api_hosts if h["cluster_uuid"] == cluster]
        cpu, memory = clusters[cluster].cpu, clusters[cluster].memory
        assert (cpu.total, cpu.used) == (sum(h["total_cpu"] for h in mine),
                                         sum(h["total_cpu"] - h["available_cpu"] for h in mine))
        assert (memory.total, memory.used) == (sum(h["total_memory"] for h in mine),
                                               sum(h["total_memory"] - h["available_memory"] for h in mine))
    assert (clusters[a1].cpu.used, clusters[a1].cpu.total) == (8, 120)    # (4 + 8) CPUs x 10, 6 used + 2 reserved
    assert (clusters[a2].cpu.used, clusters[a2].cpu.total) == (1, 4)      # the host's own ratio, 2
    assert (clusters[b1].cpu.used, clusters[b1].cpu.total) == (4, 16)     # the cluster's ratio, 4
    assert (clusters[a1].hosts, clusters[a1].connected) == (2, 1)
    assert (zones[a].cpu.used, zones[a].cpu.total) == (9, 124)
    assert (zones[a].memory.used, zones[a].memory.total) == (3 * GiB, 28 * GiB)
    assert (zones[b].memory.used, zones[b].memory.total) == (4 * GiB, 4 * GiB)
    # primary storage: the API's total and available of the storage, and its share per cluster
    api_storage = client_for(admin).get(f"/api/v1/primary-storage/{cloud['storage'].uuid}/").json()
    assert (zones[a].storage.total, zones[a].storage.total - zones[a].storage.used) == (
        api_storage["total_capacity"], api_storage["available_capacity"])
    assert (clusters[a1].storage.used, clusters[a1].storage.total) == (40 * GiB, 200 * GiB)
    assert zones[b].storage.total == 0 and clusters[b1].storage.total == 0

    page = response.content.decode()
    assert figures(page, "zone-capacity", a) == {"hosts": "2 / 3", "cpu": "9 / 124 7%",
                                                  "memory": "3 GiB / 28 GiB 11%", "storage": "40 GiB / 200 GiB 20%"}
    assert figures(page, "cluster-capacity", b1) == {"hosts": "1 / 1", "cpu": "4 / 16 25%",
                                                      "memory": "4 GiB / 4 GiB 100%", "storage": "0 B / 0 B 0%"}
    assert "zone-c" in page   # a zone without hosts is listed, with nothing to count


def test_disconnected_hosts_are_listed_and_their_address_only_for_an_admin(cloud):
    h2 = cloud["disconnected"]
    admin_page = browser(make_account("dash-admin", admin=True)).get("/ui/")
    assert [h.uuid for h in admin_page.context["disconnected"]] == [h2.uuid]
    assert admin_page.context["disconnected_count"] == 1
    listed = re.search(r'id="disconnected-hosts".*?</table>', admin_page.content.decode(), re.S).group(0)
    assert f'data-host="{h2.uuid}"' in listed and "h2" in listed and "a1" in listed and "zone-a" in listed
    assert h2.management_ip in listed and 'data-host="' + str(Host.objects.get(name="h1").uuid) not in listed

    tenant = make_account("dash-tenant")
    assert "management_ip" not in client_for(tenant).get(f"/api/v1/hosts/{h2.uuid}/").json()
    tenant_page = browser(tenant).get("/ui/")
    listed = re.search(r'id="disconnected-hosts".*?</table>', tenant_page.content.decode(), re.S).group(0)
    assert f'data-host="{h2.uuid}"' in listed and h2.management_ip not in listed
    # the API shows hosts' and primary storage's figures to every account: so does the dashboard
    api_host = client_for(tenant).get(f"/api/v1/hosts/{h2.uuid}/").json()
    assert "total_cpu" in api_host and "available_memory" in api_host
    assert tenant_page.context["capacity"]["hosts"] and tenant_page.context["capacity"]["storage"]
    a = str(cloud["zones"][0].uuid)
    assert figures(tenant_page.content.decode(), "zone-capacity", a)["cpu"] == "9 / 124 7%"


def test_a_figure_the_api_keeps_for_admins_is_not_on_a_normal_accounts_dashboard(cloud, monkeypatch):
    from apps.storage.serializers import PrimaryStorageSerializer

    # what AdminOnlyFieldsMixin makes of Meta.admin_only_fields = ["url", "total_capacity"]
    monkeypatch.setattr(PrimaryStorageSerializer, "_admin_only", frozenset({"url", "total_capacity"}))
    tenant = make_account("dash-tenant")
    assert "total_capacity" not in client_for(tenant).get(f"/api/v1/primary-storage/{cloud['storage'].uuid}/").json()
    tenant_page = browser(tenant).get("/ui/")
    assert not tenant_page.context["capacity"]["storage"] and tenant_page.context["capacity"]["hosts"]
    assert 'data-figure="storage"' not in tenant_page.content.decode()
    admin_page = browser(make_account("dash-admin", admin=True)).get("/ui/")
    assert 'data-figure="storage"' in admin_page.content.decode()


def test_an_empty_portal_shows_no_capacity_and_no_disconnected_host(db):
    page = browser(make_account("dash-admin", admin=True)).get("/ui/")
    assert page.status_code == 200
    assert page.context["capacity"]["zones"] == [] and page.context["disconnected_count"] == 0


def test_the_dashboard_and_the_task_panel_speak_chinese(cloud):
    client = browser(make_account("dash-admin", admin=True))
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/ui/"})
    page = client.get("/ui/").content.decode()
    for words in ("按区域的容量", "按集群的容量", "已用 CPU", "已断开的物理机", "管理 IP", "任务", "暂无任务。"):
        assert words in page, words


def test_the_figures_come_alone_from_the_live_endpoint_the_page_fetches_again(cloud):
    admin = browser(make_account("dash-admin", admin=True))
    live = admin.get("/ui/live/")
    page = live.content.decode()
    assert live.status_code == 200 and "<html" not in page and 'id="dashboard-live"' in page
    assert 'id="counts"' in page and 'data-count="Hosts"' in page
    assert figures(page, "zone-capacity", cloud["zones"][0].uuid) == figures(admin.get("/ui/").content.decode(),
                                                                             "zone-capacity", cloud["zones"][0].uuid)
    assert re.findall(r'<tr data-host="([^"]+)"', page) == [str(cloud["disconnected"].uuid)]
    followed = re.search(r'data-live-follow="([^"]*)"', page).group(1).split()
    assert sorted(followed) == sorted(str(uuid) for uuid in Host.objects.values_list("uuid", flat=True))
    assert "data-live-jobs" in page   # an account's job ending fetches it again
    assert browser(make_account("dash-tenant")).get("/ui/live/").status_code == 200
    assert Client().get("/ui/live/").status_code == 302   # the login first

