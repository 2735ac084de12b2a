"""The sim backend: many hosts in one process, fault injection, domain ops, events."""
import concurrent.futures
import hashlib
import json
import time
import uuid

import pytest

import hostagent
from hostagent.client import AgentClient, AgentError
from hostagent.signing import sign

from .helpers import new_host


def test_admin_api_needs_the_token(sim_agent):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", sim_agent.port, timeout=5)
    conn.request("GET", "/sim/hosts", headers={"Authorization": "Bearer wrong"})
    response = conn.getresponse()
    assert response.status == 401 and json.loads(response.read())["code"] == "BAD_ADMIN_TOKEN"


def test_a_thousand_hosts_each_answer_with_their_own_uuid(sim_agent):
    hosts = [(str(uuid.uuid4()), uuid.uuid4().hex) for _ in range(1000)]

    def add(host):
        status, _ = sim_agent.admin("POST", "/sim/hosts", {"host_uuid": host[0], "secret": host[1],
                                                           "cpu_num": 4, "memory_size": 8 << 30})
        return status

    def ping(host):
        return AgentClient(sim_agent.url, host[0], host[1], timeout=10).call("/v1/host/ping")

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        assert set(pool.map(add, hosts)) == {200}
        assert sim_agent.admin("GET", "/sim/hosts")[1]["count"] >= 1000
        answers = list(pool.map(ping, hosts))
    assert [a["host_uuid"] for a in answers] == [h[0] for h in hosts]
    assert {a["agent_version"] for a in answers} == {hostagent.__version__}
    # A host's secret does not open another host.
    with pytest.raises(AgentError) as err:
        AgentClient(sim_agent.url, hosts[0][0], hosts[1][1]).call("/v1/host/ping")
    assert err.value.code == "BAD_SIGNATURE"
    for host in hosts:
        assert sim_agent.admin("DELETE", f"/sim/hosts/{host[0]}")[0] == 200
    with pytest.raises(AgentError) as err:
        ping(hosts[0])
    assert (err.value.status, err.value.code) == (401, "UNKNOWN_HOST")


def test_connect_facts_and_capacity(sim_agent):
    host_uuid, secret = new_host(sim_agent, cpu_num=16, memory_size=32 << 30, hostname="node-7")
    client = AgentClient(sim_agent.url, host_uuid, secret)
    answer = client.call("/v1/host/connect", {"portal_url": "http://127.0.0.1:8000"})
    assert answer["host_uuid"] == host_uuid and answer["agent_version"] == hostagent.__version__
    facts = answer["facts"]
    assert facts["cpu_num"] == 16 and facts["memory_size"] == 32 << 30 and facts["hostname"] == "node-7"
    assert set(facts) >= {"cpu_model", "cpu_sockets", "cpu_cores", "cpu_threads", "cpu_num", "memory_size",
                          "hostname", "os", "libvirt_version", "qemu_version", "kvm_available"}
    assert answer["capacity"] == {"cpu_num": 16, "memory_size": 32 << 30, "free_memory": 32 << 30}
    assert client.call("/v1/host/facts") == facts
    with pytest.raises(AgentError) as err:
        client.call("/v1/host/connect", {"portal_url": "ftp://nope"})
    assert (err.value.status, err.value.code) == (400, "INVALID_REQUEST")


def test_fail_exactly_n_times_then_ok_only_for_the_targeted_host(sim_agent):
    target, target_secret = new_host(sim_agent)
    other, other_secret = new_host(sim_agent)
    status, fault = sim_agent.admin("POST", "/sim/faults", {"host_uuid": target, "path": "/v1/host/ping",
                                                            "mode": "fail", "count": 3})
    assert status == 200
    client = AgentClient(sim_agent.url, target, target_secret, timeout=5)
    for _ in range(3):
        with pytest.raises(AgentError) as err:
            client.call("/v1/host/ping")
        assert (err.value.status, err.value.code) == (503, "INJECTED_FAILURE")
        AgentClient(sim_agent.url, other, other_secret).call("/v1/host/ping")   # untouched
        client.call("/v1/host/facts")                                           # other paths untouched
    assert client.call("/v1/host/ping")["host_uuid"] == target
    assert sim_agent.admin("GET", "/sim/faults")[1]["faults"] == []


def test_global_fault_until_cleared(sim_agent):
    hosts = [new_host(sim_agent) for _ in range(3)]
    sim_agent.admin("POST", "/sim/faults", {"host_uuid": None, "path": "/v1/host/ping", "mode": "fail", "count": None})
    try:
        for _ in range(2):
            for host_uuid, secret in hosts:
                with pytest.raises(AgentError) as err:
                    AgentClient(sim_agent.url, host_uuid, secret).call("/v1/host/ping")
                assert err.value.code == "INJECTED_FAILURE"
    finally:
        assert sim_agent.admin("DELETE", "/sim/faults")[1]["cleared"] == 1
    for host_uuid, secret in hosts:
        assert AgentClient(sim_agent.url, host_uuid, secret).call("/v1/host/ping")["host_uuid"] == host_uuid


