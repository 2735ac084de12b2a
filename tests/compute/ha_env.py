"""What the maintenance and HA tests share: a simulated environment whose VMs can sit on shared
storage (a SharedMountPoint row attached to the cluster), and a way to make a host fail."""
from apps.compute.models import VmInstance
from apps.infra.models import Host
from apps.storage.models import PrimaryStorage, Volume
from tests.compute.vm_env import Env


class HaEnv(Env):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        response = self.client.post("/api/v1/primary-storage/", {
            "name": "smp", "type": "SharedMountPoint", "url": "/mnt/shared/smp", "zone_uuid": str(self.zone.uuid)},
            format="json")
        assert response.status_code == 201, response.content
        uuid = response.json()["uuid"]
        job = self.job("post", f"/api/v1/primary-storage/{uuid}/attach/", {"cluster_uuid": str(self.cluster.uuid)})[1]
        assert job["state"] == "succeeded", job
        self.shared = PrimaryStorage.objects.get(uuid=uuid)

    def config(self, category, name, value):
        response = self.client.patch(f"/api/v1/global-configs/{category}/{name}/", {"value": value}, format="json")
        assert response.status_code == 200, response.content

    def vm_on(self, host_index, shared=True, ha=False, **extra):
        """A running VM on ``hosts[host_index]``; ``shared``: its root volume on the shared storage."""
        uuid, job = self.create(host_uuid=self.hosts[host_index],
                                primary_storage_type="SharedMountPoint" if shared else "LocalStorage", **extra)
        assert job["state"] == "succeeded", job
        assert Volume.objects.get(uuid=self.vm(uuid)["root_volume_uuid"]).primary_storage.is_shared == shared
        if ha:
            response = self.client.patch(f"/api/v1/vm-instances/{uuid}/", {"ha_level": "NeverStop"}, format="json")
            assert response.status_code == 200 and response.json()["ha_level"] == "NeverStop", response.content
        return uuid

    def on_host(self, host_index):
        return set(str(u) for u in VmInstance.objects.filter(host__uuid=self.hosts[host_index]).values_list(
            "uuid", flat=True))

    def fail_host(self, sim_agent, host_index, heartbeat=True):
        """The host's agent stops answering (and, with ``heartbeat``, its storage heartbeat stops);
        the host tracker has marked it Disconnected."""
        uuid = self.hosts[host_index]
        sim_agent.admin("POST", "/sim/faults", {"host_uuid": uuid, "path": "/v1/host/ping", "mode": "fail"})
        if heartbeat:
            sim_agent.admin("POST", "/sim/faults", {"host_uuid": uuid, "path": "/v1/ha/heartbeat", "mode": "fail"})
        Host.objects.filter(uuid=uuid).update(status="Disconnected")
