"""Image cache reference counts under concurrency (threads; MariaDB in CI) against the sim agent."""
import threading

import pytest
from django.db import connections

from apps.infra import agent
from apps.storage import cache
from apps.storage.models import Image, ImageCache, LocalStorageHostRef, PrimaryStorage

MIB = 1024 * 1024
THREADS = 6


def run_threads(fn, count=THREADS):
    barrier = threading.Barrier(count)
    errors = []

    def body(index):
        try:
            barrier.wait()
            fn(index)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_acquire_and_release_count_exactly_and_remove_the_file_at_zero(sim_host):
    ps = PrimaryStorage.objects.get()
    image = Image.objects.create(name="i", status="Ready", format="qcow2", sha256="b" * 64, size=64 * MIB,
                                 actual_size=8 * MIB)
    ids = []
    run_threads(lambda i: ids.append(cache.acquire(ps, sim_host, image).pk))
    row = ImageCache.objects.get()
    assert set(ids) == {row.pk} and row.ref_count == THREADS
    ref = LocalStorageHostRef.objects.get(host=sim_host)
    assert ref.used_capacity == 8 * MIB   # one copy reserved, whatever the number of users
    capacity = agent.call(sim_host, "/v1/storage/capacity", {"path": ps.url})
    assert capacity["total"] - capacity["available"] == 8 * MIB   # one file on the host

    removed = []
    run_threads(lambda i: removed.append(cache.release(row.pk)))
    assert removed.count(True) == 1   # exactly the last one removed the file
    assert not ImageCache.objects.exists()
    capacity = agent.call(sim_host, "/v1/storage/capacity", {"path": ps.url})
    assert capacity["available"] == capacity["total"]
    ref.refresh_from_db()
    assert ref.used_capacity == 0


@pytest.mark.django_db(transaction=True)
def test_acquire_racing_the_last_release_keeps_a_usable_cache(sim_host):
    ps = PrimaryStorage.objects.get()
    image = Image.objects.create(name="i", status="Ready", format="qcow2", sha256="c" * 64, size=MIB, actual_size=MIB)
    first = cache.acquire(ps, sim_host, image)

    def work(index):
        if index % 2:
            cache.release(first.pk)   # only one of these finds the row with a count to drop
        else:
            cache.acquire(ps, sim_host, image)

    run_threads(work, 4)
    rows = list(ImageCache.objects.all())
    # 1 + 2 acquires - the releases that still found the first row (1 or 2): never 0, never a lost file
    assert len(rows) == 1 and rows[0].ref_count in (1, 2)
    answer = agent.call(sim_host, "/v1/volume/info", {"path": rows[0].install_path})
    assert answer["path"] == rows[0].install_path   # the file the count says exists, exists


# --- a host or primary storage that goes takes its caches with it ------------------------------

def _image(letter, size=4 * MIB):
    return Image.objects.create(name=letter, status="Ready", format="qcow2", sha256=letter * 64, size=size,
                                actual_size=size)


def _used_on_host(host, ps_url):
    capacity = agent.call(host, "/v1/storage/capacity", {"path": ps_url})
    return capacity["total"] - capacity["available"]


def _delete(admin_client, url):
    from apps.core.models import Job

    response = admin_client.delete(url)
    assert response.status_code == 202, response.content
    job = Job.objects.get(uuid=response.json()["job"]["uuid"])
    assert job.state == "succeeded", job.error
    return job.result


@pytest.mark.django_db(transaction=True)
def test_deleting_a_host_removes_the_image_caches_on_it(sim_host, admin_client):
    ps = PrimaryStorage.objects.get()
    leaked = cache.acquire(ps, sim_host, _image("d"))   # counted, but no volume: a dead worker's reference
    unused = cache.acquire(ps, sim_host, _image("e"))
    ImageCache.objects.filter(pk=unused.pk).update(ref_count=0)   # fetched, never counted
    assert _used_on_host(sim_host, ps.url) == 8 * MIB

    result = _delete(admin_client, f"/api/v1/hosts/{sim_host.uuid}/")
    assert sorted(result["cleanup"][str(sim_host.uuid)]["image_caches"]["removed"]) == sorted(
        [leaked.install_path, unused.install_path])
    assert not ImageCache.objects.exists()
    assert _used_on_host(sim_host, ps.url) == 0   # the files left the (simulated) disk


