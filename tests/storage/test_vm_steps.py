"""The storage steps of the VM create flow, run by the real flow engine against real agents:
libvirt (the agent fetches the image from the portal's signed URL on a live server, qemu-img
overlays on disk) and sim (fault injection); every rollback leaves nothing behind."""
import json
import os
import subprocess

import pytest

from apps.core.errors import CloudPortalError
from apps.core.flows import Flow, NoRollback, RemoteStep, start_job
from apps.core.models import Job
from apps.storage.flows.images import ADD_IMAGE
from apps.storage.flows.vm_steps import (AllocatePrimaryStorage, CacheImage, CreateRootVolume, DeleteRootVolume,
                                         delete_volume)
from apps.storage.models import BackupStorage, Image, ImageCache, LocalStorageHostRef, Volume
from apps.storage.models.backup_storage import check_directory

from .conftest import GIB, MIB, make_iso, make_qcow2


class FailIfAsked(RemoteStep, NoRollback):
    def run(self, ctx):
        if ctx.args.get("fail_at_end"):
            raise CloudPortalError("asked to fail", code="TEST_FAILURE")


VM_STORAGE = Flow("test-vm-storage", [AllocatePrimaryStorage, CacheImage, CreateRootVolume, FailIfAsked])
VM_EXPUNGE = Flow("test-vm-expunge-root", [DeleteRootVolume])


def run_flow(flow, **args):
    job = start_job(flow, args=args)    # autocommit (transactional tests): runs at once, eagerly
    return Job.objects.get(pk=job.pk)


def add_image(tmp_path, source, name="img"):
    url = str(tmp_path / "bs")
    total, available = check_directory(url)
    bs = BackupStorage.objects.create(name="bs", url=url, total_capacity=total, available_capacity=available)
    image = Image.objects.create(name=name, url=f"file://{source}")
    job = start_job(ADD_IMAGE, resource=image, args={"image_uuid": str(image.uuid), "url": f"file://{source}",
                                                     "backup_storage_uuids": [str(bs.uuid)]})
    job.refresh_from_db()
    assert job.state == "succeeded", job.error
    image.refresh_from_db()
    return image


def qemu_info(path):
    return json.loads(subprocess.run(["qemu-img", "info", "--output=json", "-U", path], check=True,
                                     capture_output=True, text=True).stdout)


def files_under(path):
    return sorted(str(p) for p in path.rglob("*") if p.is_file()) if path.exists() else []


@pytest.fixture
def portal(live_server, settings):
    settings.PORTAL_URL = live_server.url
    return live_server


@pytest.mark.libvirt
@pytest.mark.django_db(transaction=True)
def test_root_volumes_on_the_libvirt_host_share_one_cache_fetched_from_the_portal(portal, kvm_host, local_ps,
                                                                                  tmp_path):
    from apps.storage.capacity import refresh_host_ref

    local_ps.clusters.add(kvm_host.cluster)
    ref, _ = refresh_host_ref(local_ps, kvm_host)
    image = add_image(tmp_path, make_qcow2(tmp_path / "cirros.qcow2", "64M"))

    job = run_flow(VM_STORAGE, host_uuid=str(kvm_host.uuid), image_uuid=str(image.uuid), root_disk_size=128 * MIB,
                   vm_uuid="11111111-2222-4333-8444-555555555555", vm_name="web")
    assert job.state == "succeeded", job.error
    ctx = job.context
    assert ctx["primary_storage_uuid"] == str(local_ps.uuid) and ctx["primary_storage_reserved"] == 128 * MIB
    cache_path = ctx["image_cache"]["path"]
    assert cache_path == f"{local_ps.url}/imagecache/{image.sha256}.qcow2"
    with open(cache_path, "rb") as fh:   # the bits came from the portal's image store, checked by sha256
        assert fh.read() == (tmp_path / "cirros.qcow2").read_bytes()
    volume = Volume.objects.get(uuid=ctx["root_volume_uuid"])
    assert volume.status == "Ready" and volume.type == "Root" and volume.name == "ROOT-web"
    assert str(volume.vm_instance_uuid) == "11111111-2222-4333-8444-555555555555"
    assert volume.install_path == ctx["root_volume_path"] and volume.host == kvm_host
    info = qemu_info(volume.install_path)
    assert info["format"] == "qcow2" and info["virtual-size"] == 128 * MIB
    assert info["backing-filename"] == cache_path and info["backing-filename-format"] == "qcow2"
    assert ImageCache.objects.get().ref_count == 1

    second = run_flow(VM_STORAGE, host_uuid=str(kvm_host.uuid), image_uuid=str(image.uuid))
    assert second.state == "succeeded", second.error
    assert Volume.objects.get(uuid=second.context["root_volume_uuid"]).size == 64 * MIB   # the image's size
    cache = ImageCache.objects.get()
    assert cache.ref_count == 2 and len(os.listdir(f"{local_ps.url}/imagecache")) == 1
    ref.refresh_from_db()
    assert ref.used_capacity == 128 * MIB + 64 * MIB + image.actual_size

    # expunging the VMs' root volumes: files, capacity and cache references go; the cache with the last
    delete_volume(Volume.objects.get(uuid=ctx["root_volume_uuid"]))
    assert ImageCache.objects.get().ref_count == 1 and os.path.exists(cache_path)
    assert not os.path.exists(ctx["root_volume_path"])
    expunge = run_flow(VM_EXPUNGE, root_volume_uuid=second.context["root_volume_uuid"])
    assert expunge.state == "succeeded", expunge.error
    assert not Volume.objects.exists() and not ImageCache.objects.exists()
    assert files_under(tmp_path / "ps") == []
    ref.refresh_from_db()
    assert ref.used_capacity == 0


