"""The query DSL on real list endpoints (ARCHITECTURE §3, §4; docs/api-query.md).

Every operator, one- and two-level joins (reverse joins without duplicate rows),
tags, ordering, paging, ``fields=``, ``count``, CSV, the error shape, tenancy in
lists, and that secrets / undeclared fields are not queryable. Each test builds
its own rows; nothing depends on test order. LIKE tests avoid depending on case
(SQLite's LIKE ignores it, MariaDB's utf8mb4_bin test collation does not).
"""
import csv
import io
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

from apps.core.models import Job
from apps.infra.models import Cluster, Zone

from apps.core.testing import client_for, make_account

pytestmark = pytest.mark.django_db


def day(n):
    return datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(days=n - 1)


def at(model, obj, when):
    """Pin ``created_at`` (auto_now_add) so ordering and range tests are exact."""
    model.objects.filter(pk=obj.pk).update(created_at=when)
    obj.refresh_from_db()
    return obj


def get(client, url, **params):
    """GET ``url``; keyword ``q`` may be a string or a list of conditions."""
    q = params.pop("q", None)
    if q is not None:
        params["q"] = [q] if isinstance(q, str) else list(q)
    return client.get(url, params)


def ok(client, url, **params):
    response = get(client, url, **params)
    assert response.status_code == 200, response.content
    return response.json()


def names(client, url, **params):
    """The ``name`` of every row of one page, in order (duplicates kept, so tests see them)."""
    return [row["name"] for row in ok(client, url, **params)["results"]]


def assert_error(response, code, *, field=None, mentions=(), status=400):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details"}, body
    assert body["code"] == code, body
    assert isinstance(body["details"], dict)
    if field is not None:
        assert body["details"].get("field") == field, body
        assert field in body["message"], body
    for text in mentions:
        assert text in body["message"], body
    return body


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def infra(db):
    """z1 (c1, c2), z2 (c3), z3 (no cluster); created one day apart in that order."""
    z1 = at(Zone, Zone.objects.create(name="z1", description="east rack"), day(1))
    z2 = at(Zone, Zone.objects.create(name="z2", description="west rack", state="Disabled"), day(2))
    z3 = at(Zone, Zone.objects.create(name="z3", description=""), day(3))
    c1 = at(Cluster, Cluster.objects.create(name="c1", zone=z1, hypervisor_type="KVM"), day(4))
    c2 = at(Cluster, Cluster.objects.create(name="c2", zone=z1, hypervisor_type="Simulator", state="Disabled"),
            day(5))
    c3 = at(Cluster, Cluster.objects.create(name="c3", zone=z2, hypervisor_type="KVM"), day(6))
    return {o.name: o for o in (z1, z2, z3, c1, c2, c3)}


@pytest.fixture
def jobs(admin_user, tenant_user):
    """j1 (admin), j2 + j3 (tenant-a), j4 (no account: a system job)."""
    rows = {
        "j1": dict(action="create-vm", state="succeeded", progress=100, account=admin_user.account,
                   user=admin_user, finished_at=day(2), resource_type="Zone",
                   resource_uuid="00000000-0000-4000-8000-000000000001"),
        "j2": dict(action="stop-vm", state="failed", progress=40, account=tenant_user.account,
                   user=tenant_user, finished_at=day(3)),
        "j3": dict(action="create-vm", state="running", progress=50, account=tenant_user.account,
                   user=tenant_user),
        "j4": dict(action="reap", state="pending", progress=0),
    }
    made = {}
    for n, (label, fields) in enumerate(rows.items(), start=1):
        made[label] = at(Job, Job.objects.create(flow="test", **fields), day(n))
    return made


def job_labels(body, jobs):
    by_uuid = {str(job.uuid): label for label, job in jobs.items()}
    return [by_uuid[row["uuid"]] for row in body["results"]]


