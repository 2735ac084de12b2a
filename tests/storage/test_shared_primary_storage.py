"""Shared primary storage (SharedMountPoint, NFS) on simulated hosts through the API: the rules of
its fields, attach/detach mounting on every host, capacity per storage with over-provisioning, the
allocator's choice among several storages of a cluster, a VM whose root volume and image cache
live there, and failures at each mount/attach step leaving nothing behind.
(Real agent and QEMU: tests/storage/test_shared_primary_storage_kvm.py.)"""
import pytest

from apps.infra import agent
from apps.infra.models import Host
from apps.storage.models import ImageCache, PrimaryStorage, Volume
from tests.compute.vm_env import Env

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


def smp(env, name="smp", url="/mnt/shared/smp"):
    ps = add_ps(env, name=name, type="SharedMountPoint", url=url)
    job = attach(env, ps["uuid"])
    assert job["state"] == "succeeded", job
    return env.client.get(f"/api/v1/primary-storage/{ps['uuid']}/").json()


def test_vm_created_on_shared_mount_point_has_root_volume_and_image_cache_there(env):
    ps = smp(env)
    assert ps["mount_path"] == "/mnt/shared/smp" and ps["total_capacity"] > 0
    uuid, job = env.create(primary_storage_type="SharedMountPoint")
    assert job["state"] == "succeeded", job
    vm = env.vm(uuid)
    [volume] = Volume.objects.filter(vm_instance_uuid=uuid)
    assert str(volume.primary_storage.uuid) == ps["uuid"]
    assert volume.install_path.startswith("/mnt/shared/smp/rootVolumes/")
    [cache] = ImageCache.objects.filter(primary_storage__uuid=ps["uuid"])
    assert cache.host is None and cache.install_path.startswith("/mnt/shared/smp/imagecache/")
    row = PrimaryStorage.objects.get(uuid=ps["uuid"])
    assert row.used_capacity == volume.size + cache.actual_size
    # every host of the cluster sees the volume's file
    for host_uuid in env.hosts:
        info = agent.call(Host.objects.get(uuid=host_uuid), "/v1/volume/info", {"path": volume.install_path})
        assert info["backing_file"] == cache.install_path
    assert vm["state"] == "Running"