@pytest.mark.django_db(transaction=True)
def test_deleting_a_primary_storage_removes_its_caches_and_names_a_host_it_could_not_reach(
        sim_host, sim_agent, admin_client):
    ps = PrimaryStorage.objects.get()
    row = cache.acquire(ps, sim_host, _image("f"))
    sim_agent.admin("POST", "/sim/faults", {"host_uuid": str(sim_host.uuid), "path": "/v1/image/uncache",
                                            "mode": "fail", "count": 1})
    result = _delete(admin_client, f"/api/v1/primary-storage/{ps.uuid}/")
    left = result["cleanup"][str(ps.uuid)]["image_caches"]["left"]
    assert [(e["host_uuid"], e["path"]) for e in left] == [(str(sim_host.uuid), row.install_path)]
    assert left[0]["code"] == "HOST_AGENT_UNREACHABLE" and "did not answer" in left[0]["message"]
    assert not PrimaryStorage.objects.exists() and not ImageCache.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_detaching_removes_the_caches_no_volume_is_built_on(sim_host, admin_client):
    from apps.core.models import Job
    from apps.storage.models import Volume

    ps = PrimaryStorage.objects.get()
    kept = cache.acquire(ps, sim_host, _image("a"))
    gone = cache.acquire(ps, sim_host, _image("b"))
    # a root volume in the recycle bin (Deleted, recoverable) is still built on the first
    Volume.objects.create(name="ROOT-x", type="Root", status="Deleted", primary_storage=ps, host=sim_host,
                          image_sha256="a" * 64, install_path=f"{ps.url}/rootvolumes/x.qcow2")
    response = admin_client.post(f"/api/v1/primary-storage/{ps.uuid}/detach/",
                                 {"cluster_uuid": str(sim_host.cluster.uuid)}, format="json")
    job = Job.objects.get(uuid=response.json()["job"]["uuid"])
    assert job.state == "succeeded", job.error
    assert job.result["image_caches"] == {"removed": [gone.install_path], "left": []}
    assert list(ImageCache.objects.values_list("pk", flat=True)) == [kept.pk]
    assert _used_on_host(sim_host, ps.url) == 4 * MIB


@pytest.mark.skipif(connections["default"].vendor != "mysql", reason="InnoDB lock order (DATABASE_URL=mysql://)")
@pytest.mark.django_db(transaction=True)
def test_making_a_cache_row_waits_for_an_allocation_on_its_host_instead_of_deadlocking(sim_host):
    """What CI caught: the cache row's transaction reserved the LocalStorageHostRef, then its INSERT
    waited (foreign key check) for the host row a concurrent VM allocation had updated; the
    allocation then wanted the same ref: a deadlock. The row now goes in before the reservation."""
    from tests.dbsessions import in_thread, other_session, wait_until_busy

    ps = PrimaryStorage.objects.get()
    ref = LocalStorageHostRef.objects.get(host=sim_host)
    image = _image("9", size=MIB)
    allocation = other_session()
    try:
        cursor = allocation.cursor()
        cursor.execute("START TRANSACTION")
        cursor.execute("UPDATE compute_host SET used_cpu = used_cpu + 1 WHERE id = %s", [sim_host.pk])  # AllocateHost
        maker, outcome = in_thread(lambda: cache._row(ps, sim_host, image))
        assert wait_until_busy(allocation, "INSERT INTO `storage_imagecache`"), outcome   # waits for the host row
        # AllocatePrimaryStorage: the same host's ref
        cursor.execute("UPDATE storage_localstoragehostref SET used_capacity = used_capacity + 1 WHERE id = %s",
                       [ref.pk])
        cursor.execute("ROLLBACK")
        maker.join(timeout=30)
    finally:
        allocation.close()
    assert "error" not in outcome, outcome
    row, created = outcome["result"]
    assert created and row.ref_count == 0
    ref.refresh_from_db()
    assert ref.used_capacity == MIB   # its bytes reserved, the allocation's undone


