"""Image cache reference counts under concurrency (threads; MariaDB in CI) against the sim agent."""
import threading

import pytest
from django.db import connections

from apps.compute import agent
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
