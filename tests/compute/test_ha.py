"""HA on simulated hosts: a NeverStop VM whose host is confirmed down restarts on another host,
exactly once; the rules that keep it from running twice or against its user's wish.
The real-QEMU test (agent and libvirtd of the second libvirt host stopped) is test_ha_kvm.py."""
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.compute import ha
from apps.compute.flows.ha_restart import HA_RESTART_VM
from apps.compute.models import HaRestart, VmInstance
from apps.core.models import Job
from apps.core.testing import fail_after_its_work
from apps.infra.models import Host
from tests.compute.ha_env import HaEnv


@pytest.fixture
def env(admin_client, sim_agent, tmp_path, django_capture_on_commit_callbacks, db):
    env = HaEnv(admin_client, django_capture_on_commit_callbacks, tmp_path, hosts=3)
    env.config("ha", "host.check.times", 2)
    return env


def tick(env, checks=2):
    """``checks`` HA checks in a row, then the restarts due (their jobs run inline)."""
    for _ in range(checks):
        ha.check_failed_hosts(gate=False)
    with env.capture(execute=True):
        return ha.run_due_restarts()


def restart_jobs(uuid):
    return list(Job.objects.filter(resource_uuid=uuid, action="ha-restart-vm").order_by("created_at"))


@pytest.mark.django_db
def test_never_stop_vm_restarts_on_another_host_once_its_host_is_confirmed_down(env, sim_agent):
    uuid = env.vm_on(0, ha=True)
    plain = env.vm_on(0)   # no HA level: stays with its host
    env.fail_host(sim_agent, 0)

    ha.check_failed_hosts(gate=False)
    assert env.vm(uuid)["state"] == "Running" and not HaRestart.objects.exists()   # 1 check of 2: not yet
    assert tick(env, checks=1) == 1
    vm = env.vm(uuid)
    assert vm["state"] == "Running" and vm["host_uuid"] in env.hosts[1:]
    assert env.domains(vm["host_uuid"]) == {uuid: "Running"}
    assert Host.objects.get(uuid=env.hosts[0]).used_cpu == 1   # only the plain VM's CPU is left there
    assert env.vm(plain)["host_uuid"] == env.hosts[0]
    [job] = restart_jobs(uuid)
    assert job.state == "succeeded" and job.result["failed_host_uuid"] == env.hosts[0]
    assert HaRestart.objects.get().state == "Done"
    # later beats do nothing more
    assert tick(env) == 0 and len(restart_jobs(uuid)) == 1

    # back on that host (migrated there, say), which fails again: restarted again
    new_host = vm["host_uuid"]
    Host.objects.filter(uuid=env.hosts[0]).update(status="Connected")
    VmInstance.objects.filter(uuid=uuid).update(host=Host.objects.get(uuid=env.hosts[0]))
    Host.objects.filter(uuid=new_host).update(used_cpu=0, used_memory=0)
    Host.objects.filter(uuid=env.hosts[0]).update(status="Disconnected")
    assert tick(env) == 1 and len(restart_jobs(uuid)) == 2
    assert env.vm(uuid)["state"] == "Running" and env.vm(uuid)["host_uuid"] != env.hosts[0]


@pytest.mark.django_db
def test_a_vm_stopped_by_its_user_is_not_restarted(env, sim_agent):
    uuid = env.vm_on(0, ha=True)
    assert env.action(uuid, "stop")["state"] == "succeeded"
    env.fail_host(sim_agent, 0)
    tick(env, checks=3)
    assert env.vm(uuid)["state"] == "Stopped" and not restart_jobs(uuid) and not HaRestart.objects.exists()


@pytest.mark.django_db
def test_a_host_whose_heartbeat_is_fresh_is_not_confirmed_down(env, sim_agent):
    """Agent silent, but the host still writes its storage heartbeat (a network cut): no restart."""
    uuid = env.vm_on(0, ha=True)
    env.fail_host(sim_agent, 0, heartbeat=False)
    tick(env, checks=5)
    assert env.vm(uuid)["host_uuid"] == env.hosts[0] and env.vm(uuid)["state"] == "Running"
    assert not HaRestart.objects.exists()


