"""The agent's /metrics/<host_uuid>: the sim backend's series, the token that guards them, the
sample interval the portal sets, and the load the admin API pins."""
import http.client
import time
import urllib.parse
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hostagent.backends.sim import SimBackend
from hostagent.client import AgentClient, AgentError
from hostagent.exposition import HostSample, VmSample, render
from hostagent.signing import metrics_token

from .conftest import ADMIN_TOKEN, AgentProcess
from .helpers import new_host


@pytest.fixture(scope="module")
def fast_agent():
    """A sim agent sampling every second."""
    agent = AgentProcess("--backend", "sim", "--admin-token", ADMIN_TOKEN, "--sample-interval", "1").start()
    yield agent
    agent.stop()


def get_metrics(agent, host_uuid, token=None, bearer=None):
    path = f"/metrics/{host_uuid}"
    if token is not None:
        path += "?" + urllib.parse.urlencode({"token": token})
    conn = http.client.HTTPConnection("127.0.0.1", agent.port, timeout=10)
    conn.request("GET", path, headers={"Authorization": f"Bearer {bearer}"} if bearer else {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, response.getheader("Content-Type"), body.decode()


def series(text):
    """{(name, frozenset(labels.items())): value} of an exposition, parsed by prometheus_client."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value_of(text, name, **labels):
    return series(text).get((name, frozenset(labels.items())))


def running_vm(agent, host_uuid, secret, cpu_num=2, memory_size=1 << 30, nics=()):
    vm_uuid = str(uuid.uuid4())
    client = AgentClient(agent.url, host_uuid, secret)
    client.call("/v1/vm/define", {"vm_uuid": vm_uuid, "name": "m", "cpu_num": cpu_num, "memory_size": memory_size,
                                  "disk_path": "/var/lib/x.qcow2", "nics": list(nics), "start": True})
    return vm_uuid


def wait_until(check, timeout=15, interval=0.2):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def test_metrics_need_that_hosts_token(fast_agent):
    host_uuid, secret = new_host(fast_agent)
    other_uuid, other_secret = new_host(fast_agent)
    token = metrics_token(secret, host_uuid)
    for kwargs in ({}, {"token": "nope"}, {"bearer": "nope"}, {"token": metrics_token(other_secret, other_uuid)},
                   {"token": secret}, {"bearer": metrics_token(secret, other_uuid)}):
        status, _, body = get_metrics(fast_agent, host_uuid, **kwargs)
        assert status == 401 and "BAD_METRICS_TOKEN" in body and "cloudportal_" not in body, kwargs
    status, _, body = get_metrics(fast_agent, str(uuid.uuid4()), token=token)   # a host it does not serve
    assert status == 401 and "cloudportal_" not in body
    for kwargs in ({"token": token}, {"bearer": token}):
        status, content_type, body = get_metrics(fast_agent, host_uuid, **kwargs)
        assert status == 200 and content_type == "text/plain; version=0.0.4; charset=utf-8"
        assert f'cloudportal_host_cpu_percent{{host_uuid="{host_uuid}"}}' in body


def test_exposition_parses_with_every_contract_series(fast_agent):
    host_uuid, secret = new_host(fast_agent, cpu_num=8, memory_size=32 << 30)
    mac = "fa:16:3e:00:00:07"
    vm_uuid = running_vm(fast_agent, host_uuid, secret, memory_size=2 << 30,
                         nics=[{"mac": mac, "bridge": "br_test"}])
    stopped = str(uuid.uuid4())
    AgentClient(fast_agent.url, host_uuid, secret).call(
        "/v1/vm/define", {"vm_uuid": stopped, "name": "s", "cpu_num": 1, "memory_size": 1 << 30})
    token = metrics_token(secret, host_uuid)
    # counters need two samples to have moved
    text = wait_until(lambda: (lambda t: t if (value_of(t, "cloudportal_vm_disk_read_bytes_total", vm_uuid=vm_uuid,
                                                        host_uuid=host_uuid, device="vda") or 0) > 0 else None)(
        get_metrics(fast_agent, host_uuid, token=token)[2]))
    assert text, "the VM's disk counter never moved"
    found = series(text)
    host, vm = {"host_uuid": host_uuid}, {"vm_uuid": vm_uuid, "host_uuid": host_uuid}
    for name in ("cloudportal_host_cpu_percent", "cloudportal_host_load1"):
        assert (name, frozenset(host.items())) in found
    assert value_of(text, "cloudportal_host_memory_total_bytes", **host) == 32 << 30
    assert 0 < value_of(text, "cloudportal_host_memory_used_bytes", **host) <= 32 << 30
    for kind in ("disk_read_bytes", "disk_write_bytes", "disk_read_ops", "disk_write_ops"):
        assert value_of(text, f"cloudportal_host_{kind}_total", device="sda", **host) >= 0
        assert value_of(text, f"cloudportal_vm_{kind}_total", device="vda", **vm) >= 0
    for kind in ("rx_bytes", "tx_bytes", "rx_packets", "tx_packets"):
        assert value_of(text, f"cloudportal_host_network_{kind}_total", device="eth0", **host) >= 0
        assert value_of(text, f"cloudportal_vm_network_{kind}_total", device="vnet0", mac=mac, **vm) >= 0
    assert 0 <= value_of(text, "cloudportal_vm_cpu_percent", **vm) <= 100
    used = value_of(text, "cloudportal_vm_memory_used_bytes", **vm)
    assert 0 < used < 2 << 30 and used + value_of(text, "cloudportal_vm_memory_available_bytes", **vm) == 2 << 30
    assert value_of(text, "cloudportal_agent_sample_duration_seconds") >= 0
    assert abs(value_of(text, "cloudportal_agent_sample_timestamp_seconds") - time.time()) < 5
    assert stopped not in text   # a stopped VM has no figures


def test_pinned_load_shows_in_the_next_samples_and_lets_go(fast_agent):
    host_uuid, secret = new_host(fast_agent, cpu_num=2)
    vm_uuid = running_vm(fast_agent, host_uuid, secret, cpu_num=2)
    token = metrics_token(secret, host_uuid)

    def vm_cpu():
        return value_of(get_metrics(fast_agent, host_uuid, token=token)[2], "cloudportal_vm_cpu_percent",
                        vm_uuid=vm_uuid, host_uuid=host_uuid)

    def host_cpu():
        return value_of(get_metrics(fast_agent, host_uuid, token=token)[2], "cloudportal_host_cpu_percent",
                        host_uuid=host_uuid)

    assert fast_agent.admin("POST", "/sim/load", {"vm_uuid": vm_uuid, "cpu_percent": 95})[0] == 200
    assert wait_until(lambda: vm_cpu() == 95.0)
    assert wait_until(lambda: host_cpu() > 90)   # the host's two CPUs carry the VM's two vCPUs
    assert fast_agent.admin("POST", "/sim/load", {"vm_uuid": vm_uuid, "cpu_percent": 3})[0] == 200
    assert wait_until(lambda: vm_cpu() == 3.0)
    assert wait_until(lambda: host_cpu() < 10)
    assert fast_agent.admin("POST", "/sim/load", {"host_uuid": host_uuid, "cpu_percent": 77.5})[0] == 200
    assert wait_until(lambda: host_cpu() == 77.5)
    assert fast_agent.admin("POST", "/sim/load", {"vm_uuid": vm_uuid, "cpu_percent": None})[0] == 200
    assert wait_until(lambda: vm_cpu() not in (None, 3.0))   # back to its own pattern


def test_load_api_refuses_bad_input(fast_agent):
    host_uuid, secret = new_host(fast_agent)
    vm_uuid = running_vm(fast_agent, host_uuid, secret)
    for body in ({"cpu_percent": 5}, {"vm_uuid": vm_uuid, "host_uuid": host_uuid, "cpu_percent": 5},
                 {"vm_uuid": vm_uuid, "cpu_percent": 101}, {"vm_uuid": vm_uuid, "cpu_percent": "high"},
                 {"vm_uuid": vm_uuid, "cpu_percent": True}):
        status, answer = fast_agent.admin("POST", "/sim/load", body)
        assert (status, answer["code"]) == (400, "INVALID_REQUEST"), body
    assert fast_agent.admin("POST", "/sim/load", {"vm_uuid": str(uuid.uuid4()), "cpu_percent": 5})[0] == 404
    assert fast_agent.admin("POST", "/sim/load", {"host_uuid": "nope", "cpu_percent": 5})[0] == 404


def test_connect_and_ping_set_the_sample_interval(sim_agent):
    """sim_agent samples every 10 s (the default) until the portal says otherwise."""
    host_uuid, secret = new_host(sim_agent)
    client = AgentClient(sim_agent.url, host_uuid, secret)
    assert client.call("/v1/host/ping")["sample_interval"] == 10
    before = sim_agent.admin("GET", "/sim/stats")[1]["samples_taken"]
    assert client.call("/v1/host/connect", {"portal_url": None, "sample_interval": 1})["sample_interval"] == 1
    assert wait_until(lambda: sim_agent.admin("GET", "/sim/stats")[1]["samples_taken"] >= before + 3, timeout=10)
    assert client.call("/v1/host/ping", {"sample_interval": 30})["sample_interval"] == 30
    assert sim_agent.admin("GET", "/sim/stats")[1]["sample_interval"] == 30
    for bad in (0, 0.5, 3601, "10", True, None):
        with pytest.raises(AgentError) as err:
            client.call("/v1/host/connect", {"portal_url": None, "sample_interval": bad})
        assert (err.value.status, err.value.code) == (400, "INVALID_REQUEST")
        assert err.value.details["field"] == "sample_interval"
    assert client.call("/v1/host/ping", {"sample_interval": 10})["sample_interval"] == 10


def test_a_vms_series_is_its_own_and_stable():
    """Two simulators given the same VM produce the same series; another VM has another."""
    def series_of(vm_uuids, times):
        backend = SimBackend({})
        backend.add_host({"host_uuid": "h", "secret": "s", "cpu_num": 64, "memory_size": 1 << 40})
        for vm_uuid in vm_uuids:
            backend.vm_define("h", {"vm_uuid": vm_uuid, "name": "v", "cpu_num": 1, "memory_size": 1 << 30,
                                    "disk_path": None, "vnc": False})
            backend.vm_op("h", "start", vm_uuid, {})
        points = {u: [] for u in vm_uuids}
        for at in times:
            for vm in backend.sample_host(backend.hosts["h"], at).vms:
                points[vm.vm_uuid].append((vm.cpu_percent, vm.disks[0][1]))
        return points

    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    times = [1_800_000_000 + 10 * i for i in range(60)]
    first, second = series_of([a, b], times), series_of([a], times)
    assert first[a] == second[a]
    assert first[a] != first[b]
    cpus = [cpu for cpu, _ in first[a]]
    assert len(set(cpus)) > 30 and all(0 <= c <= 100 for c in cpus)   # it moves, within bounds
    reads = [read for _, read in first[a]]
    assert reads == sorted(reads) and reads[-1] > reads[0]              # a counter only grows


def test_render_escapes_labels_and_leaves_out_what_is_missing():
    sample = HostSample('h"1\\', cpu_percent=None, memory_used=5, memory_total=10, load1=float("nan"),
                        vms=[VmSample("v\n1", cpu_percent=12.5)])
    text = render(sample).decode()
    assert "cloudportal_host_cpu_percent" not in text and "cloudportal_host_load1" not in text
    assert "cloudportal_vm_memory_used_bytes" not in text
    found = series(text)
    assert found[("cloudportal_host_memory_used_bytes", frozenset({"host_uuid": 'h"1\\'}.items()))] == 5
    assert found[("cloudportal_vm_cpu_percent", frozenset({"vm_uuid": "v\n1", "host_uuid": 'h"1\\'}.items()))] == 12.5


def test_a_failed_or_stuck_sample_is_never_served_as_the_present():
    import asyncio

    from hostagent.errors import AgentFailure
    from hostagent.sampling import Sampler

    class Flaky:
        blocking = False
        fail = False

        def sample(self):
            if self.fail:
                raise AgentFailure(503, "LIBVIRT_UNAVAILABLE", "cannot connect")
            return {"h": HostSample("h", cpu_percent=5.0)}

    async def run():
        backend = Flaky()
        sampler = Sampler(backend, 10)
        assert sampler.exposition("h") is None            # nothing sampled yet
        await sampler.sample_once()
        assert b'cloudportal_host_cpu_percent{host_uuid="h"} 5' in sampler.exposition("h")
        assert sampler.exposition("other") is None
        backend.fail = True
        await sampler.sample_once()
        assert sampler.exposition("h") is None            # libvirtd went away: no figures
        backend.fail = False
        await sampler.sample_once()
        assert sampler.exposition("h") is not None
        sampler.taken_at -= 41                            # the next sample is stuck in the hypervisor
        assert sampler.exposition("h") is None

    asyncio.run(run())