def tag(client, resource, text):
    response = client.post("/api/v1/tags/", {"resource_uuid": str(resource.uuid), "tag": text}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- operators ---------------------------------------------------------------------------------


@pytest.mark.parametrize("condition, expected", [
    ("name=z1", {"z1"}),
    ("name!=z1", {"z2", "z3"}),
    ("state=Disabled", {"z2"}),
    ("created_at>2024-01-02T00:00:00Z", {"z3"}),
    ("created_at>=2024-01-02T00:00:00Z", {"z2", "z3"}),
    ("created_at<2024-01-02T00:00:00Z", {"z1"}),
    ("created_at<=2024-01-02T00:00:00+00:00", {"z1", "z2"}),
    ("created_at>2024-01-01T12:00:00", {"z2", "z3"}),  # naive: the server's time zone (UTC)
    ("name?=z1,z3", {"z1", "z3"}),
    ("name?=z1,nope", {"z1"}),
    ("name!?=z1,z3", {"z2"}),
    ("description~=%rack", {"z1", "z2"}),
    ("description~=e%", {"z1"}),
    ("name~=z_", {"z1", "z2", "z3"}),
    ("name~=z", set()),  # LIKE without wildcards is equality
    ("description!~=%rack", {"z3"}),
    ("description=", {"z3"}),  # an empty value is the empty string
    ("uuid=ZONE_Z2", {"z2"}),
])
def test_each_operator_returns_exactly_the_matching_rows(admin_client, infra, condition, expected):
    condition = condition.replace("ZONE_Z2", str(infra["z2"].uuid))
    body = ok(admin_client, "/api/v1/zones/", q=condition)
    found = [row["name"] for row in body["results"]]
    assert sorted(found) == sorted(expected)
    assert body["count"] == len(expected)


@pytest.mark.parametrize("condition, expected", [
    ("finished_at=null", {"j3", "j4"}),
    ("finished_at!=null", {"j1", "j2"}),
    ("resource_uuid!=null", {"j1"}),
    ("account_uuid=null", {"j4"}),
    ("progress>40", {"j1", "j3"}),
    ("progress>=40", {"j1", "j2", "j3"}),
    ("progress<40", {"j4"}),
    ("progress<=40", {"j2", "j4"}),
    ("progress?=0,100", {"j1", "j4"}),
    ("progress!=100", {"j2", "j3", "j4"}),
    ("state!?=succeeded,failed", {"j3", "j4"}),
    ("action~=%-vm", {"j1", "j2", "j3"}),
    ("action!~=create-%", {"j2", "j4"}),
    ("finished_at<2024-01-03T00:00:00Z", {"j1"}),
    ("finished_at!=2024-01-02T00:00:00Z", {"j2", "j3", "j4"}),  # negations also match empty (null) values
    ("resource_type!~=Z%", {"j2", "j3", "j4"}),
])
def test_operators_on_numbers_nulls_and_dates(admin_client, jobs, condition, expected):
    body = ok(admin_client, "/api/v1/jobs/", q=condition)
    assert sorted(job_labels(body, jobs)) == sorted(expected)
    assert body["count"] == len(expected)


def test_conditions_are_anded(admin_client, infra):
    assert names(admin_client, "/api/v1/clusters/", q=["zone.name=z1", "state=Disabled"]) == ["c2"]
    assert names(admin_client, "/api/v1/clusters/", q=["hypervisor_type=KVM", "name!=c1"]) == ["c3"]


def test_like_matches_percent_and_underscore_and_backslash_escapes_them(admin_client, db):
    for name in ("a_b", "axb", "a%b", "ab"):
        Zone.objects.create(name=name)
    assert sorted(names(admin_client, "/api/v1/zones/", q="name~=a_b")) == ["a%b", "a_b", "axb"]
    assert sorted(names(admin_client, "/api/v1/zones/", q="name~=a%b")) == ["a%b", "a_b", "ab", "axb"]
    assert names(admin_client, "/api/v1/zones/", q="name~=a\\_b") == ["a_b"]
    assert names(admin_client, "/api/v1/zones/", q="name~=a\\%b") == ["a%b"]
    assert sorted(names(admin_client, "/api/v1/zones/", q="name!~=a\\_b")) == ["a%b", "ab", "axb"]


def test_value_may_contain_operator_characters(admin_client, db):
    Zone.objects.create(name="a=b")
    Zone.objects.create(name="x>y")
    assert names(admin_client, "/api/v1/zones/", q="name=a=b") == ["a=b"]
    assert names(admin_client, "/api/v1/zones/", q="name=x>y") == ["x>y"]
    assert names(admin_client, "/api/v1/zones/", q="name?=a=b,x>y") == ["a=b", "x>y"]


# --- joins -----------------------------------------------------------------------------------


def test_one_level_join_forward(admin_client, infra):
    assert names(admin_client, "/api/v1/clusters/", q="zone.name=z1") == ["c1", "c2"]
    assert names(admin_client, "/api/v1/clusters/", q="zone.state=Disabled") == ["c3"]
    assert names(admin_client, "/api/v1/clusters/", q="zone.description~=%rack") == ["c1", "c2", "c3"]
    assert names(admin_client, "/api/v1/clusters/", q=f"zone_uuid={infra['z1'].uuid}") == ["c1", "c2"]


def test_one_level_reverse_join_does_not_duplicate_rows(admin_client, infra):
    # z1 has two clusters matching: it is still one row, and the count agrees
    body = ok(admin_client, "/api/v1/zones/", q="clusters.name~=c%")
    assert [row["name"] for row in body["results"]] == ["z1", "z2"]
    assert body["count"] == 2
    assert names(admin_client, "/api/v1/zones/", q="clusters.hypervisor_type=KVM") == ["z1", "z2"]
    assert names(admin_client, "/api/v1/zones/", q="clusters.name!=null") == ["z1", "z2"]
    # paging over a reverse join: no row twice, none skipped
    assert names(admin_client, "/api/v1/zones/", q="clusters.name~=c%", limit=1) == ["z1"]
    assert names(admin_client, "/api/v1/zones/", q="clusters.name~=c%", limit=1, offset=1) == ["z2"]


def test_reverse_join_negation_and_null_mean_no_such_child(admin_client, infra):
    # "!=" through a to-many relation: rows with no child matching (z3 has no cluster at all)
    assert names(admin_client, "/api/v1/zones/", q="clusters.name!=c1") == ["z2", "z3"]
    assert names(admin_client, "/api/v1/zones/", q="clusters.name!?=c1,c3") == ["z3"]
    assert names(admin_client, "/api/v1/zones/", q="clusters.name=null") == ["z3"]


def test_each_condition_on_a_to_many_relation_matches_any_child_on_its_own(admin_client, infra):
    # c1 is Enabled, c2 is Disabled: z1 has "a cluster named c1" and "a Disabled cluster"
    assert names(admin_client, "/api/v1/zones/", q=["clusters.name=c1", "clusters.state=Disabled"]) == ["z1"]


def test_two_level_join_reverse_then_forward(admin_client, infra):
    # clusters in the same zone as c1: through zone (forward) then clusters (reverse)
    body = ok(admin_client, "/api/v1/clusters/", q="zone.clusters.name=c1")
    assert [row["name"] for row in body["results"]] == ["c1", "c2"]
    assert body["count"] == 2
    # every cluster's zone has 1 or 2 clusters matching: still one row per cluster
    body = ok(admin_client, "/api/v1/clusters/", q="zone.clusters.name~=c%")
    assert [row["name"] for row in body["results"]] == ["c1", "c2", "c3"]
    assert body["count"] == 3
    assert names(admin_client, "/api/v1/zones/", q="clusters.zone.name=z1") == ["z1"]
    assert names(admin_client, "/api/v1/clusters/", q=["zone.clusters.state=Disabled", "name!=c2"]) == ["c1"]


def test_join_through_a_declared_relation_to_a_secret_is_refused(admin_client, jobs):
    assert_error(get(admin_client, "/api/v1/jobs/", q="user.password=x"), "INVALID_QUERY_FIELD",
                 field="user.password")
    # declared fields through the same relation work
    body = ok(admin_client, "/api/v1/jobs/", q="user.username=tenant-a")
    assert sorted(job_labels(body, jobs)) == ["j2", "j3"]


# --- tags --------------------------------------------------------------------------------------


def test_tag_conditions(admin_client, infra):
    tag(admin_client, infra["z1"], "web")
    tag(admin_client, infra["z2"], "db")
    tag(admin_client, infra["c1"], "web")
    assert names(admin_client, "/api/v1/zones/", q="tag=web") == ["z1"]
    assert names(admin_client, "/api/v1/zones/", q="tag!=web") == ["z2", "z3"]
    assert names(admin_client, "/api/v1/zones/", q="tag?=web,db") == ["z1", "z2"]
    assert names(admin_client, "/api/v1/zones/", q="tag!?=web,db") == ["z3"]
    assert names(admin_client, "/api/v1/zones/", q="tag~=w%") == ["z1"]
    assert names(admin_client, "/api/v1/zones/", q="tag!~=w%") == ["z2", "z3"]
    # a zone's tag does not tag its clusters, and tags combine with other conditions
    assert names(admin_client, "/api/v1/clusters/", q="tag=web") == ["c1"]
    assert names(admin_client, "/api/v1/clusters/", q=["tag=web", "zone.name=z2"]) == []
    body = ok(admin_client, "/api/v1/zones/", q="tag=web")
    assert body["results"][0]["tags"] == ["web"]


def test_tags_are_per_account(admin_client, tenant_client, infra):
    tag(admin_client, infra["z1"], "web")
    tag(admin_client, infra["z2"], "db")
    tag(tenant_client, infra["z3"], "web")
    assert names(admin_client, "/api/v1/zones/", q="tag=web") == ["z1", "z3"]
    assert names(tenant_client, "/api/v1/zones/", q="tag=web") == ["z3"]
    assert names(tenant_client, "/api/v1/zones/", q="tag=db") == []
    mine = ok(tenant_client, "/api/v1/tags/")
    assert [(t["tag"], t["resource_uuid"]) for t in mine["results"]] == [("web", str(infra["z3"].uuid))]
    assert mine["count"] == 1
    assert ok(tenant_client, "/api/v1/tags/", q="tag=db")["count"] == 0
    assert ok(admin_client, "/api/v1/tags/", q="tag=web")["count"] == 2
    assert ok(admin_client, "/api/v1/tags/", q="resource_type=Zone")["count"] == 3


@pytest.mark.parametrize("condition, code", [
    ("tag>a", "INVALID_QUERY"), ("tag<=a", "INVALID_QUERY"),
    ("tag?=", "INVALID_QUERY_VALUE"), ("tag!?=,", "INVALID_QUERY_VALUE"),
])
def test_bad_tag_conditions(admin_client, infra, condition, code):
    assert_error(get(admin_client, "/api/v1/zones/", q=condition), code, field="tag")


# --- ordering ------------------------------------------------------------------------------------


def test_default_ordering_is_creation_time(admin_client, infra):
    assert names(admin_client, "/api/v1/zones/") == ["z1", "z2", "z3"]
    assert names(admin_client, "/api/v1/zones/", ordering="-created_at") == ["z3", "z2", "z1"]


def test_ordering_asc_desc_and_multiple_keys(admin_client, infra):
    Zone.objects.filter(name="z2").update(name="a-zone")
    assert names(admin_client, "/api/v1/zones/", ordering="name") == ["a-zone", "z1", "z3"]
    assert names(admin_client, "/api/v1/zones/", ordering="-name") == ["z3", "z1", "a-zone"]
    assert names(admin_client, "/api/v1/clusters/", ordering="zone.name,-name") == ["c3", "c2", "c1"]
    assert names(admin_client, "/api/v1/clusters/", ordering="-state,name") == ["c1", "c3", "c2"]
    assert names(admin_client, "/api/v1/clusters/", ordering="state,-created_at") == ["c2", "c3", "c1"]


def test_ordering_ties_are_broken_so_pages_are_stable(admin_client, db):
    for i in range(7):
        at(Zone, Zone.objects.create(name=f"tie{i}"), day(1))
    for ordering in ("created_at", "-created_at", "state"):
        seen = []
        for offset in range(0, 7, 2):
            seen += names(admin_client, "/api/v1/zones/", ordering=ordering, limit=2, offset=offset)
        assert sorted(seen) == [f"tie{i}" for i in range(7)], ordering


@pytest.mark.parametrize("ordering, field", [
    ("bogus", "bogus"),
    ("-bogus", "bogus"),
    ("name,bogus", "bogus"),
    ("busy_job", "busy_job"),
    ("zone.bogus", "zone.bogus"),
])
def test_ordering_by_an_unknown_field_is_400(admin_client, infra, ordering, field):
    url = "/api/v1/clusters/" if ordering.startswith("zone.") else "/api/v1/zones/"
    assert_error(get(admin_client, url, ordering=ordering), "INVALID_QUERY_FIELD", field=field)


def test_ordering_through_a_to_many_relation_is_refused(admin_client, infra):
    # one zone has many clusters: "order zones by cluster name" has no single answer
    assert_error(get(admin_client, "/api/v1/zones/", ordering="clusters.name"), "INVALID_QUERY_FIELD",
                 field="clusters.name")


# --- paging ----------------------------------------------------------------------------------------


@pytest.fixture
def five_zones(db):
    return [at(Zone, Zone.objects.create(name=f"p{i}"), day(i + 1)) for i in range(5)]


def query_of(url):
    return parse_qs(urlsplit(url).query)


def test_limit_offset_count_and_links(admin_client, five_zones):
    body = ok(admin_client, "/api/v1/zones/", limit=2)
    assert [r["name"] for r in body["results"]] == ["p0", "p1"]
    assert body["count"] == 5
    assert body["previous"] is None
    assert query_of(body["next"]) == {"limit": ["2"], "offset": ["2"]}

    body = ok(admin_client, "/api/v1/zones/", limit=2, offset=2)
    assert [r["name"] for r in body["results"]] == ["p2", "p3"]
    assert query_of(body["previous"]) == {"limit": ["2"]}  # back to the first page
    assert query_of(body["next"]) == {"limit": ["2"], "offset": ["4"]}

    body = ok(admin_client, "/api/v1/zones/", limit=2, offset=4)
    assert [r["name"] for r in body["results"]] == ["p4"]
    assert body["next"] is None
    assert query_of(body["previous"]) == {"limit": ["2"], "offset": ["2"]}

    body = ok(admin_client, "/api/v1/zones/", limit=2, offset=9)
    assert body["results"] == [] and body["count"] == 5 and body["next"] is None


def test_following_next_links_visits_every_row_once_and_keeps_the_query(admin_client, five_zones):
    Zone.objects.create(name="other")
    url, seen, pages = "/api/v1/zones/?q=name~=p%25&limit=2&ordering=-name", [], 0
    while url:
        body = admin_client.get(url).json()
        seen += [r["name"] for r in body["results"]]
        pages += 1
        url = body["next"]
        if url:
            assert query_of(url)["q"] == ["name~=p%"] and query_of(url)["ordering"] == ["-name"]
    assert seen == ["p4", "p3", "p2", "p1", "p0"]
    assert pages == 3


def test_default_and_maximum_limit(admin_client, five_zones):
    body = ok(admin_client, "/api/v1/zones/")
    assert len(body["results"]) == 5 and body["next"] is None
    assert len(ok(admin_client, "/api/v1/zones/", limit=1000)["results"]) == 5


def test_limit_zero_answers_only_the_count(admin_client, five_zones):
    body = ok(admin_client, "/api/v1/zones/", limit=0)
    assert body["results"] == [] and body["count"] == 5
    assert body["next"] is None and body["previous"] is None


def test_count_false_skips_the_count_and_still_links_pages_exactly(admin_client, five_zones):
    body = ok(admin_client, "/api/v1/zones/", limit=2, count="false")
    assert body["count"] is None
    assert [r["name"] for r in body["results"]] == ["p0", "p1"]
    assert query_of(body["next"])["offset"] == ["2"]
    # the last page says so, even without a count
    body = ok(admin_client, "/api/v1/zones/", limit=2, offset=3, count="false")
    assert [r["name"] for r in body["results"]] == ["p3", "p4"]
    assert body["next"] is None
    assert ok(admin_client, "/api/v1/zones/", limit=2, offset=4, count="0")["next"] is None
    assert ok(admin_client, "/api/v1/zones/", count="true")["count"] == 5


def test_count_follows_the_conditions_not_the_page(admin_client, infra):
    body = ok(admin_client, "/api/v1/clusters/", q="hypervisor_type=KVM", limit=1)
    assert body["count"] == 2 and len(body["results"]) == 1


@pytest.mark.parametrize("param, value", [
    ("limit", "1001"), ("limit", "-1"), ("limit", "abc"), ("limit", "1.5"),
    ("offset", "-1"), ("offset", "x"),
])
def test_bad_paging_parameters_are_400(admin_client, five_zones, param, value):
    body = assert_error(get(admin_client, "/api/v1/zones/", **{param: value}), "INVALID_ARGUMENT",
                        mentions=(param,))
    assert body["details"] == {param: value}


# --- fields= ----------------------------------------------------------------------------------------


def test_fields_returns_only_those_keys(admin_client, infra, jobs):
    body = ok(admin_client, "/api/v1/zones/", fields="uuid,name")
    assert body["count"] == 3
    assert all(set(row) == {"uuid", "name"} for row in body["results"])
    body = ok(admin_client, "/api/v1/clusters/", fields="name,zone_uuid", q="zone.name=z2")
    assert body["results"] == [{"name": "c3", "zone_uuid": str(infra["z2"].uuid)}]
    body = ok(admin_client, "/api/v1/jobs/", fields="uuid,state", q="state=running")
    assert body["results"] == [{"uuid": str(jobs["j3"].uuid), "state": "running"}]
    detail = admin_client.get(f"/api/v1/zones/{infra['z1'].uuid}/", {"fields": "name"})
    assert detail.json() == {"name": "z1"}


def test_fields_without_tags_reads_no_tags_and_with_tags_still_shows_them(admin_client, infra):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    tag(admin_client, infra["z1"], "web")
    with CaptureQueriesContext(connection) as queries:
        body = ok(admin_client, "/api/v1/zones/", fields="uuid,name", q="name=z1")
    assert body["results"] == [{"uuid": str(infra["z1"].uuid), "name": "z1"}]
    assert not any("core_tag" in q["sql"] for q in queries.captured_queries)
    assert ok(admin_client, "/api/v1/zones/", fields="name,tags", q="name=z1")["results"] == [
        {"name": "z1", "tags": ["web"]}]


@pytest.mark.parametrize("fields, bad", [("bogus", "bogus"), ("uuid,bogus", "bogus"), ("name, nope ", "nope")])
def test_unknown_field_in_fields_is_400(admin_client, infra, fields, bad):
    assert_error(get(admin_client, "/api/v1/zones/", fields=fields), "INVALID_QUERY_FIELD", field=bad)


# --- CSV -------------------------------------------------------------------------------------------------


def parse_csv(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_csv_returns_the_same_rows_as_json(admin_client, infra):
    tag(admin_client, infra["c1"], "web")
    params = {"q": "zone.name=z1", "ordering": "-name"}
    as_json = ok(admin_client, "/api/v1/clusters/", **params)["results"]
    response = get(admin_client, "/api/v1/clusters/", format="csv", **params)
    rows = parse_csv(response)
    assert "attachment" in response["Content-Disposition"]
    assert [r["name"] for r in rows] == ["c2", "c1"] == [r["name"] for r in as_json]
    assert list(rows[0]) == list(as_json[0])  # same columns, same order
    for row, obj in zip(rows, as_json):
        assert row["uuid"] == obj["uuid"] and row["zone_uuid"] == obj["zone_uuid"] and row["state"] == obj["state"]
    assert rows[1]["tags"] == '["web"]'


def test_csv_honours_fields_paging_and_errors(admin_client, infra):
    rows = parse_csv(get(admin_client, "/api/v1/zones/", format="csv", fields="uuid,name", limit=2))
    assert [list(r) for r in rows] == [["uuid", "name"]] * 2
    assert [r["name"] for r in rows] == ["z1", "z2"]
    response = get(admin_client, "/api/v1/zones/", format="csv", q="bogus=1")
    assert response.status_code == 400


# --- errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url, condition, field", [
    ("/api/v1/zones/", "bogus=1", "bogus"),
    ("/api/v1/zones/", "busy_job=null", "busy_job"),  # internal column, not declared
    ("/api/v1/clusters/", "zone.busy_job!=null", "zone.busy_job"),
    ("/api/v1/clusters/", "hosts.name=x", "hosts.name"),  # no such relation
    ("/api/v1/clusters/", "zone.nope.name=x", "zone.nope.name"),
    ("/api/v1/accounts/", "tags.tag=x", "tags.tag"),  # a real relation, not declared
    ("/api/v1/users/", "password=x", "password"),
    ("/api/v1/users/", "api_tokens.digest=x", "api_tokens.digest"),
    ("/api/v1/users/", "account.users.password~=%", "account.users.password"),
    ("/api/v1/jobs/", "worker=x", "worker"),
    ("/api/v1/jobs/", "context=x", "context"),
    ("/api/v1/jobs/", "account=null", "account"),  # a relation is not a field
])
def test_undeclared_fields_and_relations_are_not_queryable(admin_client, infra, url, condition, field):
    assert_error(get(admin_client, url, q=condition), "INVALID_QUERY_FIELD", field=field)


