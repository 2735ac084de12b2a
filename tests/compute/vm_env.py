"""A whole simulated environment made through the API, for VM tests and benchmarks."""
from apps.infra import agent
from apps.infra.models import Cluster, Host, Zone
from tests.network.conftest import create_l2, create_l3
from tests.storage.conftest import make_qcow2

GIB = 1 << 30
MIB = 1 << 20


class Env:
    """A zone with two simulated hosts, an image store with an image, local primary storage, an
    L2/L3 network with a range and an offering, all made through the API."""

    def __init__(self, client, capture, tmp_path, hosts=2, cpu_num=2, memory_size=4 * GIB,
                 ip_range=("10.20.0.10", "10.20.0.40")):
        self.client, self.capture = client, capture
        self.zone = Zone.objects.create(name="z1")
        self.cluster = Cluster.objects.create(name="sim", zone=self.zone, hypervisor_type="Simulator")
        self.hosts = [self.job("post", "/api/v1/hosts/", {
            "name": f"h{i}", "cluster_uuid": str(self.cluster.uuid), "hypervisor_type": "Simulator",
            "cpu_num": cpu_num, "memory_size": memory_size})[0].json()["resource"]["uuid"] for i in range(hosts)]
        bs = self.ok(client.post("/api/v1/backup-storage/", {"name": "bs", "type": "ImageStore",
                                                            "url": str(tmp_path / "bs")}, format="json"))
        self.bs_uuid = bs["uuid"]
        self.ok(client.post(f"/api/v1/backup-storage/{bs['uuid']}/attach/", {"zone_uuid": str(self.zone.uuid)},
                            format="json"))
        source = make_qcow2(tmp_path / "tiny.qcow2", "64M")
        response, job = self.job("post", "/api/v1/images/", {"name": "tiny", "url": f"file://{source}",
                                                            "backup_storage_uuids": [bs["uuid"]], "platform": "Linux"})
        assert job["state"] == "succeeded", job
        self.image = response.json()["resource"]["uuid"]
        ps = self.ok(client.post("/api/v1/primary-storage/", {"name": "local", "type": "LocalStorage",
                                                              "url": "/var/lib/cp/ps", "zone_uuid": str(self.zone.uuid)},
                                 format="json"))
        assert self.job("post", f"/api/v1/primary-storage/{ps['uuid']}/attach/",
                        {"cluster_uuid": str(self.cluster.uuid)})[1]["state"] == "succeeded"
        l2 = create_l2(client, self.zone, interface="eth0")
        assert self.job("post", f"/api/v1/l2-networks/{l2['uuid']}/attach/",
                        {"cluster_uuid": str(self.cluster.uuid)})[1]["state"] == "succeeded"
        self.l3 = create_l3(client, l2["uuid"], ranges=[(*ip_range, "255.255.255.0", "10.20.0.1")])
        self.offering = self.ok(client.post("/api/v1/instance-offerings/", {"name": "small", "cpu_num": 1,
                                                                             "memory_size": 512 * MIB},
                                            format="json"))

    @staticmethod
    def ok(response):
        assert response.status_code in (200, 201), response.content
        return response.json()

    def job(self, method, url, body=None):
        """Start a job and run it (inline; with a transactional database ``capture`` may be None)."""
        if self.capture is None:
            response = getattr(self.client, method)(url, body, format="json")
        else:
            with self.capture(execute=True):
                response = getattr(self.client, method)(url, body, format="json")
        assert response.status_code == 202, response.content
        return response, self.client.get(response["Location"]).json()

    def body(self, **extra):
        return {"name": "vm", "instance_offering_uuid": self.offering["uuid"], "image_uuid": self.image,
                "l3_network_uuids": [self.l3["uuid"]], **extra}

    def create(self, **extra):
        response, job = self.job("post", "/api/v1/vm-instances/", self.body(**extra))
        return response.json()["resource"]["uuid"], job

    def vm(self, uuid):
        return self.client.get(f"/api/v1/vm-instances/{uuid}/").json()

    def action(self, uuid, name, body=None):
        return self.job("post", f"/api/v1/vm-instances/{uuid}/{name}/", body)[1]

    def domains(self, host_uuid):
        return agent.call(Host.objects.get(uuid=host_uuid), "/v1/vm/states")["vms"]

    def dhcp_entries(self, host_uuid):
        """{l3 uuid: [entry]} the host's DHCP servers hand out (a server left with no entries stays
        for the next VM and is not listed)."""
        state = agent.call(Host.objects.get(uuid=host_uuid), "/v1/network/state")
        return {l3: d["entries"] for l3, d in state["dhcp"].items() if d["entries"]}