def test_slow_and_hang(sim_agent):
    host_uuid, secret = new_host(sim_agent)
    client = AgentClient(sim_agent.url, host_uuid, secret, timeout=5)
    sim_agent.admin("POST", "/sim/faults", {"host_uuid": host_uuid, "path": "/v1/host/ping", "mode": "slow",
                                            "count": 1, "delay": 0.6})
    started = time.monotonic()
    client.call("/v1/host/ping")
    assert time.monotonic() - started >= 0.6
    sim_agent.admin("POST", "/sim/faults", {"host_uuid": host_uuid, "path": "/v1/host/ping", "mode": "hang",
                                            "count": None})
    try:
        started = time.monotonic()
        with pytest.raises(AgentError) as err:
            AgentClient(sim_agent.url, host_uuid, secret, timeout=1).call("/v1/host/ping")
        assert (err.value.status, err.value.code) == (0, "TIMEOUT")
        assert time.monotonic() - started < 3
        # The hang holds only its own request: the rest of the agent answers at once.
        assert client.call("/v1/host/capacity")["cpu_num"] == 8
    finally:
        sim_agent.admin("DELETE", "/sim/faults")
    assert client.call("/v1/host/ping")["host_uuid"] == host_uuid


def test_default_latency_setting(sim_agent):
    host_uuid, secret = new_host(sim_agent)
    client = AgentClient(sim_agent.url, host_uuid, secret, timeout=5)
    assert sim_agent.admin("POST", "/sim/settings", {"latency": 0.3})[1] == {"latency": 0.3}
    try:
        started = time.monotonic()
        client.call("/v1/host/ping")
        assert time.monotonic() - started >= 0.3
    finally:
        sim_agent.admin("POST", "/sim/settings", {"latency": 0})


def test_define_with_start_defines_and_starts_in_one_call(sim_agent):
    host_uuid, secret = new_host(sim_agent, memory_size=1 << 30)
    client = AgentClient(sim_agent.url, host_uuid, secret)
    vm = str(uuid.uuid4())
    spec = {"vm_uuid": vm, "name": "web-1", "cpu_num": 1, "memory_size": 256 << 20, "start": True}
    assert client.call("/v1/vm/define", spec) == {"vm_uuid": vm, "state": "Running"}
    assert client.call("/v1/vm/states") == {"vms": {vm: "Running"}}
    assert client.call("/v1/vm/define", spec)["state"] == "Running"   # again: still one domain, running
    with pytest.raises(AgentError) as err:
        client.call("/v1/vm/define", {**spec, "vm_uuid": str(uuid.uuid4()), "start": "yes"})
    assert (err.value.status, err.value.code) == (400, "INVALID_REQUEST") and len(client.call("/v1/vm/states")["vms"]) == 1


def test_dhcp_apply_with_the_physical_interface_ensures_the_bridge_in_the_same_call(sim_agent):
    host_uuid, secret = new_host(sim_agent, memory_size=1 << 30)
    client = AgentClient(sim_agent.url, host_uuid, secret)
    l3 = str(uuid.uuid4())
    body = {"l3_uuid": l3, "bridge": "br_eth9", "server_ip": "10.9.0.2", "netmask": "255.255.255.0",
            "gateway": "10.9.0.1", "dns": [], "entries": [{"mac": "fa:00:00:00:00:01", "ip": "10.9.0.5"}]}
    with pytest.raises(AgentError) as err:   # no bridge, and not asked to make it
        client.call("/v1/dhcp/apply", body)
    assert (err.value.status, err.value.code) == (409, "BRIDGE_NOT_FOUND")
    with pytest.raises(AgentError) as err:
        client.call("/v1/dhcp/apply", {**body, "physical_interface": "not an interface!"})
    assert (err.value.status, err.value.code) == (400, "INVALID_REQUEST")
    assert client.call("/v1/dhcp/apply", {**body, "physical_interface": "eth9"})["entries"] == 1
    state = client.call("/v1/network/state")
    assert state["bridges"] == {"br_eth9": "eth9"} and state["dhcp"][l3]["entries"][0]["ip"] == "10.9.0.5"
    with pytest.raises(AgentError) as err:   # what bridge/ensure refuses, this refuses too
        client.call("/v1/dhcp/apply", {**body, "bridge": "br_other", "physical_interface": "eth9"})
    assert (err.value.status, err.value.code) == (409, "INTERFACE_IN_USE")


