"""Host maintenance on simulated hosts: the host is emptied (live-migrated where the VM can move,
stopped where it cannot, per host/maintenance.policy) before it reports Maintenance; nothing is
placed or started there meanwhile; a failure at any step puts everything back.

Live migration itself is another flow (apps/compute/flows/vm_migrate.py); here it is replaced by
a stand-in that moves the VM's row, so the rules of maintenance are tested on their own."""
from types import SimpleNamespace

import pytest

from apps.compute.flows import host_maintenance
from apps.compute.models import VmInstance
from apps.core.testing import fail_after_its_work
from apps.infra.models import Host
from tests.compute.ha_env import HaEnv

pytestmark = pytest.mark.django_db


@pytest.fixture
def env(admin_client, sim_agent, tmp_path, django_capture_on_commit_callbacks):
    env = HaEnv(admin_client, django_capture_on_commit_callbacks, tmp_path, hosts=3)
    env.config("vm", "stop.timeout", 0)
    return env


@pytest.fixture
def migrations(monkeypatch):
    """The stand-in migration: the VM's row moves to the next host with room; ``fail`` lists the
    VMs whose migration fails instead."""
    record = SimpleNamespace(moved=[], fail=set())

    def live_migrate(vm, user=None):
        if str(vm.uuid) in record.fail:
            return SimpleNamespace(state="failed", uuid="j", error={"code": "MIGRATION_FAILED",
                                                                    "message": "the destination refused"})
        source = vm.host
        target = Host.objects.exclude(pk=source.pk).filter(state="Enabled").order_by("id").first()
        assert target.reserve(vm.cpu_num, vm.memory_size)
        source.release(vm.cpu_num, vm.memory_size)
        VmInstance.objects.filter(pk=vm.pk).update(host=target, last_host=target)
        record.moved.append(str(vm.uuid))
        return SimpleNamespace(state="succeeded", uuid="j", error=None)

    monkeypatch.setattr(host_maintenance, "live_migrate", live_migrate)
    return record


def maintain(env, index=0):
    return env.job("post", f"/api/v1/hosts/{env.hosts[index]}/maintain/")[1]


def host(env, index=0):
    return env.client.get(f"/api/v1/hosts/{env.hosts[index]}/").json()


def three_vms(env):
    """Two VMs on shared storage (they can move) and one on local storage (it cannot)."""
    return env.vm_on(0), env.vm_on(0), env.vm_on(0, shared=False)


def test_maintenance_empties_a_host_with_3_vms(env, migrations):
    shared_a, shared_b, local = three_vms(env)
    job = maintain(env)
    assert job["state"] == "succeeded", job
    assert sorted(job["result"]["migrated"]) == sorted([shared_a, shared_b])
    assert job["result"]["stopped"] == [local]
    h0 = host(env)
    assert h0["state"] == "Maintenance" and h0["used_cpu"] == 0 and h0["used_memory"] == 0
    assert env.on_host(0) == set()
    for uuid in (shared_a, shared_b):
        assert env.vm(uuid)["state"] == "Running" and env.vm(uuid)["host_uuid"] != env.hosts[0]
    assert env.vm(local)["state"] == "Stopped" and env.vm(local)["last_host_uuid"] == env.hosts[0]
    assert [s["name"] for s in job["steps"]] == ["EnterPreMaintenance", "PlanEvacuation", "MigrateVms", "StopVms",
                                                 "CheckHostEmpty", "EnterMaintenance"]

    # nothing is placed or started there while it is in maintenance
    created = env.job("post", "/api/v1/vm-instances/", env.body(host_uuid=env.hosts[0]))[1]
    assert created["state"] == "failed" and created["error"]["code"] == "NO_HOST_AVAILABLE"
    assert created["error"]["details"]["filter"] == "HostStateAndStatus"
    start = env.action(local, "start")
    assert start["state"] == "failed" and start["error"]["code"] == "HOST_IN_MAINTENANCE"

    # cancelling puts the host back: the stopped VM starts there again
    response = env.client.post(f"/api/v1/hosts/{env.hosts[0]}/cancel-maintenance/")
    assert response.status_code == 200 and response.json()["state"] == "Enabled"
    assert env.action(local, "start")["state"] == "succeeded"
    assert env.vm(local)["host_uuid"] == env.hosts[0]


def test_just_migrate_refuses_when_a_vm_cannot_move_and_moves_nothing(env, migrations):
    shared_a, shared_b, local = three_vms(env)
    env.config("host", "maintenance.policy", "JustMigrate")
    job = maintain(env)
    assert job["state"] == "failed" and job["error"]["code"] == "HOST_MAINTENANCE_REFUSED"
    assert job["error"]["details"]["vm_uuids"] == [local]
    assert migrations.moved == [] and host(env)["state"] == "Enabled"
    assert env.on_host(0) == {shared_a, shared_b, local}


