"""200 simultaneous creates where only 100 fit, on MariaDB with several real worker processes:
exactly 100 VMs run, 100 creates fail with a capacity error, no host goes over its capacity and
no address is handed out twice (issue 4)."""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from apps.accounts.models import ApiToken
from apps.compute.models import VmInstance, VmNic
from apps.core.models import Job
from apps.infra.models import Host
from apps.network.models import UsedIp
from cloudportal.celery import app as celery_app
from tests.compute.vm_env import GIB, Env
from tests.hostagent.conftest import ADMIN_TOKEN

pytestmark = pytest.mark.django_db(transaction=True)
CREATES = 200
FITS = 100  # 10 hosts x 1 CPU x cpu ratio 10


@pytest.mark.skipif(connection.vendor != "mysql", reason="concurrency is checked on MariaDB (DATABASE_URL=mysql://)")
def test_200_simultaneous_creates_where_100_fit(admin_user, admin_client, sim_agent, tmp_path):
    env = Env(admin_client, None, tmp_path, hosts=10, cpu_num=1, memory_size=256 * GIB,
              ip_range=("10.20.0.2", "10.20.0.254"))
    token = ApiToken.issue(admin_user)
    body = env.body(name="crowd")

    def create(index):
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        try:
            response = client.post("/api/v1/vm-instances/", {**body, "name": f"crowd-{index}"}, format="json")
            return response.status_code, response.json()["job"]["uuid"]
        finally:
            connection.close()

    with _workers(sim_agent) as workers:
        with ThreadPoolExecutor(max_workers=32) as pool:
            answers = list(pool.map(create, range(CREATES)))
        assert {status for status, _ in answers} == {202}
        jobs = [job for _, job in answers]
        deadline = time.monotonic() + 600
        while Job.objects.filter(uuid__in=jobs, state__in=["pending", "running"]).exists():
            assert time.monotonic() < deadline, "creates did not finish within 10 minutes"
            time.sleep(0.5)

    finished = Job.objects.filter(uuid__in=jobs)
    assert finished.filter(state="succeeded").count() == FITS
    failed = finished.filter(state="failed")
    assert failed.count() == CREATES - FITS
    assert {job.error["code"] for job in failed} == {"NO_HOST_AVAILABLE"}, (
        [job.error for job in failed if job.error["code"] != "NO_HOST_AVAILABLE"][:3], workers.logs())
    assert VmInstance.objects.filter(state="Running").count() == FITS == VmInstance.objects.count()
    for host in Host.objects.all():
        assert host.used_cpu <= host.total_cpu and host.used_cpu == host.vm_instances.count()
    ips = list(VmNic.objects.values_list("ip", flat=True))
    assert len(ips) == len(set(ips)) == FITS
    assert UsedIp.objects.filter(owner_type="VmNic").count() == FITS
    dry = admin_client.post("/api/v1/vm-instances/?dry_run=true", body, format="json")
    assert dry.status_code == 422 and dry.json()["code"] == "NO_HOST_AVAILABLE"


class _workers:
    """Four real worker processes (solo pool) on a private queue, for the duration of a block."""

    def __init__(self, sim_agent):
        self.sim_agent = sim_agent

    def __enter__(self):
        from tests.workers import Workers

        self.started = Workers(count=4, include=(), env={"SIM_AGENT_URL": self.sim_agent.url,
                                                         "SIM_AGENT_TOKEN": ADMIN_TOKEN}).start()
        self.previous = (celery_app.conf.task_always_eager, celery_app.conf.task_default_queue)
        celery_app.conf.task_always_eager = False
        celery_app.conf.task_default_queue = self.started.queue
        return self.started

    def __exit__(self, *exc):
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = self.previous
        self.started.stop()
        if exc[0] is not None:
            print(f"celery worker logs:\n{self.started.logs()}")