@pytest.mark.parametrize("condition", ["name", "=z1", "", "na me=z1", "1name=z1", "name:z1", ".name=z1"])
def test_malformed_conditions_are_400(admin_client, infra, condition):
    body = assert_error(get(admin_client, "/api/v1/zones/", q=condition), "INVALID_QUERY")
    assert body["details"]["q"] == condition
    assert repr(condition) in body["message"] or f"'{condition}'" in body["message"]


@pytest.mark.parametrize("condition, field, value", [
    ("created_at>notadate", "created_at", "notadate"),
    ("created_at<=2024-13-45T00:00:00Z", "created_at", "2024-13-45T00:00:00Z"),
    ("created_at?=2024-01-01T00:00:00Z,nope", "created_at", "nope"),
    ("finished_at!=yesterday", "finished_at", "yesterday"),
    ("progress>=lots", "progress", "lots"),
    ("progress?=1,two", "progress", "two"),
    ("uuid=not-a-uuid", "uuid", "not-a-uuid"),
    ("account_uuid=42", "account_uuid", "42"),
])
def test_values_of_the_wrong_type_are_400(admin_client, jobs, condition, field, value):
    body = assert_error(get(admin_client, "/api/v1/jobs/", q=condition), "INVALID_QUERY_VALUE", field=field)
    assert body["details"]["value"] == value