def test_domain_operations_and_states(sim_agent):
    host_uuid, secret = new_host(sim_agent, memory_size=1 << 30)
    client = AgentClient(sim_agent.url, host_uuid, secret)
    vm = str(uuid.uuid4())
    spec = {"vm_uuid": vm, "name": "web-1", "cpu_num": 2, "memory_size": 256 << 20, "vnc": True}
    assert client.call("/v1/vm/define", spec) == {"vm_uuid": vm, "state": "Stopped"}
    assert client.call("/v1/vm/define", spec)["state"] == "Stopped"          # idempotent
    assert client.call("/v1/vm/states") == {"vms": {vm: "Stopped"}}
    assert client.call("/v1/vm/vnc-port", {"vm_uuid": vm}) == {"vm_uuid": vm, "port": None}
    with pytest.raises(AgentError) as err:
        client.call("/v1/vm/pause", {"vm_uuid": vm})
    assert (err.value.status, err.value.code) == (409, "INVALID_STATE")
    assert client.call("/v1/vm/start", {"vm_uuid": vm})["state"] == "Running"
    assert client.call("/v1/vm/start", {"vm_uuid": vm})["state"] == "Running"   # already running: success
    assert isinstance(client.call("/v1/vm/vnc-port", {"vm_uuid": vm})["port"], int)
    assert client.call("/v1/host/capacity")["free_memory"] == (1 << 30) - (256 << 20)
    assert client.call("/v1/vm/pause", {"vm_uuid": vm})["state"] == "Paused"
    assert client.call("/v1/vm/pause", {"vm_uuid": vm})["state"] == "Paused"
    assert client.call("/v1/vm/states") == {"vms": {vm: "Paused"}}
    assert client.call("/v1/vm/resume", {"vm_uuid": vm})["state"] == "Running"
    assert client.call("/v1/vm/reboot", {"vm_uuid": vm})["state"] == "Running"
    assert client.call("/v1/vm/stop", {"vm_uuid": vm})["state"] == "Stopped"
    assert client.call("/v1/vm/stop", {"vm_uuid": vm})["state"] == "Stopped"
    assert client.call("/v1/vm/start", {"vm_uuid": vm})["state"] == "Running"
    assert client.call("/v1/vm/destroy", {"vm_uuid": vm})["state"] == "Stopped"
    assert client.call("/v1/vm/destroy", {"vm_uuid": vm})["state"] == "Stopped"
    assert client.call("/v1/vm/undefine", {"vm_uuid": vm})["vm_uuid"] == vm
    assert client.call("/v1/vm/states") == {"vms": {}}
    for op in ("start", "stop", "destroy", "pause", "resume", "reboot", "undefine", "vnc-port"):
        with pytest.raises(AgentError) as err:
            client.call(f"/v1/vm/{op}", {"vm_uuid": vm})
        assert (err.value.status, err.value.code) == (404, "VM_NOT_FOUND")
    with pytest.raises(AgentError) as err:
        client.call("/v1/vm/define", {"vm_uuid": "not-a-uuid", "cpu_num": 1, "memory_size": 1})
    assert (err.value.status, err.value.code) == (400, "INVALID_REQUEST")
    with pytest.raises(AgentError) as err:
        client.call("/v1/vm/define", {"vm_uuid": vm, "cpu_num": 0, "memory_size": 1})
    assert err.value.details["field"] == "cpu_num"


def test_state_change_behind_the_portals_back_is_reported(sim_agent, event_receiver):
    host_uuid, secret = new_host(sim_agent)
    client = AgentClient(sim_agent.url, host_uuid, secret)
    client.call("/v1/host/connect", {"portal_url": event_receiver.url})
    vm = str(uuid.uuid4())
    client.call("/v1/vm/define", {"vm_uuid": vm, "name": "x", "cpu_num": 1, "memory_size": 64 << 20})
    client.call("/v1/vm/start", {"vm_uuid": vm})
    status, _ = sim_agent.admin("POST", f"/sim/hosts/{host_uuid}/vms/{vm}/state", {"state": "Stopped"})
    assert status == 200
    item = event_receiver.wait_for(lambda i: vm.encode() in i["body"])
    assert item is not None, sim_agent.log()
    check_event_post(item, host_uuid, secret, vm, "Stopped")


def check_event_post(item, host_uuid, secret, vm_uuid, state):
    assert item["path"] == "/api/v1/hosts/agent-events/"
    headers = {k.lower(): v for k, v in item["headers"].items()}
    assert headers["x-host-uuid"] == host_uuid
    assert abs(int(headers["x-timestamp"]) - time.time()) < 60
    expected = sign(secret, "POST", item["path"], headers["x-timestamp"], headers["x-request-id"], item["body"])
    assert headers["x-signature"] == expected
    body = json.loads(item["body"])
    assert body["host_uuid"] == host_uuid
    events = [e for e in body["events"] if e["vm_uuid"] == vm_uuid]
    assert events[-1]["type"] == "vm.state" and events[-1]["state"] == state
    assert isinstance(events[-1]["time"], (int, float))
    assert hashlib.sha256(item["body"]).hexdigest()  # the signed body is the raw body
