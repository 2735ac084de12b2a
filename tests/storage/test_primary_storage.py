"""Local primary storage: attach to a cluster, per-host capacity from real agents (sim and libvirt),
the host-connect hook, atomic reservations under concurrency."""
import threading

import pytest
from django.db import connections

from apps.infra.models import Cluster, Host, Zone
from apps.storage.flows.vm_steps import choose_primary_storage
from apps.storage.models import LocalStorageHostRef, PrimaryStorage

GIB = 1024 ** 3


def add_sim_host(client, cluster, capture, name="h1"):
    with capture(execute=True):
        response = client.post("/api/v1/hosts/", {"name": name, "cluster_uuid": str(cluster.uuid),
                                                  "hypervisor_type": "Simulator", "cpu_num": 4,
                                                  "memory_size": 8 * GIB}, format="json")
    assert client.get(response["Location"]).json()["state"] == "succeeded"
    return Host.objects.get(uuid=response.json()["resource"]["uuid"])


def attach(client, ps, cluster, capture):
    with capture(execute=True):
        response = client.post(f"/api/v1/primary-storage/{ps.uuid}/attach/", {"cluster_uuid": str(cluster.uuid)},
                               format="json")
    assert response.status_code == 202, response.content
    return client.get(response["Location"]).json()


@pytest.fixture
def sim_cluster(db):
    return Cluster.objects.create(name="sim", zone=Zone.objects.create(name="zs"), hypervisor_type="Simulator")


@pytest.mark.django_db
def test_attach_to_a_sim_cluster_reads_each_hosts_capacity_and_new_hosts_get_theirs_on_connect(
        admin_client, sim_agent, sim_cluster, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    hosts = [add_sim_host(admin_client, sim_cluster, capture, f"h{i}") for i in range(2)]
    ps = PrimaryStorage.objects.create(name="local", url="/var/lib/cp/ps", zone=sim_cluster.zone)
    job = attach(admin_client, ps, sim_cluster, capture)
    assert job["state"] == "succeeded", job
    assert {h["host_uuid"] for h in job["result"]["hosts"]} == {str(h.uuid) for h in hosts}
    refs = LocalStorageHostRef.objects.filter(primary_storage=ps)
    assert refs.count() == 2 and all(r.total_capacity == 1 << 40 and r.used_capacity == 0 for r in refs)
    body = admin_client.get(f"/api/v1/primary-storage/{ps.uuid}/").json()
    assert body["cluster_uuids"] == [str(sim_cluster.uuid)]
    assert body["total_capacity"] == body["available_capacity"] == 2 << 40
    # a host added later reports its capacity while it connects (compute's host_connected hook)
    late = add_sim_host(admin_client, sim_cluster, capture, "late")
    assert LocalStorageHostRef.objects.get(primary_storage=ps, host=late).total_capacity == 1 << 40
    per_host = admin_client.get(f"/api/v1/primary-storage/{ps.uuid}/hosts/").json()["results"]
    assert len(per_host) == 3
    # detach: the cluster leaves, its hosts' rows go
    with capture(execute=True):
        response = admin_client.post(f"/api/v1/primary-storage/{ps.uuid}/detach/",
                                     {"cluster_uuid": str(sim_cluster.uuid)}, format="json")
    assert admin_client.get(response["Location"]).json()["state"] == "succeeded"
    assert not LocalStorageHostRef.objects.exists() and not ps.clusters.exists()


@pytest.mark.django_db
def test_attach_fails_and_leaves_nothing_when_a_host_does_not_answer(admin_client, sim_agent, sim_cluster,
                                                                     django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    good, bad = (add_sim_host(admin_client, sim_cluster, capture, n) for n in ("good", "bad"))
    ps = PrimaryStorage.objects.create(name="local", url="/ps", zone=sim_cluster.zone)
    sim_agent.admin("POST", "/sim/faults", {"host_uuid": str(bad.uuid), "path": "/v1/storage/capacity",
                                            "mode": "fail", "count": None})
    job = attach(admin_client, ps, sim_cluster, capture)
    assert job["state"] == "failed" and job["error"]["code"] == "HOST_AGENT_UNREACHABLE", job
    assert not ps.clusters.exists() and not LocalStorageHostRef.objects.exists()


@pytest.mark.django_db
def test_a_host_whose_storage_does_not_answer_fails_to_connect(admin_client, sim_agent, sim_cluster,
                                                               django_capture_on_commit_callbacks):
    ps = PrimaryStorage.objects.create(name="local", url="/ps", zone=sim_cluster.zone)
    ps.clusters.add(sim_cluster)
    sim_agent.admin("POST", "/sim/faults", {"host_uuid": None, "path": "/v1/storage/capacity", "mode": "fail",
                                            "count": None})
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/api/v1/hosts/", {"name": "h", "cluster_uuid": str(sim_cluster.uuid),
                                                        "hypervisor_type": "Simulator", "cpu_num": 4,
                                                        "memory_size": 8 * GIB}, format="json")
    job = admin_client.get(response["Location"]).json()
    assert job["state"] == "failed" and job["error"]["step"] == "RunConnectHooks"
    assert not Host.objects.exists()


