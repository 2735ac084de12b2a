"""Shared primary storage (SharedMountPoint, NFS) on simulated hosts through the API: the rules of
its fields, attach/detach mounting on every host, capacity per storage with over-provisioning, the
allocator's choice among several storages of a cluster, a VM whose root volume and image cache
live there, and failures at each mount/attach step leaving nothing behind.
(Real agent and QEMU: tests/storage/test_shared_primary_storage_kvm.py.)"""
import uuid as uuid_lib

import pytest

from apps.infra import agent
from apps.infra.models import Host
from apps.storage.models import ImageCache, PrimaryStorage, Volume
from tests.compute.vm_env import GIB, Env

pytestmark = pytest.mark.django_db


@pytest.fixture
def env(admin_client, sim_agent, tmp_path, django_capture_on_commit_callbacks):
    return Env(admin_client, django_capture_on_commit_callbacks, tmp_path)


def add_ps(env, **body):
    response = env.client.post("/api/v1/primary-storage/", {"zone_uuid": str(env.zone.uuid), **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def attach(env, ps_uuid):
    return env.job("post", f"/api/v1/primary-storage/{ps_uuid}/attach/", {"cluster_uuid": str(env.cluster.uuid)})[1]


def detach(env, ps_uuid):
    return env.job("post", f"/api/v1/primary-storage/{ps_uuid}/detach/", {"cluster_uuid": str(env.cluster.uuid)})[1]


def mounts(sim_agent_mounts, host_uuid):
    return sim_agent_mounts.get(host_uuid, {})


def unique(prefix):
    """The sim agent outlives a test: a storage's files live on under its path or export."""
    return f"{prefix}-{uuid_lib.uuid4().hex[:8]}"


def smp(env, name="smp", url=None):
    ps = add_ps(env, name=name, type="SharedMountPoint", url=url or unique("/mnt/shared/smp"))
    job = attach(env, ps["uuid"])
    assert job["state"] == "succeeded", job
    return env.client.get(f"/api/v1/primary-storage/{ps['uuid']}/").json()


def test_vm_created_on_shared_mount_point_has_root_volume_and_image_cache_there(env):
    ps = smp(env, url="/mnt/shared/first")
    assert ps["mount_path"] == "/mnt/shared/first" and ps["total_capacity"] > 0
    uuid, job = env.create(primary_storage_type="SharedMountPoint")
    assert job["state"] == "succeeded", job
    vm = env.vm(uuid)
    [volume] = Volume.objects.filter(vm_instance_uuid=uuid)
    assert str(volume.primary_storage.uuid) == ps["uuid"]
    assert volume.install_path.startswith("/mnt/shared/first/rootVolumes/")
    [cache] = ImageCache.objects.filter(primary_storage__uuid=ps["uuid"])
    assert cache.host is None and cache.install_path.startswith("/mnt/shared/first/imagecache/")
    row = PrimaryStorage.objects.get(uuid=ps["uuid"])
    assert row.used_capacity == volume.size + cache.actual_size
    # every host of the cluster sees the volume's file
    for host_uuid in env.hosts:
        info = agent.call(Host.objects.get(uuid=host_uuid), "/v1/volume/info", {"path": volume.install_path})
        assert info["backing_file"] == cache.install_path
    assert vm["state"] == "Running"


def host_mounts(host_uuid):
    return agent.call(Host.objects.get(uuid=host_uuid), "/v1/storage/mounts")["mounts"]


def fault(sim_agent, path, host_uuid=None, count=None):
    sim_agent.admin("POST", "/sim/faults", {"host_uuid": host_uuid, "path": path, "mode": "fail", "count": count})


def test_fields_are_checked_by_type_and_nfs_gets_a_mount_point_named_for_its_uuid(env):
    client, zone = env.client, str(env.zone.uuid)

    def post(**body):
        return client.post("/api/v1/primary-storage/", {"name": "x", "zone_uuid": zone, **body}, format="json")

    bad = post(type="NFS", url="/not/an/export")
    assert bad.status_code == 400 and "url" in bad.json()["details"], bad.content
    assert post(type="SharedMountPoint", url="relative/dir").status_code == 400
    assert post(type="SharedMountPoint", url="/a/../b").status_code == 400
    nfs = post(type="NFS", url="nfs://filer.example/exports/ps1")
    assert nfs.status_code == 201, nfs.content
    nfs = nfs.json()
    assert nfs["mount_path"] == f"/var/lib/cloudportal/nfs/{nfs['uuid'].replace('-', '')}"
    assert nfs["total_capacity"] == 0 and nfs["over_provisioning_ratio"] == 1.0
    assert post(type="NFS", url="10.0.0.5:/exports/ps2").status_code == 201
    smp_row = post(type="SharedMountPoint", url="/mnt/cfs/").json()
    assert (smp_row["url"], smp_row["mount_path"]) == ("/mnt/cfs", "/mnt/cfs")
    # the url (and so where the files are) cannot change once made
    client.patch(f"/api/v1/primary-storage/{nfs['uuid']}/", {"url": "nfs://other/x"}, format="json")
    assert client.get(f"/api/v1/primary-storage/{nfs['uuid']}/").json()["url"] == "nfs://filer.example/exports/ps1"
    listed = client.get("/api/v1/primary-storage/", {"q": "type=NFS"}).json()
    assert {r["type"] for r in listed["results"]} == {"NFS"} and len(listed["results"]) == 2


def test_attach_mounts_nfs_on_every_host_a_connecting_host_mounts_it_and_detach_unmounts(env):
    export = unique("/exports/ps")
    ps = add_ps(env, name="nfs", type="NFS", url=f"nfs://filer{export}")
    env.client.put(f"/api/v1/global-configs/primaryStorage/nfs.mountOptions/resources/{ps['uuid']}/",
                   {"value": "vers=4.1,port=20490"}, format="json")
    job = attach(env, ps["uuid"])
    assert job["state"] == "succeeded", job
    mount_point = ps["mount_path"]
    expected = {"mount_point": mount_point, "type": "nfs", "url": f"filer:{export}",
                "command": ["mount", "-t", "nfs", "-o", "vers=4.1,port=20490", f"filer:{export}", mount_point]}
    for host_uuid in env.hosts:
        assert host_mounts(host_uuid) == [expected]
    row = PrimaryStorage.objects.get(uuid=ps["uuid"])
    assert row.total_capacity > 0 and row.available_physical_capacity > 0

    # a host reconnecting (its agent restarted: mounts gone) and a host added later mount it
    agent.call(Host.objects.get(uuid=env.hosts[0]), "/v1/storage/unmount", {"type": "nfs", "mount_point": mount_point})
    assert env.job("post", f"/api/v1/hosts/{env.hosts[0]}/reconnect/")[1]["state"] == "succeeded"
    assert host_mounts(env.hosts[0]) == [expected]
    added = env.job("post", "/api/v1/hosts/", {"name": "h9", "cluster_uuid": str(env.cluster.uuid),
                                              "hypervisor_type": "Simulator", "cpu_num": 2,
                                              "memory_size": 4 * GIB})[0].json()["resource"]["uuid"]
    assert host_mounts(added) == [expected]

    job = detach(env, ps["uuid"])
    assert job["state"] == "succeeded", job
    assert all(host_mounts(h) == [] for h in env.hosts + [added])
    assert not PrimaryStorage.objects.get(uuid=ps["uuid"]).clusters.exists()


def test_a_failed_mount_or_capacity_read_fails_the_attach_and_unmounts_what_it_mounted(env, sim_agent):
    ps = add_ps(env, name="nfs", type="NFS", url=unique("filer:/exports/ps"))
    for path, host_uuid in (("/v1/storage/mount", env.hosts[1]), ("/v1/storage/capacity", None)):
        fault(sim_agent, path, host_uuid)
        job = attach(env, ps["uuid"])
        assert job["state"] == "failed" and job["error"]["code"] == "HOST_AGENT_UNREACHABLE", job
        assert all(host_mounts(h) == [] for h in env.hosts), path
        row = PrimaryStorage.objects.get(uuid=ps["uuid"])
        assert not row.clusters.exists() and row.used_capacity == 0
        sim_agent.admin("DELETE", "/sim/faults")
    assert attach(env, ps["uuid"])["state"] == "succeeded"


def test_detach_is_refused_while_volumes_live_there_and_a_failed_unmount_mounts_again(env, sim_agent):
    ps = smp(env)
    nfs = add_ps(env, name="nfs", type="NFS", url=unique("filer:/exports/ps"))
    assert attach(env, nfs["uuid"])["state"] == "succeeded"
    uuid, job = env.create(primary_storage_uuid=nfs["uuid"])
    assert job["state"] == "succeeded", job
    job = detach(env, nfs["uuid"])
    assert job["state"] == "failed" and job["error"]["code"] == "PRIMARY_STORAGE_IN_USE", job
    assert len(host_mounts(env.hosts[0])) == 2   # the SMP is a "mount" of the sim too; NFS stays
    env.job("delete", f"/api/v1/vm-instances/{uuid}/")
    env.job("post", f"/api/v1/vm-instances/{uuid}/expunge/")

    fault(sim_agent, "/v1/storage/unmount", env.hosts[1])
    job = detach(env, nfs["uuid"])
    assert job["state"] == "failed", job
    nfs_mounts = [[m for m in host_mounts(h) if m["type"] == "nfs"] for h in env.hosts]
    assert all(len(m) == 1 for m in nfs_mounts)   # the first host mounted it again
    assert PrimaryStorage.objects.get(uuid=nfs["uuid"]).clusters.exists()
    sim_agent.admin("DELETE", "/sim/faults")
    assert detach(env, nfs["uuid"])["state"] == "succeeded"
    assert detach(env, ps["uuid"])["state"] == "succeeded"


def set_ratio(env, ps_uuid, value):
    response = env.client.put(f"/api/v1/global-configs/primaryStorage/overProvisioning.primaryStorage/resources/"
                              f"{ps_uuid}/", {"value": value}, format="json")
    assert response.status_code == 200, response.content


def test_capacity_is_per_storage_and_over_provisioning_offers_more_than_the_disk(env):
    ps = smp(env)
    total = ps["total_capacity"]   # the sim's shared disk: 1 TiB
    assert ps["available_capacity"] == total and ps["used_capacity"] == 0
    too_big = total + GIB
    uuid, job = env.create(primary_storage_type="SharedMountPoint", root_disk_size=too_big)
    assert job["state"] == "failed" and job["error"]["code"] == "NO_HOST_AVAILABLE", job
    assert job["error"]["details"]["filter"] == "PrimaryStorageCapacity"

    set_ratio(env, ps["uuid"], 2.5)
    shown = env.client.get(f"/api/v1/primary-storage/{ps['uuid']}/").json()
    assert shown["over_provisioning_ratio"] == 2.5 and shown["available_capacity"] == int(total * 2.5)
    uuid, job = env.create(primary_storage_type="SharedMountPoint", root_disk_size=too_big)
    assert job["state"] == "succeeded", job
    cache = ImageCache.objects.get(primary_storage__uuid=ps["uuid"])
    shown = env.client.get(f"/api/v1/primary-storage/{ps['uuid']}/").json()
    assert shown["used_capacity"] == too_big + cache.actual_size   # virtual size counted
    assert shown["available_capacity"] == int(total * 2.5) - too_big - cache.actual_size
    # the second VM on another host uses the same cache file (one per storage)
    second, job = env.create(primary_storage_type="SharedMountPoint")
    assert job["state"] == "succeeded", job
    assert ImageCache.objects.get(primary_storage__uuid=ps["uuid"]).ref_count == 2
    for vm in (uuid, second):
        env.job("delete", f"/api/v1/vm-instances/{vm}/")
        env.job("post", f"/api/v1/vm-instances/{vm}/expunge/")
    assert PrimaryStorage.objects.get(uuid=ps["uuid"]).used_capacity == 0
    assert not ImageCache.objects.filter(primary_storage__uuid=ps["uuid"]).exists()


def test_the_allocator_picks_by_type_then_most_free_room_and_the_dry_run_shows_it(env):
    local = PrimaryStorage.objects.get(type="LocalStorage")
    ps = smp(env)
    nfs = add_ps(env, name="nfs", type="NFS", url=unique("filer:/exports/ps"))
    assert attach(env, nfs["uuid"])["state"] == "succeeded"
    # the sim's disks are all 1 TiB: make the NFS one the emptiest, then the SMP
    PrimaryStorage.objects.filter(uuid=ps["uuid"]).update(used_capacity=100 * GIB)
    local.host_refs.update(used_capacity=200 * GIB)

    def dry_run(**extra):
        response = env.client.post("/api/v1/vm-instances/?dry_run=true", env.body(**extra), format="json")
        assert response.status_code == 200, response.content
        return response.json()["placement"]["primary_storage"]

    assert dry_run()["primary_storage_uuid"] == nfs["uuid"]
    assert dry_run(primary_storage_type="SharedMountPoint")["name"] == "smp"
    assert dry_run(primary_storage_type="LocalStorage")["type"] == "LocalStorage"
    assert dry_run(primary_storage_uuid=ps["uuid"])["primary_storage_uuid"] == ps["uuid"]

    uuid, job = env.create()
    assert job["state"] == "succeeded", job
    assert str(Volume.objects.get(vm_instance_uuid=uuid).primary_storage.uuid) == nfs["uuid"]
    uuid, job = env.create(primary_storage_type="SharedMountPoint")
    assert str(Volume.objects.get(vm_instance_uuid=uuid).primary_storage.uuid) == ps["uuid"]
    uuid, job = env.create(primary_storage_type="LocalStorage")
    assert Volume.objects.get(vm_instance_uuid=uuid).primary_storage_id == local.pk

    # a disabled storage is not chosen; a type nobody has room on is a 422 naming the filter
    env.client.post(f"/api/v1/primary-storage/{nfs['uuid']}/disable/")
    assert dry_run()["primary_storage_uuid"] != nfs["uuid"]
    response = env.client.post("/api/v1/vm-instances/?dry_run=true", env.body(primary_storage_type="NFS"),
                               format="json")
    assert response.status_code == 422 and response.json()["details"]["filter"] == "PrimaryStorageCapacity"


@pytest.mark.parametrize("path", ["/v1/image/cache", "/v1/volume/create", "/v1/vm/define"])
def test_a_vm_create_failing_at_a_step_on_shared_storage_leaves_nothing_there(env, sim_agent, path):
    ps = smp(env)
    fault(sim_agent, path)
    uuid, job = env.create(primary_storage_type="SharedMountPoint")
    assert job["state"] == "failed", job
    row = PrimaryStorage.objects.get(uuid=ps["uuid"])
    assert row.used_capacity == 0
    assert not ImageCache.objects.exists() and not Volume.objects.exists()
    sim_agent.admin("DELETE", "/sim/faults")
    files = agent.call(Host.objects.get(uuid=env.hosts[0]), "/v1/storage/capacity", {"path": ps["mount_path"]})
    assert files["available"] == files["total"]   # no file left on the shared disk


def test_an_offering_s_primary_storage_type_places_its_vms_unless_the_request_says_otherwise(env):
    ps = smp(env)
    offering = env.client.post("/api/v1/instance-offerings/", {
        "name": "on-smp", "cpu_num": 1, "memory_size": 256 << 20, "primary_storage_type": "SharedMountPoint"},
        format="json").json()
    assert offering["primary_storage_type"] == "SharedMountPoint"
    PrimaryStorage.objects.filter(uuid=ps["uuid"]).update(used_capacity=500 * GIB)   # local has more room
    uuid, job = env.create(instance_offering_uuid=offering["uuid"])
    assert job["state"] == "succeeded", job
    assert str(Volume.objects.get(vm_instance_uuid=uuid).primary_storage.uuid) == ps["uuid"]
    uuid, job = env.create(instance_offering_uuid=offering["uuid"], primary_storage_type="LocalStorage")
    assert Volume.objects.get(vm_instance_uuid=uuid).primary_storage.type == "LocalStorage"


def test_space_counts_shared_storage_per_storage_and_names_a_host_that_reaches_a_volume(env):
    from apps.storage import space
    from apps.storage.errors import NoPrimaryStorageCapacity

    ps = PrimaryStorage.objects.get(uuid=smp(env)["uuid"])
    hosts = list(Host.objects.filter(uuid__in=env.hosts).order_by("id"))
    space.reserve(ps, hosts[0], 10 * GIB)
    space.reserve(ps, hosts[1], 5 * GIB)   # the host does not matter: one figure per storage
    ps.refresh_from_db()
    assert ps.used_capacity == 15 * GIB
    with pytest.raises(NoPrimaryStorageCapacity):
        space.reserve(ps, hosts[0], ps.total_capacity)
    space.release(ps, None, 15 * GIB)
    ps.refresh_from_db()
    assert ps.used_capacity == 0
    volume = Volume(primary_storage=ps, host=hosts[0])
    assert space.host_for(volume) == hosts[0]
    Host.objects.filter(pk=hosts[0].pk).update(status="Disconnected")
    volume.host.refresh_from_db()
    assert space.host_for(volume) == hosts[1]   # any connected host that mounts it


def test_deleting_an_attached_nfs_storage_unmounts_it_everywhere(env):
    ps = add_ps(env, name="nfs", type="NFS", url=unique("filer:/exports/ps"))
    assert attach(env, ps["uuid"])["state"] == "succeeded"
    assert all(host_mounts(h) for h in env.hosts)
    response, job = env.job("delete", f"/api/v1/primary-storage/{ps['uuid']}/")
    assert job["state"] == "succeeded", job
    assert all(host_mounts(h) == [] for h in env.hosts)


def test_a_host_that_cannot_mount_its_cluster_s_nfs_storage_fails_to_connect(env, sim_agent):
    ps = add_ps(env, name="nfs", type="NFS", url=unique("filer:/exports/ps"))
    assert attach(env, ps["uuid"])["state"] == "succeeded"
    fault(sim_agent, "/v1/storage/mount")
    response, job = env.job("post", "/api/v1/hosts/", {"name": "h9", "cluster_uuid": str(env.cluster.uuid),
                                                      "hypervisor_type": "Simulator", "cpu_num": 2,
                                                      "memory_size": 4 * GIB})
    assert job["state"] == "failed" and job["error"]["step"] == "RunConnectHooks", job
    assert not Host.objects.filter(name="h9").exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_reservations_on_a_shared_storage_never_overbook_it():
    """Eight workers race for room for five: the conditional UPDATE lets exactly five in (MariaDB)."""
    import threading

    from django.db import connection

    from apps.infra.models import Zone
    from apps.storage import space
    from apps.storage.errors import NoPrimaryStorageCapacity

    ps = PrimaryStorage.objects.create(name="smp", type="SharedMountPoint", url="/mnt/race", mount_path="/mnt/race",
                                       zone=Zone.objects.create(name="z"), total_capacity=5 * GIB)
    won, barrier = [], threading.Barrier(8)

    def worker():
        try:
            barrier.wait()
            space.reserve(ps, None, GIB)
            won.append(1)
        except NoPrimaryStorageCapacity:
            pass
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ps.refresh_from_db()
    assert len(won) == 5 and ps.used_capacity == 5 * GIB