@pytest.mark.parametrize("condition, field", [("name?=", "name"), ("name!?=,", "name"), ("state?=,,", "state")])
def test_empty_in_list_is_400(admin_client, infra, condition, field):
    assert_error(get(admin_client, "/api/v1/zones/", q=condition), "INVALID_QUERY_VALUE", field=field)


@pytest.mark.parametrize("url, condition, field", [
    ("/api/v1/jobs/", "created_at~=2024%", "created_at"),
    ("/api/v1/jobs/", "progress~=1%", "progress"),
    ("/api/v1/jobs/", "uuid!~=ab%", "uuid"),
    ("/api/v1/clusters/", "zone_uuid~=ab%", "zone_uuid"),
])
def test_like_on_a_field_that_is_not_text_is_400(admin_client, jobs, infra, url, condition, field):
    body = assert_error(get(admin_client, url, q=condition), "INVALID_QUERY", field=field)
    assert body["details"]["operator"] in ("~=", "!~=")


def test_first_bad_condition_is_named_among_good_ones(admin_client, infra):
    response = get(admin_client, "/api/v1/clusters/", q=["zone.name=z1", "zone.color=red"])
    assert_error(response, "INVALID_QUERY_FIELD", field="zone.color")


# --- tenancy --------------------------------------------------------------------------------------------------