@pytest.mark.django_db
def test_no_witness_no_restart(env, sim_agent):
    """Nobody else can read the heartbeat (every other host Disconnected too): not confirmed."""
    uuid = env.vm_on(0, ha=True)
    env.fail_host(sim_agent, 0)
    Host.objects.exclude(uuid=env.hosts[0]).update(status="Disconnected")
    tick(env, checks=5)
    assert env.vm(uuid)["state"] == "Running" and not HaRestart.objects.exists()


@pytest.mark.django_db
def test_a_vm_on_local_storage_is_not_restarted_elsewhere(env, sim_agent):
    uuid = env.vm_on(0, shared=False, ha=True)
    env.fail_host(sim_agent, 0)
    tick(env, checks=3)
    assert env.vm(uuid)["host_uuid"] == env.hosts[0] and not HaRestart.objects.exists()


@pytest.mark.django_db
def test_a_failed_restart_is_retried_with_backoff_and_shows_in_the_vm_jobs(env, sim_agent):
    uuid = env.vm_on(0, ha=True)
    env.fail_host(sim_agent, 0)
    for other in env.hosts[1:]:   # every other host refuses to start it, once each... twice in all
        sim_agent.admin("POST", "/sim/faults", {"host_uuid": other, "path": "/v1/vm/start", "mode": "fail"})
    assert tick(env) == 1
    restart = HaRestart.objects.get()
    assert env.vm(uuid)["state"] == "Stopped" and env.vm(uuid)["host_uuid"] is None
    assert restart.job_uuid is not None and restart_jobs(uuid)[0].state == "failed"
    with env.capture(execute=True):
        assert ha.run_due_restarts() == 0   # the failure is recorded; the next attempt waits
    restart.refresh_from_db()
    assert restart.attempts == 1 and restart.job_uuid is None and restart.last_error["code"]
    assert restart.next_attempt_at > timezone.now() + timedelta(seconds=5)
    # the delay passes and the host comes back to health
    sim_agent.admin("DELETE", "/sim/faults")
    sim_agent.admin("POST", "/sim/faults", {"host_uuid": env.hosts[0], "path": "/v1/host/ping", "mode": "fail"})
    HaRestart.objects.update(next_attempt_at=timezone.now())
    with env.capture(execute=True):
        assert ha.run_due_restarts() == 1
    assert env.vm(uuid)["state"] == "Running" and env.vm(uuid)["host_uuid"] in env.hosts[1:]
    assert [j.state for j in restart_jobs(uuid)] == ["failed", "succeeded"]
    assert ha.backoff(1) == 10 and ha.backoff(3) == 40 and ha.backoff(20) == 600


@pytest.mark.django_db
def test_a_vm_started_by_its_user_meanwhile_is_abandoned_by_ha(env, sim_agent):
    uuid = env.vm_on(0, ha=True)
    env.fail_host(sim_agent, 0)
    for _ in range(2):
        ha.check_failed_hosts(gate=False)
    assert env.vm(uuid)["state"] == "Stopped"
    VmInstance.objects.filter(uuid=uuid).update(ha_level=None)   # its user turned HA off
    with env.capture(execute=True):
        assert ha.run_due_restarts() == 0
    assert HaRestart.objects.get().state == "Abandoned" and not restart_jobs(uuid)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "mysql", reason="concurrency is checked on MariaDB (DATABASE_URL=mysql://)")