@pytest.mark.django_db
@pytest.mark.libvirt
def test_attach_reads_real_capacity_from_the_libvirt_agent(admin_client, kvm_host, local_ps,
                                                           django_capture_on_commit_callbacks):
    import os

    job = attach(admin_client, local_ps, kvm_host.cluster, django_capture_on_commit_callbacks)
    assert job["state"] == "succeeded", job
    ref = LocalStorageHostRef.objects.get(primary_storage=local_ps, host=kvm_host)
    st = os.statvfs(local_ps.url)
    assert os.path.isdir(local_ps.url)   # the agent created the directory
    assert ref.total_capacity == st.f_blocks * st.f_frsize
    assert abs(ref.available_physical_capacity - st.f_bavail * st.f_frsize) < 512 * 1024 * 1024


@pytest.mark.django_db
def test_reserve_and_release_and_the_dry_run_choice():
    zone = Zone.objects.create(name="z")
    cluster = Cluster.objects.create(name="c", zone=zone)
    host = Host.objects.create(name="h", cluster=cluster, hypervisor_type="KVM", management_ip="10.0.0.9")
    small, big = (PrimaryStorage.objects.create(name=n, url=f"/{n}", zone=zone) for n in ("small", "big"))
    for ps, size in ((small, 10 * GIB), (big, 100 * GIB)):
        ps.clusters.add(cluster)
        LocalStorageHostRef.objects.create(primary_storage=ps, host=host, total_capacity=size)
    assert choose_primary_storage(host, 20 * GIB)["name"] == "big"
    assert choose_primary_storage(host, 5 * GIB, only=str(small.uuid))["name"] == "small"
    assert choose_primary_storage(host, 200 * GIB) is None
    ref = LocalStorageHostRef.objects.get(primary_storage=small)
    assert ref.reserve(6 * GIB) and not ref.reserve(5 * GIB) and ref.reserve(4 * GIB)
    ref.release(6 * GIB)
    ref.refresh_from_db()
    assert ref.used_capacity == 4 * GIB and ref.available_capacity == 6 * GIB
    assert LocalStorageHostRef.objects.get(primary_storage=big).used_capacity == 0   # the dry run took nothing


@pytest.mark.django_db(transaction=True)
def test_concurrent_reservations_never_overcommit():
    zone = Zone.objects.create(name="z")
    host = Host.objects.create(name="h", cluster=Cluster.objects.create(name="c", zone=zone), hypervisor_type="KVM",
                               management_ip="10.0.0.9")
    ps = PrimaryStorage.objects.create(name="p", url="/p", zone=zone)
    ref = LocalStorageHostRef.objects.create(primary_storage=ps, host=host, total_capacity=10 * GIB)
    results = []
    barrier = threading.Barrier(8)

    def grab():
        barrier.wait()
        results.append(LocalStorageHostRef.objects.get(pk=ref.pk).reserve(3 * GIB))
        connections.close_all()

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 3
    ref.refresh_from_db()
    assert ref.used_capacity == 9 * GIB
