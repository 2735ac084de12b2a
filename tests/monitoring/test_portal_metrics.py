"""The portal's own metrics at /metrics: protected, summed over processes, and saying what the
issue asks (jobs by flow and state with durations, API latency by endpoint, hosts by status,
queue depth)."""
import os
import subprocess
import sys
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from apps.infra.models import Cluster, Host, Zone


def scrape(client, **headers):
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.content.decode()) for s in family.samples}


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_are_for_admins_or_the_bearer_token(client, tenant_client, admin_client, settings, db):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics").json()["code"] == "UNAUTHENTICATED"
    assert tenant_client.get("/metrics").status_code == 403
    scrape(admin_client)
    settings.METRICS_BEARER_TOKEN = "prom-scrape-token"
    scrape(client, HTTP_AUTHORIZATION="Bearer prom-scrape-token")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    settings.METRICS_BEARER_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_api_latency_by_endpoint(admin_client):
    before = value(scrape(admin_client), "cloudportal_api_request_duration_seconds_count",
                   endpoint="metrics-list", method="GET", status="2xx")
    for _ in range(3):
        admin_client.get("/api/v1/metrics/")
    admin_client.get("/api/v1/metrics/top/", {"kind": "nope"})
    samples = scrape(admin_client)
    assert value(samples, "cloudportal_api_request_duration_seconds_count",
                 endpoint="metrics-list", method="GET", status="2xx") == before + 3
    assert value(samples, "cloudportal_api_request_duration_seconds_count",
                 endpoint="metrics-top", method="GET", status="4xx") >= 1


def test_jobs_by_flow_and_state_with_durations(admin_client, django_capture_on_commit_callbacks):
    zone = Zone.objects.create(name="z-metrics")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.delete(f"/api/v1/zones/{zone.uuid}/")
    assert response.status_code == 202, response.content
    job = admin_client.get(response["Location"]).json()
    assert job["state"] == "succeeded"
    from apps.core.models import Job

    flow = Job.objects.get(uuid=job["uuid"]).flow
    samples = scrape(admin_client)
    assert value(samples, "cloudportal_job_duration_seconds_count", flow=flow, state="succeeded") >= 1
    assert ("cloudportal_job_duration_seconds_bucket",
            tuple(sorted({"flow": flow, "state": "succeeded", "le": "+Inf"}.items()))) in samples


def test_hosts_by_status_and_queue_depth(admin_client):
    cluster = Cluster.objects.create(name="c", zone=Zone.objects.create(name="z"), hypervisor_type="Simulator")
    for i, status in enumerate(["Connected", "Connected", "Disconnected"]):
        Host.objects.create(name=f"h{i}", cluster=cluster, hypervisor_type="Simulator", status=status)
    samples = scrape(admin_client)
    assert value(samples, "cloudportal_hosts", status="Connected") == 2
    assert value(samples, "cloudportal_hosts", status="Disconnected") == 1
    assert ("cloudportal_hosts", (("status", "Connecting"),)) in samples
    assert ("cloudportal_queue_depth", (("queue", "celery"),)) in samples


def test_counts_of_other_processes_are_summed(admin_client):
    """A worker process's job counts reach the web process's /metrics (prometheus-client's files)."""
    flow = f"flow-{uuid.uuid4().hex[:8]}"
    program = ("from apps.monitoring.portal_metrics import JOB_DURATION\n"
               f"JOB_DURATION.labels({flow!r}, 'failed').observe(2.0)\n")
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="cloudportal.settings")
    for _ in range(2):
        subprocess.run([sys.executable, "-c", "import django; django.setup()\n" + program], check=True, env=env,
                       cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    samples = scrape(admin_client)
    assert value(samples, "cloudportal_job_duration_seconds_count", flow=flow, state="failed") == 2
    assert value(samples, "cloudportal_job_duration_seconds_sum", flow=flow, state="failed") == 4.0


@pytest.fixture(autouse=True)
def _db(db):
    pass


@pytest.mark.filterwarnings("ignore:task_always_eager has no effect")   # send_task goes to the broker: wanted
def test_queue_depth_counts_waiting_tasks(admin_client, settings):
    from celery import current_app

    queue = f"cp-test-depth-{uuid.uuid4().hex[:6]}"
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    assert value(scrape(admin_client), "cloudportal_queue_depth", queue=queue) == 0
    for _ in range(3):
        current_app.send_task("tests.no.such.task", queue=queue)   # no worker reads this queue
    try:
        assert value(scrape(admin_client), "cloudportal_queue_depth", queue=queue) == 3
    finally:
        with current_app.connection_for_write() as connection:
            connection.default_channel.queue_purge(queue)