def test_two_concurrent_beats_restart_the_vm_exactly_once(admin_client, sim_agent, tmp_path):
    env = HaEnv(admin_client, None, tmp_path, hosts=3)
    env.config("ha", "host.check.times", 1)
    uuid = env.vm_on(0, ha=True)
    env.fail_host(sim_agent, 0)
    barrier = threading.Barrier(2)
    results = []

    def beat():
        try:
            barrier.wait()
            confirmed = ha.check_failed_hosts(gate=False)
            barrier.wait()
            results.append((confirmed, ha.run_due_restarts()))
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(started for _, started in results) == 1, results
    assert HaRestart.objects.count() == 1
    [job] = restart_jobs(uuid)
    assert job.state == "succeeded", job.error
    vm = env.vm(uuid)
    assert vm["state"] == "Running" and vm["host_uuid"] in env.hosts[1:]
    running = [h for h in env.hosts[1:] if env.domains(h).get(uuid) == "Running"]   # hosts[0] is "down"
    assert running == [vm["host_uuid"]]


HA_STEPS = list(HA_RESTART_VM.steps)


@pytest.mark.django_db
@pytest.mark.parametrize("step", HA_STEPS, ids=[s.step_name() for s in HA_STEPS])
def test_a_failure_at_each_restart_step_leaves_the_vm_stopped_and_nothing_taken(env, sim_agent, monkeypatch, step):
    uuid = env.vm_on(0, ha=True)
    env.fail_host(sim_agent, 0)
    fail_after_its_work(monkeypatch, step)
    assert tick(env) == 1
    [job] = restart_jobs(uuid)
    assert job.state == "failed" and job.error["step"] == step.step_name()
    vm = VmInstance.objects.get(uuid=uuid)
    assert vm.state == "Stopped" and vm.host_id is None and vm.busy_job is None
    assert str(vm.last_host.uuid) == env.hosts[0]
    for other in env.hosts[1:]:   # no capacity taken, no domain left running
        assert Host.objects.get(uuid=other).used_cpu == 0
        assert env.domains(other).get(uuid) != "Running"
    assert HaRestart.objects.get().state == "Pending"   # CloseHaRestart's write too was undone
    monkeypatch.undo()
    with env.capture(execute=True):
        ha.run_due_restarts()   # the failure is recorded; the retry waits its delay
    HaRestart.objects.update(next_attempt_at=timezone.now())
    with env.capture(execute=True):
        assert ha.run_due_restarts() == 1
    assert env.vm(uuid)["state"] == "Running"


@pytest.mark.django_db
def test_the_ha_level_is_set_at_create_and_changed_and_queried(env):
    uuid, job = env.create(ha_level="NeverStop")
    assert job["state"] == "succeeded" and env.vm(uuid)["ha_level"] == "NeverStop"
    assert [v["uuid"] for v in env.client.get("/api/v1/vm-instances/?q=ha_level=NeverStop").json()["results"]] == [uuid]
    response = env.client.patch(f"/api/v1/vm-instances/{uuid}/", {"ha_level": None}, format="json")
    assert response.status_code == 200 and response.json()["ha_level"] is None
    response = env.client.patch(f"/api/v1/vm-instances/{uuid}/", {"ha_level": "Sometimes"}, format="json")
    assert response.status_code == 400 and "ha_level" in response.json()["details"]


@pytest.mark.django_db
def test_a_shared_storage_attached_after_its_hosts_connected_gets_their_heartbeats(
        admin_client, sim_agent, tmp_path, django_capture_on_commit_callbacks, monkeypatch):
    """The hosts connect first (no shared storage yet: no heartbeat); attaching the storage then
    starts each host's heartbeat there, so HA can confirm a host down without a reconnect."""
    started = []
    call = ha.agent.call

    def recording(host, path, body=None, **kwargs):
        if path == "/v1/ha/heartbeat/start":
            started.append((str(host.uuid), body["dirs"]))
        return call(host, path, body, **kwargs)

    monkeypatch.setattr(ha.agent, "call", recording)
    env = HaEnv(admin_client, django_capture_on_commit_callbacks, tmp_path, hosts=2)
    assert sorted(started) == sorted((uuid, [env.shared.root]) for uuid in env.hosts)
