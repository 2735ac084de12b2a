"""Starting a flow from a viewset is a declaration (apps/core/api/flowstarts.py): core audits the
resource and the job, refuses a busy resource, starts the job after the commit and answers 202."""
import ast
from pathlib import Path

import pytest
from django.db import DatabaseError

from apps.core.models import AuditLog, Job
from apps.infra.models import Cluster, Host, Zone

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
VIEWS = sorted(ROOT.glob("apps/*/views.py")) + [ROOT / "apps/compute/console/api.py"]


def calls(path):
    return [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Call)]


def test_no_app_view_starts_a_job_or_audits_it_by_hand():
    by_hand = []
    for path in VIEWS:
        for call in calls(path):
            name = getattr(call.func, "id", getattr(call.func, "attr", ""))
            if name == "start_job" or (name == "audit" and any(k.arg == "job_uuid" for k in call.keywords)):
                by_hand.append(f"{path.relative_to(ROOT)}:{call.lineno} {name}")
    assert by_hand == []


def test_no_view_touches_private_attributes_of_django_or_drf_objects():
    """Private attributes only of the view's own class (``self._x``): never ``request._request``,
    ``queryset._result_cache``, ``instance._prefetched_objects_cache``, ``serializer._context``."""
    touched = []
    for path in VIEWS + sorted((ROOT / "apps/core/api").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") or node.attr.startswith("__"):
                continue
            base = node.value
            own = (isinstance(base, ast.Name) and base.id in ("self", "cls")
                   or isinstance(base, ast.Call) and getattr(base.func, "id", "") == "type")
            if node.attr != "_meta" and not own:
                touched.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
    assert touched == []


@pytest.fixture
def host():
    cluster = Cluster.objects.create(name="c", zone=Zone.objects.create(name="z"), hypervisor_type="Simulator")
    return Host.objects.create(name="h", cluster=cluster, hypervisor_type="Simulator", management_ip="10.0.0.1")


def test_a_declared_flow_action_audits_resource_and_job_and_answers_202(admin_client, host):
    response = admin_client.post(f"/api/v1/hosts/{host.uuid}/reconnect/", format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == f"/api/v1/jobs/{body['job']['uuid']}/"
    assert body["resource"]["uuid"] == str(host.uuid) and body["job"]["flow"] == "reconnect-host"
    job = Job.objects.get(uuid=body["job"]["uuid"])
    assert job.args == {"host_uuid": str(host.uuid)} and str(job.resource_uuid) == str(host.uuid)
    log = AuditLog.objects.get(action="hosts.reconnect")
    assert (str(log.resource_uuid), str(log.job_uuid), log.status_code) == (str(host.uuid), str(job.uuid), 202)


def test_a_flow_action_on_a_busy_resource_is_refused_naming_the_job(admin_client, host):
    first = admin_client.post(f"/api/v1/hosts/{host.uuid}/reconnect/", format="json").json()["job"]["uuid"]
    refused = admin_client.post(f"/api/v1/hosts/{host.uuid}/reconnect/", format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "RESOURCE_BUSY"
    assert refused.json()["details"]["job_uuid"] == first
    log = AuditLog.objects.filter(action="hosts.reconnect", status_code=409).get()
    assert str(log.resource_uuid) == str(host.uuid) and log.job_uuid is None


def test_a_flow_action_checks_its_body_and_refuses_before_any_job(admin_client, host):
    from apps.network.models import L2Network

    l2 = L2Network.objects.create(name="l2", zone=host.cluster.zone, physical_interface="eth0")
    for body, field in (({}, "cluster_uuid"), ({"cluster_uuid": "0" * 32}, "cluster_uuid")):
        response = admin_client.post(f"/api/v1/l2-networks/{l2.uuid}/attach/", body, format="json")
        assert response.status_code == 400 and field in response.json()["details"], response.content
    assert not Job.objects.exists()


def test_a_create_s_row_job_and_audit_row_are_one_transaction(admin_client, host, monkeypatch):
    """A host whose job cannot be written is not left behind without it."""
    from apps.core import prepared

    real_insert = prepared.insert

    def failing_insert(obj, *args, **kwargs):
        if isinstance(obj, Job):
            raise DatabaseError("the job's INSERT failed")
        return real_insert(obj, *args, **kwargs)

    monkeypatch.setattr(prepared, "insert", failing_insert)
    admin_client.raise_request_exception = False
    response = admin_client.post("/api/v1/hosts/", {"name": "half-made", "cluster_uuid": str(host.cluster.uuid),
                                                    "hypervisor_type": "Simulator", "cpu_num": 4,
                                                    "memory_size": 1 << 30}, format="json")
    assert response.status_code == 500
    assert not Host.objects.filter(name="half-made").exists()
