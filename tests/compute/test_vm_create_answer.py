"""The 202 answer of ``POST /vm-instances/`` is built without reading back what the request just
made (a new VM has no tags and no NICs; its account and its job's are the caller's), and reads
exactly as the VM and the job do when fetched afterwards."""
import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from apps.compute.models import VmInstance
from apps.core.models import AuditLog
from apps.infra.models import Cluster
from apps.infra.serializers import ClusterSerializer
from tests.compute.vm_env import Env

pytestmark = pytest.mark.django_db


@pytest.fixture
def env(admin_client, sim_agent, tmp_path, django_capture_on_commit_callbacks):
    return Env(admin_client, django_capture_on_commit_callbacks, tmp_path)


def post_create(env, **extra):
    """The create as the API receives it; its job is dispatched only on commit, so it does not run."""
    with CaptureQueriesContext(connection) as queries:
        response = env.client.post("/api/v1/vm-instances/", env.body(**extra), format="json")
    assert response.status_code == 202, response.content
    return response.json(), [q["sql"] for q in queries.captured_queries]


def test_the_create_answer_is_what_a_get_of_the_vm_and_the_job_shows(env):
    body, _ = post_create(env)
    assert body["resource"] == env.client.get(f"/api/v1/vm-instances/{body['resource']['uuid']}/").json()
    assert body["job"] == env.client.get(f"/api/v1/jobs/{body['job']['uuid']}/").json()
    assert body["resource"]["tags"] == [] and body["resource"]["nics"] == []
    assert body["job"]["account_uuid"] == body["resource"]["account_uuid"]


def test_a_batch_create_answer_is_what_gets_show(env):
    body, _ = post_create(env, count=2)
    for resource in body["resources"]:
        assert resource == env.client.get(f"/api/v1/vm-instances/{resource['uuid']}/").json()
    for job in body["jobs"]:
        assert job == env.client.get(f"/api/v1/jobs/{job['uuid']}/").json()


def test_the_create_does_not_read_back_tags_nics_or_accounts(env, django_assert_max_num_queries, settings):
    post_create(env)  # the token is read (and its use written) once
    # offering, image, L3 networks; VM (claimed already), its change log and its job (in a
    # savepoint here: the test's transaction encloses the request's); audit; without Redis the
    # two events (the VM's, the job's) are rows too; the token was read just now
    expected = 9 + (2 if settings.EVENTS_BACKEND == "database" else 0)
    with django_assert_max_num_queries(expected):
        _, statements = post_create(env)
    for table in ("core_tag", "compute_vmnic", "accounts_account", "accounts_apitoken"):
        assert not [sql for sql in statements if sql.startswith("SELECT") and f"FROM {q(table)}" in sql], table


def test_the_vm_its_change_log_and_its_job_are_one_change(env):
    """One transaction makes the VM already claimed by its job (no UPDATE to claim it), its change
    log and the job: there is never a VM without the job that creates it."""
    body, statements = post_create(env)
    statements = [sql.replace('"', "`") for sql in statements]  # MariaDB or SQLite quoting
    begin = next(i for i, sql in enumerate(statements) if sql.startswith("SAVEPOINT"))
    end = next(i for i, sql in enumerate(statements) if sql.startswith("RELEASE SAVEPOINT"))
    inside = [sql.split(" (")[0] for sql in statements[begin + 1:end]
              if "`core_event`" not in sql]  # events as rows (without Redis): the job's goes out at once
    assert inside == ["INSERT INTO `compute_vminstance`", "INSERT INTO `core_changelog`", "INSERT INTO `core_job`",
                      "INSERT INTO `core_auditlog`"]  # the request's audit row commits with them
    assert not [sql for sql in statements if sql.startswith("UPDATE `compute_vminstance`")]
    assert len([sql for sql in statements if sql.startswith("INSERT INTO `core_auditlog`")]) == 1
    vm = VmInstance.objects.get(uuid=body["resource"]["uuid"])
    assert str(vm.busy_job) == body["job"]["uuid"]
    [log] = AuditLog.objects.filter(resource_uuid=vm.uuid)
    assert (log.action, log.status_code, log.result, str(log.job_uuid)) == (
        "vm-instances.create", 202, "success", body["job"]["uuid"])
    assert log.method == "POST" and log.duration_ms > 0 and log.user_name == "root-admin"


def test_a_create_undone_after_its_audit_row_is_audited_as_the_failure_it_answers(env, monkeypatch):
    """The audit row written in the create's transaction goes with it; the middleware writes the
    row of the answer the client got."""
    from apps.core.api import flowstarts

    real_write = flowstarts.write_in_transaction

    def write_then_fail(request, status_code):
        real_write(request, status_code)
        raise DatabaseError("the commit failed")

    monkeypatch.setattr(flowstarts, "write_in_transaction", write_then_fail)
    env.client.raise_request_exception = False
    before = AuditLog.objects.count()
    response = env.client.post("/api/v1/vm-instances/", env.body(name="undone"), format="json")
    assert response.status_code == 500
    assert not VmInstance.objects.filter(name="undone").exists()
    [log] = AuditLog.objects.order_by("-id")[:AuditLog.objects.count() - before]
    assert (log.action, log.status_code, log.result) == ("vm-instances.create", 500, "failure")


def test_a_create_whose_job_cannot_be_written_leaves_no_vm(env, monkeypatch):
    from apps.core import prepared
    from apps.core.models import Job

    real_insert = prepared.insert

    def failing_insert(obj):
        if isinstance(obj, Job):
            raise DatabaseError("the job's INSERT failed")
        return real_insert(obj)

    monkeypatch.setattr(prepared, "insert", failing_insert)
    client = env.client
    client.raise_request_exception = False
    response = client.post("/api/v1/vm-instances/", env.body(name="half-made"), format="json")
    assert response.status_code == 500
    assert not VmInstance.objects.filter(name="half-made").exists()


def q(table):
    return connection.ops.quote_name(table)


def test_fields_adjusted_per_instance_stay_per_instance():
    """Serializer fields are built once per class and copied: an update's read-only fields do not
    leak into a create's, in either order."""
    from apps.infra.models import Zone

    cluster = Cluster.objects.create(name="c", zone=Zone.objects.create(name="z"), hypervisor_type="Simulator")
    for _ in range(2):
        assert ClusterSerializer(instance=cluster).fields["zone_uuid"].read_only is True
        assert ClusterSerializer().fields["zone_uuid"].read_only is False


@pytest.mark.django_db(transaction=True)
def test_a_create_whose_flow_ran_inline_answers_what_the_flow_made(admin_client, sim_agent, tmp_path):
    """Eager Celery outside a transaction runs the flow before the answer: its NICs are read."""
    env = Env(admin_client, None, tmp_path)
    response = env.client.post("/api/v1/vm-instances/", env.body(), format="json")
    assert response.status_code == 202, response.content
    [nic] = response.json()["resource"]["nics"]
    assert nic["l3_network_uuid"] == env.l3["uuid"]
