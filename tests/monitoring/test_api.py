"""The metrics API over the built-in store: series of one and several resources, top-N filtered
by the query language and by tenancy, and every bad argument refused with a 400 in the one shape."""
import time

import pytest

from apps.compute.models import VmInstance
from apps.core.testing import make_account
from apps.monitoring.models import MetricPoint

GIB = 1 << 30


@pytest.fixture
def vms(db, tenant_user):
    other = make_account("tenant-b")
    mine = [VmInstance.objects.create(name=f"mine-{i}", account=tenant_user.account, cpu_num=1, memory_size=GIB)
            for i in range(3)]
    theirs = [VmInstance.objects.create(name=f"theirs-{i}", account=other.account, cpu_num=1, memory_size=GIB)
              for i in range(2)]
    now = int(time.time()) // 10 * 10
    cpu = {mine[0]: 10.0, mine[1]: 70.0, mine[2]: 40.0, theirs[0]: 95.0, theirs[1]: 5.0}
    MetricPoint.objects.bulk_create(
        MetricPoint(kind="vm", uuid=str(vm.uuid), resolution=10, ts=now - 10 * i, cpu=value + i % 2,
                    net_rx_bps=1000.0 * value)
        for vm, value in cpu.items() for i in range(30))
    # their minutes, as the collector rolls them up (an hour's top-N reads these)
    MetricPoint.objects.bulk_create(
        MetricPoint(kind="vm", uuid=str(vm.uuid), resolution=60, ts=now // 60 * 60 - 60 * i, cpu=value + 0.5,
                    net_rx_bps=1000.0 * value)
        for vm, value in cpu.items() for i in range(1, 60))
    return {"mine": mine, "theirs": theirs, "other": other, "now": now}


def test_catalogue_lists_metrics_and_store(tenant_client):
    answer = tenant_client.get("/api/v1/metrics/").json()
    assert answer["store"] == "builtin"
    names = {(m["kind"], m["name"]) for m in answer["metrics"]}
    assert ("vm", "cpu") in names and ("host", "memory_used_percent") in names and ("vm", "net_tx_pps") in names


def test_series_of_several_vms(tenant_client, vms):
    a, b = vms["mine"][:2]
    response = tenant_client.get("/api/v1/metrics/series/", {"kind": "vm", "metric": "cpu", "uuids": f"{a.uuid},{b.uuid}",
                                                            "period": "5m", "step": "60", "end": vms["now"] + 10})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["unit"] == "%" and body["step"] == 60
    assert [s["uuid"] for s in body["series"]] == [str(a.uuid), str(b.uuid)]
    points = body["series"][0]["points"]
    assert len(points) == 5 and all(v == pytest.approx(10.5) for _, v in points)


def test_series_of_another_accounts_vm_is_404(tenant_client, vms):
    response = tenant_client.get("/api/v1/metrics/series/", {"kind": "vm", "metric": "cpu",
                                                            "uuids": str(vms["theirs"][0].uuid)})
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"


def test_top_n_sees_only_the_accounts_vms(tenant_client, vms):
    body = tenant_client.get("/api/v1/metrics/top/", {"kind": "vm", "metric": "cpu", "window": "5m", "n": 2}).json()
    assert [r["name"] for r in body["results"]] == ["mine-1", "mine-2"]
    assert body["results"][0]["value"] == pytest.approx(70.5)


def test_top_n_of_one_account_filtered_by_the_query_language(admin_client, vms):
    everyone = admin_client.get("/api/v1/metrics/top/", {"kind": "vm", "metric": "cpu", "n": 10}).json()
    assert [r["name"] for r in everyone["results"]][:2] == ["theirs-0", "mine-1"]
    theirs = admin_client.get("/api/v1/metrics/top/", {"kind": "vm", "metric": "net_rx_bps", "n": 10, "order": "asc",
                                                       "q": f"account_uuid={vms['other'].account.uuid}"}).json()
    assert [r["name"] for r in theirs["results"]] == ["theirs-1", "theirs-0"]
    named = admin_client.get("/api/v1/metrics/top/", {"kind": "vm", "metric": "cpu", "q": ["name~=mine-%", "name!=mine-1"]})
    assert [r["name"] for r in named.json()["results"]] == ["mine-2", "mine-0"]


