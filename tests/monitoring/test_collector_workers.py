"""The built-in store end to end across processes: real Celery workers take the collector's
samples from a host's agent, and this process's API answers from what they wrote."""
import time

from apps.compute.models import VmInstance
from apps.core.models import GlobalConfig
from apps.infra.models import Cluster, Host, Zone
from apps.monitoring.models import CollectorRun, MetricPoint
from apps.monitoring.tasks import collect_metrics

from .conftest import HOST, VMS


def test_workers_collect_and_the_api_answers_top_n(celery_workers, fake_agent, admin_user, admin_client):
    cluster = Cluster.objects.create(name="c", zone=Zone.objects.create(name="z"), hypervisor_type="KVM")
    Host.objects.create(uuid=HOST, name="kvm-1", cluster=cluster, hypervisor_type="KVM", management_ip="127.0.0.1",
                        agent_port=fake_agent.port, status="Connected", agent_secret="s3cret")
    for i, vm in enumerate(VMS):
        VmInstance.objects.create(uuid=vm, name=f"vm-{i}", account=admin_user.account, cpu_num=1, memory_size=1 << 30)
    GlobalConfig.objects.update_or_create(category="monitoring", name="sampleInterval",
                                          defaults={"type": "int", "value": 1})
    # no result backend: what the workers did is read from the database
    for _ in range(3):
        collect_metrics.delay()
        time.sleep(1.2)
    deadline = time.time() + 30
    while CollectorRun.objects.filter(pk=1, finished_at__gt=0).count() == 0 or \
            MetricPoint.objects.filter(kind="vm", disk_read_bps__isnull=False).count() < len(VMS):
        assert time.time() < deadline, "the workers did not collect"
        time.sleep(0.5)
    body = admin_client.get("/api/v1/metrics/top/", {"kind": "vm", "metric": "disk_read_bps", "window": "1m"}).json()
    assert [r["name"] for r in body["results"]] == ["vm-2", "vm-0", "vm-1"]
    assert abs(body["results"][0]["value"] - 3000.0) < 150
