"""Destroying and expunging a stopped VM removes its domain from the host it stays defined on
(simulated hosts; the real-QEMU check is in test_vm_kvm_cleanup.py). A stopped VM has no host (stop,
power-off and a create with "start": false give it back) but its domain lives on its last host."""
import pytest

from apps.compute.models import VmInstance
from apps.infra.models import Host
from tests.compute.vm_env import Env

pytestmark = pytest.mark.django_db


@pytest.fixture
def env(admin_client, sim_agent, tmp_path, django_capture_on_commit_callbacks):
    return Env(admin_client, django_capture_on_commit_callbacks, tmp_path, hosts=1)


def _destroy(env, uuid):
    _, job = env.job("delete", f"/api/v1/vm-instances/{uuid}/")
    assert job["state"] == "succeeded", job
    return job


def test_a_vm_created_stopped_loses_its_domain_when_destroyed_and_expunged(env):
    uuid, job = env.create(start=False)
    assert job["state"] == "succeeded", job
    vm = env.vm(uuid)
    host = vm["last_host_uuid"]
    assert vm["state"] == "Stopped" and vm["host_uuid"] is None and env.domains(host) == {uuid: "Stopped"}
    _destroy(env, uuid)
    assert uuid not in env.domains(host)
    assert env.action(uuid, "expunge")["state"] == "succeeded"
    assert uuid not in env.domains(host) and not VmInstance.objects.filter(uuid=uuid).exists()


def test_a_powered_off_vm_loses_its_domain_when_destroyed(env):
    uuid, _ = env.create()
    host = env.vm(uuid)["host_uuid"]
    assert env.action(uuid, "power-off")["state"] == "succeeded"
    assert env.vm(uuid)["host_uuid"] is None and env.domains(host) == {uuid: "Stopped"}
    _destroy(env, uuid)
    assert env.domains(host) == {}


def test_a_direct_delete_of_a_stopped_vm_removes_its_domain_once(env, monkeypatch):
    from apps.infra import agent

    env.client.patch("/api/v1/global-configs/vm/deletionPolicy/", {"value": "Direct"}, format="json")
    uuid, _ = env.create()
    host = env.vm(uuid)["host_uuid"]
    assert env.action(uuid, "stop")["state"] == "succeeded"
    calls = []
    real_call = agent.call
    monkeypatch.setattr(agent, "call", lambda h, path, *a, **kw: calls.append(path) or real_call(h, path, *a, **kw))
    job = _destroy(env, uuid)
    assert job["flow"] == "destroy-expunge-vm" and not VmInstance.objects.filter(uuid=uuid).exists()
    assert env.domains(host) == {} and calls.count("/v1/vm/undefine") == 1


def test_a_domain_a_destroy_could_not_reach_is_reported_and_removed_by_the_expunge(env):
    uuid, _ = env.create(start=False)
    host = env.vm(uuid)["last_host_uuid"]
    Host.objects.filter(uuid=host).update(status="Disconnected")
    job = _destroy(env, uuid)
    assert job["result"]["domain_left"]["host_uuid"] == host
    assert job["result"]["domain_left"]["code"] == "HOST_DISCONNECTED"
    assert env.vm(uuid)["state"] == "Destroyed"
    Host.objects.filter(uuid=host).update(status="Connected")
    assert env.domains(host) == {uuid: "Stopped"}
    job = env.action(uuid, "expunge")
    assert job["state"] == "succeeded" and "domain_left" not in job["result"], job
    assert env.domains(host) == {}