@pytest.mark.libvirt
@pytest.mark.django_db(transaction=True)
def test_a_failure_after_the_storage_steps_rolls_each_back_on_the_libvirt_host(portal, kvm_host, local_ps, tmp_path):
    from apps.storage.capacity import refresh_host_ref

    local_ps.clusters.add(kvm_host.cluster)
    ref, _ = refresh_host_ref(local_ps, kvm_host)
    image = add_image(tmp_path, make_qcow2(tmp_path / "i.qcow2", "32M"))
    job = run_flow(VM_STORAGE, host_uuid=str(kvm_host.uuid), image_uuid=str(image.uuid), fail_at_end=True)
    assert job.state == "failed" and job.error["code"] == "TEST_FAILURE"
    assert [s["state"] for s in job.steps] == ["rolled_back", "rolled_back", "rolled_back", "failed"]
    assert job.steps[3]["rollback"] == "none"   # CreateRootVolume's rollback took its recorded row too
    assert not Volume.objects.exists() and not ImageCache.objects.exists()
    assert files_under(tmp_path / "ps") == []
    ref.refresh_from_db()
    assert ref.used_capacity == 0

    # the cache step fails (the portal no longer has the bits): the allocation is given back
    os.remove(image.backup_storages.get().blob_path(image.sha256))
    job = run_flow(VM_STORAGE, host_uuid=str(kvm_host.uuid), image_uuid=str(image.uuid))
    assert job.state == "failed" and job.error["step"] == "CacheImage", job.error
    assert job.error["code"] == "IMAGE_DOWNLOAD_FAILED" and "404" in job.error["message"]
    assert [s["state"] for s in job.steps][:2] == ["rolled_back", "failed"]
    assert not ImageCache.objects.exists() and files_under(tmp_path / "ps") == []
    ref.refresh_from_db()
    assert ref.used_capacity == 0


@pytest.mark.libvirt
@pytest.mark.django_db(transaction=True)
def test_an_iso_gets_a_blank_root_volume_and_needs_a_size(portal, kvm_host, local_ps, tmp_path):
    from apps.storage.capacity import refresh_host_ref

    local_ps.clusters.add(kvm_host.cluster)
    refresh_host_ref(local_ps, kvm_host)
    image = add_image(tmp_path, make_iso(tmp_path / "x.iso"))
    job = run_flow(VM_STORAGE, host_uuid=str(kvm_host.uuid), image_uuid=str(image.uuid))
    assert job.state == "failed" and job.error["code"] == "ROOT_DISK_SIZE_REQUIRED"
    job = run_flow(VM_STORAGE, host_uuid=str(kvm_host.uuid), image_uuid=str(image.uuid), root_disk_size=GIB)
    assert job.state == "succeeded", job.error
    info = qemu_info(job.context["root_volume_path"])
    assert info["virtual-size"] == GIB and "backing-filename" not in info
    assert job.context["image_cache"]["path"].endswith(".iso")


