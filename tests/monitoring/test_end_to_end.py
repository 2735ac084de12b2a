"""Issue 17's parts together, with nothing injected: a simulated agent's figures, read by the
built-in store's collector, raise a tenant's threshold alarm that reaches a real SMTP server and a
real webhook, and resolve it; the real libvirt agent's QEMU domain, scraped by a real Prometheus,
answered by the portal's metrics API and charted on the VM's page."""
import time
import uuid

import pytest

from apps.core.models import GlobalConfig
from apps.infra.models import Cluster, Host, Zone
from apps.monitoring.collector import collect
from apps.monitoring.metric_rules import evaluate_metric_rules
from apps.monitoring.models import Alarm, AlarmHistory
from hostagent.client import AgentClient
from tests.console.helpers import make_vm
from tests.hostagent.conftest import remove_domain
from tests.infra.test_hosts import add_host
from tests.ui.pages import browser

from .test_event_alarms import SECRET, check_signature, endpoints
from .test_prometheus_scrape import connected_host

pytestmark = pytest.mark.django_db


def sample_every_second():
    GlobalConfig.objects.update_or_create(category="monitoring", name="sampleInterval",
                                          defaults={"type": "int", "value": 1})


def test_a_vm_whose_load_rises_raises_its_owners_alarm_by_mail_and_webhook_and_it_resolves_when_it_falls(
        admin_client, tenant_user, tenant_client, sim_agent, smtp_server, webhook_server,
        django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    sample_every_second()
    cluster = Cluster.objects.create(name="sim", zone=Zone.objects.create(name="z"), hypervisor_type="Simulator")
    host = Host.objects.get(uuid=add_host(admin_client, cluster, capture=capture).json()["resource"]["uuid"])
    vm = make_vm(tenant_user.account, host, name="web-1")
    AgentClient(sim_agent.url, str(host.uuid), host.agent_secret).call("/v1/vm/define", {
        "vm_uuid": str(vm.uuid), "name": "web-1", "cpu_num": 1, "memory_size": 64 << 20, "start": True})

    def load(percent):
        assert sim_agent.admin("POST", "/sim/load", {"vm_uuid": str(vm.uuid), "cpu_percent": percent})[0] == 200
        time.sleep(1.2)   # the agent's next sample (every second) has it
        collect()   # the built-in store's sample, as beat takes it: the agent's /metrics, with its token

    def evaluate():
        with capture(execute=True):   # deliveries go out once the alarm's change is committed
            evaluate_metric_rules()

    rule = tenant_client.post("/api/v1/alarm-rules/", {
        "name": "busy web", "kind": "metric", "resource_kind": "vm", "metric": "cpu", "aggregation": "last",
        "window_seconds": 30, "comparison": ">", "threshold": 80, "duration_seconds": 0,
        "resource_uuids": [str(vm.uuid)], "endpoint_uuids": endpoints(tenant_client, webhook_server)},
        format="json")
    assert rule.status_code == 201, rule.content
    load(20)
    evaluate()
    assert not Alarm.objects.exists() and not smtp_server.messages and not webhook_server.requests   # 20 % is fine

    load(95)
    evaluate()
    alarm = Alarm.objects.get()
    assert (alarm.state, alarm.value, str(alarm.resource_uuid)) == ("Alarm", 95.0, str(vm.uuid))
    evaluate()   # still high: nobody is told twice
    assert len(smtp_server.messages) == 1 and len(webhook_server.requests) == 1
    assert smtp_server.messages[0]["to"] == ["ops@example.com"]
    assert "web-1" in smtp_server.messages[0]["message"]["Subject"]
    check_signature(webhook_server.requests[0])
    told = webhook_server.bodies()[0]
    assert (told["to_state"], told["value"], told["resource"]["uuid"]) == ("Alarm", 95.0, str(vm.uuid))

    load(5)
    evaluate()
    assert Alarm.objects.get().state == "OK"
    assert len(smtp_server.messages) == 2 and len(webhook_server.requests) == 2
    check_signature(webhook_server.requests[1])
    assert webhook_server.bodies()[1]["to_state"] == "OK"
    assert list(AlarmHistory.objects.order_by("id").values_list("to_state", flat=True)) == ["Alarm", "OK"]
    assert SECRET not in str(tenant_client.get("/api/v1/notification-endpoints/").content)


@pytest.mark.libvirt
def test_a_running_qemu_vms_cpu_goes_from_the_agent_through_prometheus_to_the_api_and_the_chart(
        sampling_libvirt_agent, prometheus, settings, tenant_user):
    agent = sampling_libvirt_agent
    vm_uuid = str(uuid.uuid4())
    try:
        agent.client.call("/v1/vm/define", {"vm_uuid": vm_uuid, "name": "e2e", "cpu_num": 1,
                                            "memory_size": 64 << 20, "vnc": False, "start": True})
        cluster = Cluster.objects.create(name="kvm", zone=Zone.objects.create(name="z"), hypervisor_type="KVM")
        host = connected_host(cluster, uuid=agent.host_uuid, management_ip="127.0.0.1", agent_port=agent.port,
                              agent_secret=agent.secret, address_key=f"127.0.0.1:{agent.port}")
        make_vm(tenant_user.account, host, name="e2e", uuid=vm_uuid)
        prometheus.wait_for(f'count_over_time(cloudportal_vm_cpu_percent{{vm_uuid="{vm_uuid}"}}[1m]) >= 3',
                            timeout=90)
        settings.PROMETHEUS_URL = prometheus.url
        sample_every_second()

        answer = browser(tenant_user).get("/api/v1/metrics/series/", {
            "kind": "vm", "metric": "cpu", "uuids": vm_uuid, "period": "2m", "step": 10})
        assert answer.status_code == 200, answer.content
        [series] = answer.json()["series"]
        assert series["uuid"] == vm_uuid and series["points"]
        assert all(0 <= value <= 100 for _ts, value in series["points"])

        # the chart draws steps that have ended (10 s on the hour chart): the first may take a step to come
        deadline = time.monotonic() + 30
        while True:
            chart = browser(tenant_user).get(f"/ui/metrics/vm/{vm_uuid}/", {"period": "hour"})
            assert chart.status_code == 200, chart.content
            points = chart.json()["series"]["cpu"]
            if points or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert points and all(0 <= value <= 100 for _ts, value in points)
    finally:
        remove_domain(vm_uuid)