def test_top_n_leaves_out_deleted_vms_and_still_answers_n(admin_client, vms):
    """The store keeps a deleted VM's series for the window: it must not take a place of the n."""
    vms["theirs"][0].delete()                       # the busiest
    vms["mine"][1].delete()                         # the next
    body = admin_client.get("/api/v1/metrics/top/", {"kind": "vm", "metric": "cpu", "n": 2}).json()
    assert [r["name"] for r in body["results"]] == ["mine-2", "mine-0"]


@pytest.mark.parametrize("path,params,code", [
    ("series", {"kind": "vm", "metric": "nope", "uuids": "00000000-0000-0000-0000-000000000001"}, "UNKNOWN_METRIC"),
    ("series", {"kind": "vm", "metric": "load1", "uuids": "00000000-0000-0000-0000-000000000001"}, "UNKNOWN_METRIC"),
    ("series", {"kind": "disk", "metric": "cpu", "uuids": "00000000-0000-0000-0000-000000000001"}, "INVALID_ARGUMENT"),
    ("series", {"kind": "vm", "metric": "cpu", "uuids": "not-a-uuid"}, "INVALID_ARGUMENT"),
    ("series", {"kind": "vm", "metric": "cpu"}, "INVALID_ARGUMENT"),
    ("series", {"kind": "vm", "metric": "cpu", "uuids": "{vm}", "period": "30d", "step": "10"}, "TOO_MANY_POINTS"),
    ("series", {"kind": "vm", "metric": "cpu", "uuids": "{vm}", "period": "-1h"}, "INVALID_ARGUMENT"),
    ("series", {"kind": "vm", "metric": "cpu", "uuids": "{vm}", "step": "0"}, "INVALID_ARGUMENT"),
    ("series", {"kind": "vm", "metric": "cpu", "uuids": "{vm}", "start": "yesterday"}, "INVALID_ARGUMENT"),
    ("series", {"kind": "vm", "metric": "cpu", "uuids": "{vm}", "start": "2000", "end": "1000"}, "INVALID_ARGUMENT"),
    ("series", {"kind": "vm", "metric": "cpu", "uuids": "{vm}", "end": "1e300"}, "INVALID_ARGUMENT"),
    ("top", {"kind": "vm", "metric": "cpu", "window": "99999999999w"}, "INVALID_ARGUMENT"),
    ("top", {"kind": "vm", "metric": "cpu", "how": "p99"}, "INVALID_ARGUMENT"),
    ("top", {"kind": "vm", "metric": "cpu", "n": "0"}, "INVALID_ARGUMENT"),
    ("top", {"kind": "vm", "metric": "cpu", "window": "nan"}, "INVALID_ARGUMENT"),
    ("top", {"kind": "vm", "metric": "cpu", "q": "secret=1"}, "INVALID_QUERY_FIELD"),
])
def test_bad_arguments_are_400(tenant_client, vms, path, params, code):
    params = {k: v.replace("{vm}", str(vms["mine"][0].uuid)) for k, v in params.items()}
    response = tenant_client.get(f"/api/v1/metrics/{path}/", params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == code and body["message"] and set(body) == {"code", "message", "details"}


def test_prometheus_down_is_503_not_500(tenant_client, vms, settings):
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"   # nothing listens there
    settings.PROMETHEUS_TIMEOUT = 2
    response = tenant_client.get("/api/v1/metrics/top/", {"kind": "vm", "metric": "cpu"})
    assert response.status_code == 503
    assert response.json()["code"] == "METRICS_STORE_UNAVAILABLE"
    assert "metrics store unavailable" in response.json()["message"]


def test_metrics_need_a_login(client, db):
    assert client.get("/api/v1/metrics/top/", {"kind": "vm", "metric": "cpu"}).status_code == 401


def test_the_api_root_links_the_metrics(tenant_client):
    assert tenant_client.get("/api/v1/").json()["metrics"].endswith("/api/v1/metrics/")