# --- the simulator: many hosts, fault injection ---------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_sim_volume_create_failure_rolls_back_cache_and_capacity(sim_agent, sim_host, tmp_path):
    from apps.infra import agent

    image = add_image(tmp_path, make_qcow2(tmp_path / "s.qcow2"))
    sim_agent.admin("POST", "/sim/faults", {"host_uuid": str(sim_host.uuid), "path": "/v1/volume/create",
                                            "mode": "fail", "count": 1})
    job = run_flow(VM_STORAGE, host_uuid=str(sim_host.uuid), image_uuid=str(image.uuid))
    assert job.state == "failed" and job.error["step"] == "CreateRootVolume", job.error
    assert job.error["code"] == "HOST_AGENT_UNREACHABLE"
    assert not Volume.objects.exists() and not ImageCache.objects.exists()
    ref = LocalStorageHostRef.objects.get(host=sim_host)
    assert ref.used_capacity == 0
    capacity = agent.call(sim_host, "/v1/storage/capacity", {"path": "/var/lib/cp/ps"})
    assert capacity["available"] == capacity["total"]   # the cache left the simulated disk too

    job = run_flow(VM_STORAGE, host_uuid=str(sim_host.uuid), image_uuid=str(image.uuid))
    assert job.state == "succeeded", job.error
    assert Volume.objects.get().status == "Ready" and ImageCache.objects.get().ref_count == 1


@pytest.mark.django_db(transaction=True)
def test_a_root_volume_made_by_a_create_whose_answer_was_lost_is_removed(sim_agent, sim_host, tmp_path, monkeypatch):
    """The agent made the file, then the answer never came: the failed step's rollback removes it."""
    from apps.infra import agent

    image = add_image(tmp_path, make_qcow2(tmp_path / "l.qcow2"))
    call = agent.call

    def answer_lost(host, path, *args, **kwargs):
        answer = call(host, path, *args, **kwargs)
        if path == "/v1/volume/create":
            raise CloudPortalError("the agent's answer was lost", code="HOST_AGENT_UNREACHABLE", status=409)
        return answer

    monkeypatch.setattr(agent, "call", answer_lost)
    job = run_flow(VM_STORAGE, host_uuid=str(sim_host.uuid), image_uuid=str(image.uuid))
    assert job.state == "failed" and job.error["step"] == "CreateRootVolume", job.error
    assert job.steps[2]["rollback"] == "done"
    monkeypatch.setattr(agent, "call", call)
    capacity = agent.call(sim_host, "/v1/storage/capacity", {"path": "/var/lib/cp/ps"})
    assert capacity["available"] == capacity["total"]   # neither the volume nor the cache is left
    assert not Volume.objects.exists() and not ImageCache.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_no_primary_storage_capacity_is_a_422_error(sim_agent, sim_host, tmp_path):
    image = add_image(tmp_path, make_qcow2(tmp_path / "n.qcow2"))
    job = run_flow(VM_STORAGE, host_uuid=str(sim_host.uuid), image_uuid=str(image.uuid), root_disk_size=2 << 40)
    assert job.state == "failed" and job.error["code"] == "NO_PRIMARY_STORAGE_CAPACITY"
    assert job.error["step"] == "AllocatePrimaryStorage" and job.error["details"]["size"] == 2 << 40
    from apps.storage.errors import NoPrimaryStorageCapacity

    assert NoPrimaryStorageCapacity.status == 422
    assert LocalStorageHostRef.objects.get(host=sim_host).used_capacity == 0


@pytest.mark.django_db(transaction=True)
def test_an_image_that_is_not_ready_is_refused(sim_agent, sim_host):
    image = Image.objects.create(name="d", status="Deleted", format="qcow2", sha256="a" * 64)
    job = run_flow(VM_STORAGE, host_uuid=str(sim_host.uuid), image_uuid=str(image.uuid))
    assert job.state == "failed" and job.error["code"] == "IMAGE_NOT_READY"


@pytest.mark.django_db(transaction=True)
def test_a_disabled_image_is_refused(sim_agent, sim_host, admin_client):
    image = Image.objects.create(name="d", status="Ready", format="qcow2", sha256="a" * 64)
    assert admin_client.post(f"/api/v1/images/{image.uuid}/disable/").json()["state"] == "Disabled"
    job = run_flow(VM_STORAGE, host_uuid=str(sim_host.uuid), image_uuid=str(image.uuid))
    assert job.state == "failed" and job.error["code"] == "IMAGE_DISABLED"
    assert LocalStorageHostRef.objects.get(host=sim_host).used_capacity == 0


# --- fewer statements, same rollbacks ---------------------------------------------------------

def _volume_exists(host, path):
    from apps.infra import agent

    try:
        agent.call(host, "/v1/volume/info", {"path": path})
    except CloudPortalError as exc:
        assert exc.code == "VOLUME_NOT_FOUND", exc
        return False
    return True


