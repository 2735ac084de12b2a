"""A VM state change made behind the portal's back reaches the portal as a signed event."""

import time

import pytest
import requests

from apps.core.models import AuditLog
from apps.infra.models import Cluster, Host, Zone
from tests.conftest import client_for, make_account
from tests.hostagent.conftest import ADMIN_TOKEN, AgentProcess
from tests.workers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sim_agent(settings, live_server):
    agent = AgentProcess("--backend", "sim", "--admin-token", ADMIN_TOKEN).start()
    settings.SIM_AGENT_URL = agent.url
    settings.SIM_AGENT_TOKEN = ADMIN_TOKEN
    settings.PORTAL_URL = live_server.url
    yield agent
    agent.stop()


def test_vm_state_change_behind_the_portals_back_is_reported(sim_agent, live_server):
    from hostagent.client import AgentClient

    admin = client_for(make_account("ops", admin=True))
    cluster = Cluster.objects.create(name="c", zone=Zone.objects.create(name="z"), hypervisor_type="Simulator")
    response = admin.post("/api/v1/hosts/", {"name": "h", "cluster_uuid": str(cluster.uuid), "hypervisor_type":
                                             "Simulator", "cpu_num": 2, "memory_size": 2 ** 31}, format="json")
    assert response.status_code == 202
    host = Host.objects.get(uuid=response.json()["resource"]["uuid"])
    assert host.status == "Connected"
    client = AgentClient(sim_agent.url, str(host.uuid), host.agent_secret)
    vm = "0a1b2c3d-0000-4000-8000-000000000001"
    client.call("/v1/vm/define", {"vm_uuid": vm, "name": "vm1", "cpu_num": 1, "memory_size": 2 ** 26, "vnc": True})
    client.call("/v1/vm/start", {"vm_uuid": vm})
    status, _ = sim_agent.admin("POST", f"/sim/hosts/{host.uuid}/vms/{vm}/state", {"state": "Stopped"})
    assert status == 200
    log = wait_for(lambda: AuditLog.objects.filter(action="hosts.agent-events").first(), timeout=15,
                   message="the agent's event to reach the portal")
    assert log.status_code == 200 and str(log.resource_uuid) == str(host.uuid)
    assert log.user_name == "agent:h"


def test_unsigned_or_replayed_agent_events_are_refused(live_server):
    from hostagent.signing import encode_body, signed_headers

    host = Host.objects.create(name="h", cluster=Cluster.objects.create(name="c", zone=Zone.objects.create(name="z")),
                               hypervisor_type="Simulator", management_ip="127.0.0.1", agent_secret="s" * 64)
    url = live_server.url + "/api/v1/hosts/agent-events/"
    body = encode_body({"host_uuid": str(host.uuid), "events": []})
    assert requests.post(url, data=body, headers={"Content-Type": "application/json"}).status_code == 401
    wrong = signed_headers(str(host.uuid), "wrong-secret", "POST", "/api/v1/hosts/agent-events/", body)
    answer = requests.post(url, data=body, headers=wrong)
    assert answer.status_code == 401 and answer.json()["code"] == "BAD_SIGNATURE"
    stale = signed_headers(str(host.uuid), host.agent_secret, "POST", "/api/v1/hosts/agent-events/", body,
                           timestamp=int(time.time()) - 3600)
    assert requests.post(url, data=body, headers=stale).json()["code"] == "STALE_TIMESTAMP"
    good = signed_headers(str(host.uuid), host.agent_secret, "POST", "/api/v1/hosts/agent-events/", body)
    first = requests.post(url, data=body, headers=good)
    assert first.status_code == 200 and first.json() == {"received": 0}
    replay = requests.post(url, data=body, headers=good)
    assert replay.status_code == 401 and replay.json()["code"] == "REPLAYED"
    bad_body = encode_body({"nope": 1})
    headers = signed_headers(str(host.uuid), host.agent_secret, "POST", "/api/v1/hosts/agent-events/", bad_body)
    assert requests.post(url, data=bad_body, headers=headers).status_code == 400