def test_just_migrate_fails_when_a_migration_fails(env, migrations):
    _, shared_b = env.vm_on(0), env.vm_on(0)
    env.config("host", "maintenance.policy", "JustMigrate")
    migrations.fail = {shared_b}
    job = maintain(env)
    assert job["state"] == "failed" and job["error"]["code"] == "HOST_MAINTENANCE_REFUSED"
    assert host(env)["state"] == "Enabled"
    assert env.vm(shared_b)["host_uuid"] == env.hosts[0] and env.vm(shared_b)["state"] == "Running"


def test_a_vm_whose_migration_fails_is_stopped(env, migrations):
    shared_a, shared_b = env.vm_on(0), env.vm_on(0)
    migrations.fail = {shared_b}
    job = maintain(env)
    assert job["state"] == "succeeded", job
    assert job["result"]["migrated"] == [shared_a] and job["result"]["stopped"] == [shared_b]
    assert job["result"]["migration_failed"][0]["code"] == "MIGRATION_FAILED"
    assert env.vm(shared_b)["state"] == "Stopped" and host(env)["state"] == "Maintenance"


def test_maintenance_needs_an_enabled_or_disabled_host(env, migrations):
    assert maintain(env)["state"] == "succeeded"
    response = env.client.post(f"/api/v1/hosts/{env.hosts[0]}/maintain/")
    assert response.status_code == 409
    assert response.json()["code"] == "INVALID_STATE" and response.json()["details"]["state"] == "Maintenance"
    response = env.client.post(f"/api/v1/hosts/{env.hosts[1]}/cancel-maintenance/")
    assert response.status_code == 409 and response.json()["details"]["state"] == "Enabled"


STEPS = [step for step in host_maintenance.MAINTAIN_HOST.steps]


@pytest.mark.parametrize("step", STEPS, ids=[s.__name__ for s in STEPS])
def test_a_failure_at_each_step_puts_the_host_and_its_vms_back(env, migrations, monkeypatch, step):
    shared_a, shared_b, local = three_vms(env)
    fail_after_its_work(monkeypatch, step)
    job = maintain(env)
    assert job["state"] == "failed" and job["error"]["step"] == step.__name__
    assert "injected" not in str(job["error"]) and "Traceback" not in str(job["error"])
    h0 = Host.objects.get(uuid=env.hosts[0])
    assert h0.state == "Enabled" and h0.busy_job is None
    # what was stopped runs again; what migrated stays where it went, running
    assert env.vm(local)["state"] == "Running" and env.vm(local)["host_uuid"] == env.hosts[0]
    for uuid in (shared_a, shared_b):
        vm = env.vm(uuid)
        assert vm["state"] == "Running"
        assert (vm["host_uuid"] != env.hosts[0]) == (uuid in migrations.moved)
    # the host's capacity is exactly what runs on it
    running = VmInstance.objects.filter(host=h0)
    assert h0.used_cpu == sum(vm.cpu_num for vm in running)
    assert h0.used_memory == sum(vm.memory_size for vm in running)
    assert env.domains(env.hosts[0])[local] == "Running"


def test_an_agent_failure_stopping_a_vm_puts_everything_back(env, migrations, sim_agent):
    _, local_a, local_b = env.vm_on(0), env.vm_on(0, shared=False), env.vm_on(0, shared=False)
    sim_agent.admin("POST", "/sim/faults", {"host_uuid": env.hosts[0], "path": "/v1/vm/stop", "mode": "fail",
                                            "count": 1})
    job = maintain(env)
    assert job["state"] == "failed" and job["error"]["code"] == "HOST_MAINTENANCE_STOP_FAILED"
    assert host(env)["state"] == "Enabled"
    assert {env.vm(u)["state"] for u in (local_a, local_b)} == {"Running"}
    assert env.on_host(0) == {local_a, local_b}


def test_maintenance_live_migrates_through_the_migration_flow(env):
    """No stand-in: each VM on shared storage moves in a live-migration job of its own."""
    from apps.core.models import Job

    shared_a, local = env.vm_on(0), env.vm_on(0, shared=False)
    job = maintain(env)
    assert job["state"] == "succeeded", job
    assert job["result"]["migrated"] == [shared_a] and job["result"]["stopped"] == [local]
    vm = env.vm(shared_a)
    assert vm["state"] == "Running" and vm["host_uuid"] in env.hosts[1:]
    assert env.domains(vm["host_uuid"]).get(shared_a) == "Running"
    assert shared_a not in env.domains(env.hosts[0]) or env.domains(env.hosts[0])[shared_a] != "Running"
    [migration] = Job.objects.filter(resource_uuid=shared_a, action="migrate-vm")
    assert migration.state == "succeeded"
    assert host(env)["state"] == "Maintenance" and host(env)["used_cpu"] == 0
