"""Maintenance on two real libvirt hosts (tests/two_hosts.py): host b runs 3 VMs in QEMU, two on the
shared directory both hosts see, one on b's local storage. Maintenance live-migrates the two to a
(they keep running: real libvirt migrations) and stops the third; b ends empty, in Maintenance."""
import subprocess
import uuid as uuid_lib

import pytest

from apps.compute.flows.host_maintenance import MAINTAIN_HOST
from apps.compute.flows.vm_common import define_body
from apps.compute.models import VmInstance
from apps.core.flows import execute_job, start_job
from apps.core.models import Job
from apps.infra import agent
from apps.infra.models import Host
from apps.storage.models import PrimaryStorage, Volume

pytestmark = pytest.mark.libvirt
MIB = 1 << 20


def test_maintenance_empties_a_real_host_with_3_vms(two_kvm_hosts, admin_user, admin_client):  # noqa: F811
    pair, (row_a, row_b) = two_kvm_hosts.hosts, two_kvm_hosts.rows
    cluster, zone = two_kvm_hosts.cluster, two_kvm_hosts.zone
    assert admin_client.patch("/api/v1/global-configs/vm/stop.timeout/", {"value": 0},
                              format="json").status_code == 200
    shared = PrimaryStorage.objects.create(name="smp", type="SharedMountPoint", url=str(pair.shared_dir), zone=zone)
    local = PrimaryStorage.objects.create(name="local", type="LocalStorage", url=str(pair.local_dir), zone=zone)
    shared.clusters.add(cluster)
    local.clusters.add(cluster)
    vms = []
    try:
        for name, ps in (("shared-1", shared), ("shared-2", shared), ("local-1", local)):
            vm_uuid = str(uuid_lib.uuid4())
            vms.append(vm_uuid)
            if ps is shared:
                path = pair.shared_dir / f"{vm_uuid}.qcow2"
                subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "16M"], check=True)
                path.chmod(0o666)
            else:
                path = pair.local_dir / f"{vm_uuid}.qcow2"
                agent.call(row_b, "/v1/volume/create", {"path": str(path), "size": 16 * MIB})
            volume = Volume.objects.create(name=name, account=admin_user.account, size=16 * MIB, install_path=str(path),
                                           primary_storage=ps, host=row_b, status="Ready", vm_instance_uuid=vm_uuid)
            vm = VmInstance.objects.create(uuid=vm_uuid, name=name, account=admin_user.account, state="Running",
                                           cpu_num=1, memory_size=64 * MIB, host=row_b, last_host=row_b,
                                           cluster=cluster, zone=zone, root_volume=volume, hypervisor_type="KVM")
            assert row_b.reserve(1, 64 * MIB)
            agent.call(row_b, "/v1/vm/define", define_body(vm, [], str(path), "qcow2"))
            agent.call(row_b, "/v1/vm/start", {"vm_uuid": vm_uuid})

        job = start_job(MAINTAIN_HOST, resource=row_b, args={"host_uuid": str(row_b.uuid)})
        job = execute_job(job.uuid)
        assert job.state == "succeeded", job.error
        assert sorted(job.result["migrated"]) == sorted(vms[:2]) and job.result["stopped"] == [vms[2]]
        b = Host.objects.get(pk=row_b.pk)
        assert b.state == "Maintenance" and b.used_cpu == 0
        assert not VmInstance.objects.filter(host=b).exists()
        for vm_uuid in vms[:2]:
            assert VmInstance.objects.get(uuid=vm_uuid).host_id == row_a.pk
            assert pair.where(vm_uuid) == {"a": 1}   # running on a, gone from b
            assert Job.objects.get(resource_uuid=vm_uuid, action="migrate-vm").state == "succeeded"
        assert VmInstance.objects.get(uuid=vms[2]).state == "Stopped"
        assert pair.where(vms[2]) == {"b": 5}   # defined on b, shut off
        assert agent.call(row_b, "/v1/vm/states")["vms"].get(vms[2]) == "Stopped"
    finally:
        for vm_uuid in vms:
            pair.remove_domain(vm_uuid)