@pytest.mark.skipif(connections["default"].vendor != "mysql", reason="InnoDB lock conflicts (DATABASE_URL=mysql://)")
@pytest.mark.django_db(transaction=True)
def test_two_makers_of_the_same_cache_row_that_deadlock_end_with_one_row_and_no_error(sim_host):
    """What CI caught: caches made again right after the last release removed the row. Two INSERTs
    of the same key that wait on a third's (here: a session that then rolls back, as MariaDB's
    manual shows) both get a shared lock on the entry, then both want to insert: InnoDB undoes one
    (1213). The undone maker starts over, finds the other's row and counts on it."""
    from tests.dbsessions import in_thread, other_session, wait_until_busy

    ps = PrimaryStorage.objects.get()
    image = _image("8", size=MIB)
    blocker = other_session()
    try:
        cursor = blocker.cursor()
        cursor.execute("START TRANSACTION")
        cursor.execute(
            "INSERT INTO storage_imagecache (primary_storage_id, host_id, sha256, image_id, install_path, format,"
            " size, actual_size, ref_count, created_at) VALUES (%s, %s, %s, %s, 'x', 'qcow2', 1, 1, 0, NOW())",
            [ps.pk, sim_host.pk, image.sha256, image.pk])
        makers = [in_thread(lambda: cache._row(ps, sim_host, image)) for _ in range(2)]
        assert wait_until_busy(blocker, "INSERT INTO `storage_imagecache`", sessions=2)
        cursor.execute("ROLLBACK")
        for thread, _ in makers:
            thread.join(timeout=30)
    finally:
        blocker.close()
    outcomes = [outcome for _, outcome in makers]
    assert all("error" not in outcome for outcome in outcomes), outcomes
    assert sorted(outcome["result"][1] for outcome in outcomes) == [False, True]   # one made it, one found it
    row = ImageCache.objects.get()
    assert {outcome["result"][0].pk for outcome in outcomes} == {row.pk}
    assert LocalStorageHostRef.objects.get(host=sim_host).used_capacity == MIB   # reserved once


@pytest.mark.skipif(connections["default"].vendor != "mysql", reason="InnoDB row locks (DATABASE_URL=mysql://)")
@pytest.mark.django_db(transaction=True)
def test_the_last_release_does_not_hold_up_allocations_on_its_host(sim_host, monkeypatch):
    """While the last release has the agent remove the file, its transaction locks the cache row
    only: a VM allocation updating the host's row (AllocateHost) goes on meanwhile."""
    from tests.dbsessions import other_session

    ps = PrimaryStorage.objects.get()
    row = cache.acquire(ps, sim_host, _image("7", size=MIB))
    call, allocations = agent.call, []

    def uncache_meanwhile(host, path, body, **kwargs):
        if path == "/v1/image/uncache":
            allocation = other_session()
            try:
                cursor = allocation.cursor()
                cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")
                cursor.execute("UPDATE compute_host SET used_cpu = used_cpu WHERE id = %s", [sim_host.pk])
                allocations.append("updated")
            except Exception as exc:  # noqa: BLE001 - asserted below
                allocations.append(exc)
            finally:
                allocation.close()
        return call(host, path, body, **kwargs)

    monkeypatch.setattr(cache.agent, "call", uncache_meanwhile)
    assert cache.release(row.pk) is True
    assert allocations == ["updated"]
    assert not ImageCache.objects.exists()
    assert LocalStorageHostRef.objects.get(host=sim_host).used_capacity == 0