def test_a_normal_account_lists_only_its_own_jobs(admin_client, tenant_client, jobs):
    body = ok(tenant_client, "/api/v1/jobs/")
    assert job_labels(body, jobs) == ["j2", "j3"] and body["count"] == 2
    assert job_labels(ok(tenant_client, "/api/v1/jobs/", q="state=succeeded"), jobs) == []
    assert job_labels(ok(tenant_client, "/api/v1/jobs/", q="account.name=root-admin"), jobs) == []
    assert job_labels(ok(tenant_client, "/api/v1/jobs/", q="account_uuid=null"), jobs) == []
    assert job_labels(ok(tenant_client, "/api/v1/jobs/", q="action=create-vm"), jobs) == ["j3"]
    assert tenant_client.get(f"/api/v1/jobs/{jobs['j1'].uuid}/").status_code == 404
    body = ok(admin_client, "/api/v1/jobs/")
    assert job_labels(body, jobs) == ["j1", "j2", "j3", "j4"] and body["count"] == 4


def test_a_normal_account_lists_only_its_own_audit_logs_accounts_and_users(admin_client, tenant_client, infra):
    other = client_for(make_account("tenant-b"))
    tag(admin_client, infra["z1"], "admin-tag")
    tag(tenant_client, infra["z1"], "a-tag")
    tag(other, infra["z1"], "b-tag")
    mine = ok(tenant_client, "/api/v1/audit-logs/")
    assert mine["count"] == 1
    assert mine["results"][0]["user_name"] == "tenant-a"
    assert ok(tenant_client, "/api/v1/audit-logs/", q="user_name=root-admin")["count"] == 0
    assert ok(admin_client, "/api/v1/audit-logs/", q="action=tags.create")["count"] == 3
    assert names(tenant_client, "/api/v1/accounts/") == ["tenant-a"]
    assert names(tenant_client, "/api/v1/accounts/", q="name=tenant-b") == []
    users = ok(tenant_client, "/api/v1/users/", q="username~=tenant%")
    assert [u["name"] for u in users["results"]] == ["tenant-a"]
    assert [t["tag"] for t in ok(other, "/api/v1/tags/")["results"]] == ["b-tag"]


