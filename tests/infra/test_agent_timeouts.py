"""Each agent operation waits as long as its kind may take on a busy host (global configs), not the
ping's few seconds: a define queued behind other creates is not a host that does not answer."""
import pytest

from apps.infra import agent
from apps.infra.models import Cluster, Host, Zone
from hostagent.backends.base import VM_OPS
from hostagent.backends import routes as feature_routes
from hostagent.backends.network_base import NETWORK_PATHS
from hostagent.backends.routes import ROUTES
from hostagent.backends.storage_base import STORAGE_ROUTES
from hostagent.client import AgentClient
from tests.compute.vm_env import Env

pytestmark = pytest.mark.django_db

CONFIGS = {("host", "ping.timeout"): 7, ("host", "agent.timeout.read"): 31, ("host", "agent.timeout.vm"): 121,
           ("host", "agent.timeout.network"): 61, ("host", "agent.timeout.storage"): 301,
           ("host", "agent.timeout.default"): 59, ("image", "download.timeout"): 3601}

EXPECTED = {
    "/v1/host/ping": 7,
    **dict.fromkeys(["/v1/host/connect", "/v1/host/facts", "/v1/host/capacity", "/v1/vm/states", "/v1/vm/vnc-port",
                     "/v1/network/state", "/v1/storage/capacity", "/v1/volume/info"], 31),
    **dict.fromkeys(["/v1/vm/define", "/v1/vm/start", "/v1/vm/stop", "/v1/vm/destroy", "/v1/vm/undefine",
                     "/v1/vm/pause", "/v1/vm/resume", "/v1/vm/reboot"], 121),
    **dict.fromkeys(["/v1/network/bridge/ensure", "/v1/network/bridge/delete", "/v1/dhcp/apply", "/v1/dhcp/release",
                     "/v1/dhcp/delete", "/v1/network/cleanup"], 61),
    **dict.fromkeys(["/v1/volume/create", "/v1/volume/delete", "/v1/image/uncache"], 301),
    "/v1/image/cache": 3601,
    **dict.fromkeys(["/v1/storage/mount", "/v1/storage/unmount"], 301), "/v1/storage/mounts": 31,
    "/v1/ha/heartbeat/start": 31, "/v1/ha/heartbeat/read": 7,   # HA (hostagent/backends/heartbeat.py)
    "/v1/volume/export": 301, "/v1/vm/migrate": 600,   # migration (vm/migrate.timeout at its default)
    **dict.fromkeys(["/v1/volume/snapshot", "/v1/volume/snapshot-undo", "/v1/volume/snapshot-merge",
                     "/v1/volume/rename", "/v1/volume/resize", "/v1/vm/config-drive"], 301),
    **dict.fromkeys(["/v1/volume/copy", "/v1/volume/convert-to-image"], 3601),
    **dict.fromkeys(["/v1/vm/attach-disk", "/v1/vm/detach-disk", "/v1/vm/cdrom", "/v1/vm/cpu-memory", "/v1/vm/qos",
                     "/v1/vm/password"], 121),
}


@pytest.fixture
def waits(monkeypatch):
    """(path, timeout) of every agent call, answered {} without a network."""
    seen = []
    monkeypatch.setattr(AgentClient, "call", lambda self, path, body=None, request_id=None:
                        seen.append((path, self.timeout)) or {})
    return seen


@pytest.fixture
def host(db):
    cluster = Cluster.objects.create(name="c", zone=Zone.objects.create(name="z"), hypervisor_type="KVM")
    return Host.objects.create(name="h", cluster=cluster, hypervisor_type="KVM", management_ip="192.0.2.1",
                               agent_secret="s", status="Connected", address_key="192.0.2.1:7070")


def _set(client, category, name, value):
    response = client.patch(f"/api/v1/global-configs/{category}/{name}/", {"value": value}, format="json")
    assert response.status_code == 200, response.content


def test_every_agent_path_has_a_timeout_of_its_kind():
    served = {"/v1/host/connect", "/v1/host/ping", "/v1/host/facts", "/v1/host/capacity", "/v1/vm/define",
              "/v1/vm/states", *(f"/v1/vm/{op}" for op in VM_OPS), *NETWORK_PATHS, *STORAGE_ROUTES, *ROUTES}
    assert served == set(EXPECTED) == set(agent.PATH_TIMEOUTS)


def test_each_operation_waits_its_own_configured_time(admin_client, host, waits):
    for (category, name), value in CONFIGS.items():
        _set(admin_client, category, name, value)
    for path in EXPECTED:
        agent.call(host, path, {})
    agent.call(host, "/v1/some/new-path", {})
    agent.call(host, "/v1/vm/stop", {}, timeout=90)  # a caller's own timeout wins (a graceful stop's)
    assert waits == [*EXPECTED.items(), ("/v1/some/new-path", 59), ("/v1/vm/stop", 90)]


def test_a_changed_timeout_applies_to_the_next_call(admin_client, host, waits):
    agent.call(host, "/v1/vm/define", {})
    _set(admin_client, "host", "agent.timeout.vm", 240)
    agent.call(host, "/v1/vm/define", {})
    agent.call(host, "/v1/host/ping", {})
    assert waits == [("/v1/vm/define", 120), ("/v1/vm/define", 240), ("/v1/host/ping", 5)]


def test_a_define_slower_than_a_ping_may_take_does_not_fail_the_create(
        admin_client, sim_agent, tmp_path, django_capture_on_commit_callbacks):
    env = Env(admin_client, django_capture_on_commit_callbacks, tmp_path, hosts=1)
    _set(admin_client, "host", "ping.timeout", 1)
    sim_agent.admin("POST", "/sim/faults", {"host_uuid": env.hosts[0], "path": "/v1/vm/define", "mode": "slow",
                                            "delay": 1.5, "count": 1})
    uuid, job = env.create()
    assert job["state"] == "succeeded", job["error"]
    assert env.vm(uuid)["state"] == "Running"


@pytest.mark.parametrize("failure", ["refused", "timeout"])
def test_an_unreachable_agent_is_named_by_its_host_never_by_its_address(host, failure, monkeypatch, caplog):
    """The error reaches the VM owner's job: it names the host, not its address or the agent's port."""
    from hostagent.client import AgentError

    def unreachable(self, path, body=None, request_id=None):
        if failure == "timeout":
            raise AgentError(0, "TIMEOUT", f"no answer from {self.base_url}{path} within {self.timeout}s")
        raise AgentError(0, "UNREACHABLE", f"{self.base_url}{path}: [Errno 111] Connection refused")

    monkeypatch.setattr(AgentClient, "call", unreachable)
    with pytest.raises(agent.AgentUnreachable) as caught:
        agent.call(host, "/v1/vm/define", {}, timeout=9)
    expected = "within 9 s" if failure == "timeout" else "(connection failed)"
    assert caught.value.message == f"the agent of host h did not answer /v1/vm/define {expected}"
    assert "192.0.2.1" not in str(caught.value.as_dict()) and "7070" not in str(caught.value.as_dict())
    assert "192.0.2.1:7070" in caplog.text   # the operator finds it in the log