@pytest.mark.django_db(transaction=True)
def test_the_root_volume_row_is_written_once_ready_with_the_agents_figures(sim_agent, sim_host, tmp_path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    image = add_image(tmp_path, make_qcow2(tmp_path / "o.qcow2"))
    with CaptureQueriesContext(connection) as queries:
        job = run_flow(VM_STORAGE, host_uuid=str(sim_host.uuid), image_uuid=str(image.uuid), vm_name="one")
    assert job.state == "succeeded", job.error
    volume_table, storage_table = (connection.ops.quote_name(t) for t in ("storage_volume", "storage_primarystorage"))
    volume_sql = [q["sql"] for q in queries.captured_queries if volume_table in q["sql"]]
    assert len(volume_sql) == 1 and volume_sql[0].startswith("INSERT"), volume_sql   # no read, no second write
    # (the lookup of the cluster's shared storages, kept a second, is the one read of that table)
    storage_reads = [q["sql"] for q in queries.captured_queries
                     if q["sql"].startswith("SELECT") and f"FROM {storage_table}" in q["sql"]
                     and "'SharedMountPoint'" not in q["sql"]]
    assert storage_reads == []   # the chosen primary storage came with its host ref, read once
    volume = Volume.objects.get(uuid=job.context["root_volume_uuid"])
    assert volume.status == "Ready" and volume.name == "ROOT-one" and volume.size == 64 * MIB
    from apps.core.models import ChangeLog

    assert list(ChangeLog.objects.filter(resource_uuid=volume.uuid).values_list("action", flat=True)) == ["create"]


@pytest.mark.django_db(transaction=True)
def test_the_storage_rollbacks_work_from_the_persisted_context_alone(sim_agent, sim_host, tmp_path):
    """What the reaper does for a job whose worker died: a fresh Context (no rows in memory)."""
    from apps.core.flows import Context

    image = add_image(tmp_path, make_qcow2(tmp_path / "r.qcow2"))
    job = run_flow(VM_STORAGE, host_uuid=str(sim_host.uuid), image_uuid=str(image.uuid))
    assert job.state == "succeeded", job.error
    path = job.context["root_volume_path"]
    assert _volume_exists(sim_host, path)
    ctx = Context(Job.objects.get(pk=job.pk))
    for step in (CreateRootVolume, CacheImage, AllocatePrimaryStorage):
        step().rollback(ctx)
    assert not Volume.objects.exists() and not ImageCache.objects.exists()
    assert not _volume_exists(sim_host, path)
    assert LocalStorageHostRef.objects.get(host=sim_host).used_capacity == 0
    for step in (CreateRootVolume, CacheImage, AllocatePrimaryStorage):   # idempotent
        step().rollback(ctx)
    assert LocalStorageHostRef.objects.get(host=sim_host).used_capacity == 0


@pytest.mark.django_db(transaction=True)
def test_a_root_volume_made_before_its_row_was_written_is_removed_by_the_rollback(sim_agent, sim_host, tmp_path):
    """The worker died between the agent's create and the INSERT: only the file exists."""
    from apps.core.flows import Context
    from apps.storage.flows.vm_steps import root_volume_uuid

    image = add_image(tmp_path, make_qcow2(tmp_path / "d.qcow2"))
    job = run_flow(VM_STORAGE, host_uuid=str(sim_host.uuid), image_uuid=str(image.uuid))
    assert job.state == "succeeded", job.error
    ctx = Context(Job.objects.get(pk=job.pk))
    path = job.context["root_volume_path"]
    assert path.endswith(f"{root_volume_uuid(ctx)}.qcow2")
    Volume.objects.all().delete()   # as if the row had never been written
    assert _volume_exists(sim_host, path)
    CreateRootVolume().rollback(ctx)
    assert not _volume_exists(sim_host, path)


# --- a worker dying around the cache reference --------------------------------------------------

class WorkerDied(BaseException):
    """Stands for the worker process dying (nothing after it runs in this process)."""


def _start_undispatched(monkeypatch, **args):
    """A job recorded but not sent to a worker: the test runs it with execute_job."""
    from apps.core.flows import jobs

    monkeypatch.setattr(jobs, "dispatch", lambda job_uuid: None)
    return start_job(VM_STORAGE, args=args)


@pytest.mark.django_db(transaction=True)
def test_a_reference_counted_just_before_the_worker_died_is_released_by_the_reaper(
        sim_agent, sim_host, tmp_path, monkeypatch):
    """The count and the job's record of it commit together (what a remote step sets in a
    transaction of its own is written in it), so the reaper's rollback knows of a reference the
    worker counted and died before its next write."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.core.flows import execute_job, reap_jobs
    from apps.storage import cache

    image = add_image(tmp_path, make_qcow2(tmp_path / "w.qcow2"))
    acquire = cache.acquire

    def acquire_then_die(*args, **kwargs):
        acquire(*args, **kwargs)
        raise WorkerDied()

    monkeypatch.setattr(cache, "acquire", acquire_then_die)
    job = _start_undispatched(monkeypatch, host_uuid=str(sim_host.uuid), image_uuid=str(image.uuid))
    with pytest.raises(WorkerDied):
        execute_job(job.uuid)
    assert ImageCache.objects.get().ref_count == 1
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert reap_jobs() == [job.uuid]
    job.refresh_from_db()
    assert job.state == "failed" and job.error["code"] == "WORKER_LOST"
    assert not ImageCache.objects.exists()   # released: the last reference, so the file went too
    assert LocalStorageHostRef.objects.get(host=sim_host).used_capacity == 0


@pytest.mark.django_db(transaction=True)
def test_a_reference_is_not_counted_when_the_job_was_taken_over_meanwhile(sim_agent, sim_host, tmp_path, monkeypatch):
    """The reaper took the job over while the image was fetched: the write of the reference finds
    the job no longer this worker's, and the count goes back with it (the reaper's rollback would
    not know of it)."""
    from apps.core.flows import execute_job
    from apps.storage import cache

    image = add_image(tmp_path, make_qcow2(tmp_path / "t.qcow2"))
    acquire = cache.acquire

    def taken_over_while_fetching(*args, **kwargs):
        Job.objects.filter(pk=job.pk).update(worker="reaper:elsewhere")
        return acquire(*args, **kwargs)

    monkeypatch.setattr(cache, "acquire", taken_over_while_fetching)
    job = _start_undispatched(monkeypatch, host_uuid=str(sim_host.uuid), image_uuid=str(image.uuid))
    execute_job(job.uuid)
    job.refresh_from_db()
    assert job.worker == "reaper:elsewhere" and job.state == "running"   # this worker wrote nothing more
    assert [s["state"] for s in job.steps][:2] == ["succeeded", "running"]
    assert ImageCache.objects.get().ref_count == 0


# --- a counted cache is trusted, and fetched again when it turns out missing -------------------

def _agent_paths(monkeypatch):
    from apps.infra import agent

    paths = []
    call = agent.call

    def recording(host, path, *args, **kwargs):
        paths.append(path)
        return call(host, path, *args, **kwargs)

    monkeypatch.setattr(agent, "call", recording)
    return paths


@pytest.mark.django_db(transaction=True)
def test_a_second_vm_on_a_host_counts_the_cache_without_asking_the_agent(sim_agent, sim_host, tmp_path, monkeypatch):
    image = add_image(tmp_path, make_qcow2(tmp_path / "c.qcow2"))
    paths = _agent_paths(monkeypatch)
    first = run_flow(VM_STORAGE, host_uuid=str(sim_host.uuid), image_uuid=str(image.uuid))
    assert first.state == "succeeded", first.error
    assert paths == ["/v1/image/cache", "/v1/volume/create"]
    paths.clear()
    second = run_flow(VM_STORAGE, host_uuid=str(sim_host.uuid), image_uuid=str(image.uuid))
    assert second.state == "succeeded", second.error
    assert paths == ["/v1/volume/create"]
    assert ImageCache.objects.get().ref_count == 2


@pytest.mark.django_db(transaction=True)
def test_a_cache_file_removed_behind_the_portals_back_is_fetched_again(sim_agent, sim_host, tmp_path, monkeypatch):
    from apps.infra import agent

    image = add_image(tmp_path, make_qcow2(tmp_path / "m.qcow2"))
    first = run_flow(VM_STORAGE, host_uuid=str(sim_host.uuid), image_uuid=str(image.uuid))
    assert first.state == "succeeded", first.error
    cache_path = first.context["image_cache"]["path"]
    agent.call(sim_host, "/v1/image/uncache", {"path": cache_path})   # someone cleaned the host's disk
    assert not _volume_exists(sim_host, cache_path)
    paths = _agent_paths(monkeypatch)
    second = run_flow(VM_STORAGE, host_uuid=str(sim_host.uuid), image_uuid=str(image.uuid))
    assert second.state == "succeeded", second.error
    assert paths == ["/v1/volume/create", "/v1/image/cache", "/v1/volume/create"]
    assert _volume_exists(sim_host, cache_path) and _volume_exists(sim_host, second.context["root_volume_path"])
    assert ImageCache.objects.get().ref_count == 2