# --- deep pages and large counts (the pagination's fast paths give the same answers) -------------------


@pytest.mark.parametrize("ordering", ["created_at", "-name", "state,-created_at"])
def test_every_page_is_the_matching_slice_of_the_whole_list(admin_client, db, ordering):
    # pages past the middle are read from the end in reverse; they must equal the forward slice
    for i in range(7):
        at(Zone, Zone.objects.create(name=f"s{i}", state="Disabled" if i % 3 else "Enabled"), day(1 + i // 2))
    whole = names(admin_client, "/api/v1/zones/", ordering=ordering)
    assert sorted(whole) == [f"s{i}" for i in range(7)]
    for limit in (1, 2, 3):
        for offset in range(0, 9):
            for count in ("true", "false"):
                body = ok(admin_client, "/api/v1/zones/", ordering=ordering, limit=limit, offset=offset, count=count)
                assert [r["name"] for r in body["results"]] == whole[offset:offset + limit], (limit, offset, count)
                assert (body["next"] is not None) == (offset + limit < 7), (limit, offset, count)


def test_large_counts_are_cached_for_a_few_seconds_small_ones_never(admin_client, tenant_client, settings, jobs):
    prefix = uuid.uuid4().hex[:8]  # a query no other run has cached
    for i in range(4):
        Zone.objects.create(name=f"{prefix}-{i}")
    settings.QUERY_COUNT_CACHE_SECONDS = 60
    settings.QUERY_COUNT_CACHE_MIN_ROWS = 4
    assert ok(admin_client, "/api/v1/zones/", q=f"name~={prefix}-%")["count"] == 4
    Zone.objects.create(name=f"{prefix}-4")
    body = ok(admin_client, "/api/v1/zones/", q=f"name~={prefix}-%", limit=2, offset=3)
    assert body["count"] == 4  # cached: at least MIN_ROWS rows, younger than SECONDS
    assert [r["name"] for r in body["results"]] == [f"{prefix}-3", f"{prefix}-4"]  # rows are always live
    assert body["next"] is None
    # below the threshold counts are exact; a different query (or tenant) is counted on its own
    assert ok(admin_client, "/api/v1/zones/", q=f"name~={prefix}-1%")["count"] == 1
    Zone.objects.create(name=f"{prefix}-10")
    assert ok(admin_client, "/api/v1/zones/", q=f"name~={prefix}-1%")["count"] == 2
    assert ok(admin_client, "/api/v1/zones/", q=[f"name~={prefix}-%", "name!=x"])["count"] == 6
    assert ok(tenant_client, "/api/v1/jobs/", q="flow=test")["count"] == 2
    assert ok(admin_client, "/api/v1/jobs/", q="flow=test")["count"] == 4
    assert ok(admin_client, "/api/v1/zones/", q=f"name~={prefix}-%")["count"] == 4
    settings.QUERY_COUNT_CACHE_SECONDS = 0
    assert ok(admin_client, "/api/v1/zones/", q=f"name~={prefix}-%")["count"] == 6


def test_a_process_answers_a_cached_count_itself_until_it_expires_in_the_cache(admin_client, settings, monkeypatch):
    import time
    from types import SimpleNamespace

    from apps.core.api import pagination

    prefix = uuid.uuid4().hex[:8]
    for i in range(4):
        Zone.objects.create(name=f"{prefix}-{i}")
    settings.QUERY_COUNT_CACHE_SECONDS = 60
    settings.QUERY_COUNT_CACHE_MIN_ROWS = 4
    asked = []
    shared = pagination.cache
    monkeypatch.setattr(pagination, "cache", SimpleNamespace(
        get=lambda key: asked.append(key) or shared.get(key), set=shared.set))

    def count():
        return ok(admin_client, "/api/v1/zones/", q=f"name~={prefix}-%")["count"]

    assert count() == 4 and len(asked) == 1  # counted, then stored in the cache and kept here
    Zone.objects.create(name=f"{prefix}-4")
    assert count() == 4 and len(asked) == 1  # this process's copy: the cache is not asked
    pagination._recent_counts.clear()  # as another process would start
    assert count() == 4 and len(asked) == 2  # read from the cache, with when it expires there
    assert count() == 4 and len(asked) == 2
    later = SimpleNamespace(time=lambda: time.time() + 61)
    monkeypatch.setattr(pagination, "time", later)  # past its expiry, here and in the cache
    assert count() == 5
