"""Disk offerings and data volumes on simulated hosts, through the API: create (from an offering
or a size, NotInstantiated or made at once), attach (running: hot; stopped: at the next define),
detach, resize, delete to the recycle bin, recover, expunge; the rules (local storage of another
host, states, tenancy) and the rollback of every attach step. Real QEMU: test_data_volumes_kvm.py."""
import pytest

from apps.compute.flows import ATTACH_DATA_VOLUME, DETACH_DATA_VOLUME
from apps.compute.models import VmInstance
from apps.infra.models import Host
from apps.storage.models import LocalStorageHostRef, Volume
from tests.compute.vm_env import GIB, MIB, Env

pytestmark = pytest.mark.django_db


@pytest.fixture
def env(admin_client, sim_agent, tmp_path, django_capture_on_commit_callbacks):
    return Env(admin_client, django_capture_on_commit_callbacks, tmp_path)


def sim_vm(env, host_uuid, vm_uuid):
    status, detail = env.sim_agent.admin("GET", f"/sim/hosts/{host_uuid}")
    assert status == 200, detail
    return detail["vms"][vm_uuid]


def data_disks(env, host_uuid, vm_uuid):
    """{target: disk} of the VM's domain as the simulator holds it (define + hot plugs)."""
    disks = sim_vm(env, host_uuid, vm_uuid)["spec"].get("disks", [])
    return {d["target"]: d for d in disks if d["target"] != "vda"}


def file_exists(host_uuid, path):
    from apps.infra import agent

    try:
        agent.call(Host.objects.get(uuid=host_uuid), "/v1/volume/info", {"path": path})
        return True
    except Exception as exc:  # noqa: BLE001
        assert getattr(exc, "code", "") == "VOLUME_NOT_FOUND", exc
        return False


def ps_used():
    return sorted(LocalStorageHostRef.objects.values_list("host__uuid", "used_capacity"))


def offering(env, size=64 * MIB):
    return env.ok(env.client.post("/api/v1/disk-offerings/", {"name": "small-disk", "disk_size": size},
                                  format="json"))


def new_volume(env, **body):
    response, job = env.job("post", "/api/v1/volumes/", {"name": "data", **body})
    assert job["state"] == "succeeded", job
    return response.json()["resource"]["uuid"]


def volume(env, uuid):
    return env.client.get(f"/api/v1/volumes/{uuid}/").json()


def attach(env, volume_uuid, vm_uuid):
    return env.job("post", f"/api/v1/volumes/{volume_uuid}/attach/", {"vm_instance_uuid": vm_uuid})[1]


@pytest.fixture
def with_sim(env, sim_agent):
    env.sim_agent = sim_agent
    return env


def test_disk_offerings_are_made_by_admins_and_read_by_everyone(env, tenant_client):
    made = offering(env)
    assert made["disk_size"] == 64 * MIB and made["state"] == "Enabled"
    refused = tenant_client.post("/api/v1/disk-offerings/", {"name": "x", "disk_size": 1}, format="json")
    assert refused.status_code == 403 and refused.json()["code"]
    assert tenant_client.get("/api/v1/disk-offerings/").json()["results"][0]["uuid"] == made["uuid"]
    assert env.client.post(f"/api/v1/disk-offerings/{made['uuid']}/disable/").json()["state"] == "Disabled"
    response = env.client.post("/api/v1/volumes/", {"name": "d", "disk_offering_uuid": made["uuid"]}, format="json")
    assert response.status_code == 400 and "Disabled" in str(response.json()["details"])
    assert env.client.post(f"/api/v1/disk-offerings/{made['uuid']}/enable/").json()["state"] == "Enabled"
    uuid = new_volume(env, disk_offering_uuid=made["uuid"])
    assert volume(env, uuid)["disk_offering_uuid"] == made["uuid"]
    assert env.job("delete", f"/api/v1/disk-offerings/{made['uuid']}/")[1]["state"] == "succeeded"
    assert volume(env, uuid)["disk_offering_uuid"] is None and volume(env, uuid)["size"] == 64 * MIB


def test_a_volume_from_an_offering_is_not_instantiated_until_first_attached_then_made_on_the_vms_host(with_sim):
    env = with_sim
    vm_uuid, _ = env.create()
    host = env.vm(vm_uuid)["host_uuid"]
    uuid = new_volume(env, disk_offering_uuid=offering(env)["uuid"])
    shown = volume(env, uuid)
    assert (shown["status"], shown["type"], shown["size"], shown["primary_storage_uuid"]) == (
        "NotInstantiated", "Data", 64 * MIB, None)
    used_before = ps_used()

    job = attach(env, uuid, vm_uuid)
    assert job["state"] == "succeeded", job
    shown = volume(env, uuid)
    assert shown["status"] == "Ready" and shown["host_uuid"] == host and shown["vm_instance_uuid"] == vm_uuid
    assert shown["device_target"] == "vdb" and shown["bus"] == "virtio"
    row = Volume.objects.get(uuid=uuid)
    assert file_exists(host, row.install_path) and "/dataVolumes/" in row.install_path
    assert dict(ps_used())[Host.objects.get(uuid=host).uuid] == dict(used_before)[Host.objects.get(uuid=host).uuid] \
        + 64 * MIB
    disk = data_disks(env, host, vm_uuid)["vdb"]
    assert disk["path"] == row.install_path and disk["serial"] == uuid.replace("-", "")[:20]
    assert VmInstance.objects.get(uuid=vm_uuid).busy_job is None and row.busy_job is None

    # a second one on SCSI gets its own target and a WWN
    scsi = new_volume(env, size=32 * MIB, bus="scsi")
    assert attach(env, scsi, vm_uuid)["state"] == "succeeded"
    disks = data_disks(env, host, vm_uuid)
    assert disks["sda"]["bus"] == "scsi" and disks["sda"]["wwn"] == "5" + scsi.replace("-", "")[-15:]

    # detach: gone from the domain, the file and its room stay
    assert env.job("post", f"/api/v1/volumes/{uuid}/detach/")[1]["state"] == "succeeded"
    assert "vdb" not in data_disks(env, host, vm_uuid)
    shown = volume(env, uuid)
    assert shown["vm_instance_uuid"] is None and shown["device_target"] == "" and shown["status"] == "Ready"
    assert file_exists(host, row.install_path)


def test_a_stopped_vm_gets_its_attached_volume_at_its_next_start(with_sim):
    env = with_sim
    vm_uuid, _ = env.create()
    host = env.vm(vm_uuid)["host_uuid"]
    assert env.action(vm_uuid, "stop")["state"] == "succeeded"
    uuid = new_volume(env, size=16 * MIB)
    assert attach(env, uuid, vm_uuid)["state"] == "succeeded"
    assert volume(env, uuid)["device_target"] == "vdb"
    assert env.action(vm_uuid, "start")["state"] == "succeeded"
    assert data_disks(env, host, vm_uuid)["vdb"]["path"] == Volume.objects.get(uuid=uuid).install_path
    # a stopped VM's detach: its next define leaves the disk out
    assert env.action(vm_uuid, "stop")["state"] == "succeeded"
    assert env.job("post", f"/api/v1/volumes/{uuid}/detach/")[1]["state"] == "succeeded"
    assert env.action(vm_uuid, "start")["state"] == "succeeded"
    assert data_disks(env, host, vm_uuid) == {}


def test_a_volume_made_at_once_on_local_storage_of_another_host_is_refused_with_409(with_sim):
    env = with_sim
    vm_uuid, _ = env.create()
    vm_host = env.vm(vm_uuid)["host_uuid"]
    other = next(h for h in env.hosts if h != vm_host)
    ps = env.client.get("/api/v1/primary-storage/").json()["results"][0]["uuid"]
    uuid = new_volume(env, size=16 * MIB, primary_storage_uuid=ps, host_uuid=other)
    shown = volume(env, uuid)
    assert shown["status"] == "Ready" and shown["host_uuid"] == other
    assert file_exists(other, Volume.objects.get(uuid=uuid).install_path)
    refused = env.client.post(f"/api/v1/volumes/{uuid}/attach/", {"vm_instance_uuid": vm_uuid}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "VOLUME_ON_OTHER_HOST"
    assert "local storage of host" in refused.json()["message"]


def test_wrong_states_and_bad_input_are_refused_with_their_codes(with_sim, tenant_client):
    env = with_sim
    vm_uuid, _ = env.create()
    root = env.vm(vm_uuid)["root_volume_uuid"]
    refused = env.client.post(f"/api/v1/volumes/{root}/attach/", {"vm_instance_uuid": vm_uuid}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "VOLUME_NOT_DATA"
    assert env.client.post("/api/v1/volumes/", {"name": "x"}, format="json").status_code == 400
    uuid = new_volume(env, size=16 * MIB)
    assert env.client.post(f"/api/v1/volumes/{uuid}/detach/").json()["code"] == "VOLUME_NOT_ATTACHED"
    assert attach(env, uuid, vm_uuid)["state"] == "succeeded"
    again = env.client.post(f"/api/v1/volumes/{uuid}/attach/", {"vm_instance_uuid": vm_uuid}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "VOLUME_ATTACHED"
    shrink = env.client.post(f"/api/v1/volumes/{uuid}/resize/", {"size": MIB}, format="json")
    assert shrink.status_code == 400 and shrink.json()["code"] == "VOLUME_SHRINK_REFUSED"
    expunge = env.client.post(f"/api/v1/volumes/{uuid}/expunge/")
    assert expunge.status_code == 409 and "Ready" in expunge.json()["message"]
    missing = env.client.post(f"/api/v1/volumes/{uuid}/attach/", {"vm_instance_uuid": str(Host.objects.first().uuid)},
                              format="json")
    assert missing.status_code in (404, 409)
    # another account sees neither the volume nor the VM
    assert tenant_client.get(f"/api/v1/volumes/{uuid}/").status_code == 404
    assert tenant_client.get("/api/v1/volumes/").json()["count"] == 0
    mine = tenant_client.post("/api/v1/volumes/", {"name": "mine", "size": MIB}, format="json")
    assert mine.status_code == 202, mine.content
    mine_uuid = mine.json()["resource"]["uuid"]
    other_vm = tenant_client.post(f"/api/v1/volumes/{mine_uuid}/attach/", {"vm_instance_uuid": vm_uuid}, format="json")
    assert other_vm.status_code == 404 and other_vm.json()["code"] == "NOT_FOUND"
    placed = tenant_client.post("/api/v1/volumes/", {"name": "p", "size": MIB, "primary_storage_uuid": str(
        env.client.get("/api/v1/primary-storage/").json()["results"][0]["uuid"])}, format="json")
    assert placed.status_code == 400 and "admin" in str(placed.json()["details"])


def test_resize_grows_a_data_volume_and_the_root_volume_and_reserves_the_growth(with_sim):
    env = with_sim
    vm_uuid, _ = env.create()
    host = env.vm(vm_uuid)["host_uuid"]
    uuid = new_volume(env, size=16 * MIB)
    assert attach(env, uuid, vm_uuid)["state"] == "succeeded"
    before = dict(ps_used())[Host.objects.get(uuid=host).uuid]
    response, job = env.job("post", f"/api/v1/volumes/{uuid}/resize/", {"size": 48 * MIB})
    assert job["state"] == "succeeded" and job["result"]["online"] is True, job
    assert volume(env, uuid)["size"] == 48 * MIB
    assert dict(ps_used())[Host.objects.get(uuid=host).uuid] == before + 32 * MIB
    root = env.vm(vm_uuid)["root_volume_uuid"]
    size = volume(env, root)["size"]
    assert env.job("post", f"/api/v1/volumes/{root}/resize/", {"size": size + GIB})[1]["state"] == "succeeded"
    assert volume(env, root)["size"] == size + GIB
    # a NotInstantiated volume: its row only
    later = new_volume(env, size=16 * MIB)
    assert env.job("post", f"/api/v1/volumes/{later}/resize/", {"size": 32 * MIB})[1]["state"] == "succeeded"
    assert volume(env, later)["size"] == 32 * MIB


def test_delete_detaches_into_the_recycle_bin_recover_brings_it_back_expunge_removes_everything(with_sim):
    env = with_sim
    vm_uuid, _ = env.create()
    host = env.vm(vm_uuid)["host_uuid"]
    used_before = ps_used()
    uuid = new_volume(env, size=16 * MIB)
    assert attach(env, uuid, vm_uuid)["state"] == "succeeded"
    path = Volume.objects.get(uuid=uuid).install_path
    assert env.job("delete", f"/api/v1/volumes/{uuid}/")[1]["state"] == "succeeded"
    shown = volume(env, uuid)
    assert shown["status"] == "Deleted" and shown["deleted_at"] and shown["vm_instance_uuid"] is None
    assert data_disks(env, host, vm_uuid) == {} and file_exists(host, path)
    recovered = env.client.post(f"/api/v1/volumes/{uuid}/recover/")
    assert recovered.status_code == 200 and recovered.json()["status"] == "Ready"
    assert recovered.json()["deleted_at"] is None
    assert env.client.post(f"/api/v1/volumes/{uuid}/recover/").status_code == 409
    assert env.job("delete", f"/api/v1/volumes/{uuid}/")[1]["state"] == "succeeded"
    assert env.job("post", f"/api/v1/volumes/{uuid}/expunge/")[1]["state"] == "succeeded"
    assert not Volume.objects.filter(uuid=uuid).exists() and not file_exists(host, path)
    assert ps_used() == used_before

    # volume.deletionPolicy Direct: gone at once
    env.ok(env.client.patch("/api/v1/global-configs/volume/deletionPolicy/", {"value": "Direct"}, format="json"))
    direct = new_volume(env, size=16 * MIB)
    assert env.job("delete", f"/api/v1/volumes/{direct}/")[1]["state"] == "succeeded"
    assert not Volume.objects.filter(uuid=direct).exists()


def test_expunging_a_vm_leaves_its_data_volumes_detached(with_sim):
    env = with_sim
    vm_uuid, _ = env.create()
    uuid = new_volume(env, size=16 * MIB)
    assert attach(env, uuid, vm_uuid)["state"] == "succeeded"
    assert env.job("delete", f"/api/v1/vm-instances/{vm_uuid}/")[1]["state"] == "succeeded"
    assert volume(env, uuid)["vm_instance_uuid"] == vm_uuid   # destroyed: kept for recover
    assert env.action(vm_uuid, "expunge")["state"] == "succeeded"
    shown = volume(env, uuid)
    assert shown["status"] == "Ready" and shown["vm_instance_uuid"] is None and shown["device_target"] == ""


def _outside(env, vm_uuid, host):
    return {"disks": data_disks(env, host, vm_uuid), "used": ps_used(),
            "files": sorted(Volume.objects.exclude(install_path="").values_list("install_path", flat=True))}


@pytest.mark.parametrize("failing", [s.step_name() for s in ATTACH_DATA_VOLUME.steps])
def test_a_failure_at_each_attach_step_leaves_nothing_behind(with_sim, failing, monkeypatch):
    """The step does its work and then fails: its own work and every earlier step's is undone (the
    file made for a NotInstantiated volume, its room, the rows, the hot-plugged device, the claims)."""
    env = with_sim
    vm_uuid, _ = env.create()
    host = env.vm(vm_uuid)["host_uuid"]
    uuid = new_volume(env, size=16 * MIB)
    before = _outside(env, vm_uuid, host)
    step = next(s for s in ATTACH_DATA_VOLUME.steps if s.step_name() == failing)
    run = step.run

    def work_then_fail(self, ctx):
        run(self, ctx)
        raise RuntimeError(f"injected failure in {failing}")

    monkeypatch.setattr(step, "run", work_then_fail)
    job = attach(env, uuid, vm_uuid)
    assert job["state"] == "failed" and job["error"]["step"] == failing, job
    row = Volume.objects.get(uuid=uuid)
    assert (row.status, row.vm_instance_uuid, row.device_target, row.install_path, row.primary_storage_id) == (
        "NotInstantiated", None, "", "", None)
    assert row.busy_job is None and VmInstance.objects.get(uuid=vm_uuid).busy_job is None
    assert _outside(env, vm_uuid, host) == before
    from apps.storage.models import PrimaryStorage

    planned = PrimaryStorage.objects.get().volume_path(uuid, "Data")
    assert not file_exists(host, planned)


def test_an_agent_failure_at_hot_plug_rolls_back_the_file_and_rows(with_sim):
    env = with_sim
    vm_uuid, _ = env.create()
    host = env.vm(vm_uuid)["host_uuid"]
    uuid = new_volume(env, size=16 * MIB)
    before = _outside(env, vm_uuid, host)
    env.sim_agent.admin("POST", "/sim/faults", {"host_uuid": host, "path": "/v1/vm/attach-disk", "mode": "fail",
                                                "count": 1})
    job = attach(env, uuid, vm_uuid)
    assert job["state"] == "failed" and job["error"]["step"] == "PlugDisk", job
    assert "Traceback" not in job["error"]["message"] and job["error"]["code"]
    assert _outside(env, vm_uuid, host) == before and volume(env, uuid)["status"] == "NotInstantiated"
    from apps.storage.models import PrimaryStorage

    assert not file_exists(host, PrimaryStorage.objects.get().volume_path(uuid, "Data"))


def test_a_detach_the_agent_fails_keeps_the_volume_attached(with_sim):
    env = with_sim
    vm_uuid, _ = env.create()
    host = env.vm(vm_uuid)["host_uuid"]
    uuid = new_volume(env, size=16 * MIB)
    assert attach(env, uuid, vm_uuid)["state"] == "succeeded"
    env.sim_agent.admin("POST", "/sim/faults", {"host_uuid": host, "path": "/v1/vm/detach-disk", "mode": "fail",
                                                "count": 1})
    job = env.job("post", f"/api/v1/volumes/{uuid}/detach/")[1]
    assert job["state"] == "failed", job
    shown = volume(env, uuid)
    assert shown["vm_instance_uuid"] == vm_uuid and shown["device_target"] == "vdb"
    assert "vdb" in data_disks(env, host, vm_uuid)
    assert VmInstance.objects.get(uuid=vm_uuid).busy_job is None


def test_deleted_volumes_are_expunged_after_the_expunge_period_by_policy_delay(with_sim):
    from datetime import timedelta

    from django.utils import timezone

    from apps.storage.flows.data_volumes import expunge_due_volumes

    env = with_sim
    uuid = new_volume(env, size=16 * MIB)
    assert env.job("delete", f"/api/v1/volumes/{uuid}/")[1]["state"] == "succeeded"
    with env.capture(execute=True):
        assert expunge_due_volumes() == {"expunging": 0}   # deleted a moment ago: kept
        assert expunge_due_volumes(now=timezone.now() + timedelta(days=2)) == {"expunging": 1}
    assert not Volume.objects.filter(uuid=uuid).exists()


@pytest.mark.parametrize("failing", [s.step_name() for s in DETACH_DATA_VOLUME.steps])
def test_a_failure_at_each_detach_step_leaves_the_volume_attached_as_the_domain_has_it(with_sim, failing,
                                                                                     monkeypatch):
    env = with_sim
    vm_uuid, _ = env.create()
    host = env.vm(vm_uuid)["host_uuid"]
    uuid = new_volume(env, size=16 * MIB)
    assert attach(env, uuid, vm_uuid)["state"] == "succeeded"
    before = _outside(env, vm_uuid, host)
    step = next(s for s in DETACH_DATA_VOLUME.steps if s.step_name() == failing)
    run = step.run

    def work_then_fail(self, ctx):
        run(self, ctx)
        raise RuntimeError(f"injected failure in {failing}")

    monkeypatch.setattr(step, "run", work_then_fail)
    job = env.job("post", f"/api/v1/volumes/{uuid}/detach/")[1]
    assert job["state"] == "failed" and job["error"]["step"] == failing, job
    shown = volume(env, uuid)
    assert (shown["vm_instance_uuid"], shown["device_target"], shown["status"]) == (vm_uuid, "vdb", "Ready")
    assert _outside(env, vm_uuid, host) == before
    assert VmInstance.objects.get(uuid=vm_uuid).busy_job is None and Volume.objects.get(uuid=uuid).busy_job is None


@pytest.mark.parametrize("failing", ["DropFailedVolume", "ReserveVolumeSpace", "InstantiateVolume", "VolumeCreated"])
def test_a_failure_at_each_create_step_leaves_no_row_room_or_file(with_sim, failing, monkeypatch):
    from apps.storage.flows import CREATE_DATA_VOLUME
    from apps.storage.models import PrimaryStorage

    env = with_sim
    ps = PrimaryStorage.objects.get()
    host = env.hosts[0]
    used_before = ps_used()
    step = next(s for s in CREATE_DATA_VOLUME.steps if s.step_name() == failing)
    run = step.run

    def work_then_fail(self, ctx):
        run(self, ctx)
        raise RuntimeError(f"injected failure in {failing}")

    monkeypatch.setattr(step, "run", work_then_fail)
    response, job = env.job("post", "/api/v1/volumes/", {"name": "doomed", "size": 16 * MIB,
                                                          "primary_storage_uuid": str(ps.uuid), "host_uuid": host})
    assert job["state"] == "failed" and job["error"]["step"] == failing, job
    uuid = response.json()["resource"]["uuid"]
    assert not Volume.objects.filter(uuid=uuid).exists() and ps_used() == used_before
    assert not file_exists(host, ps.volume_path(uuid, "Data"))


@pytest.mark.parametrize("failing", ["CheckResize", "ReserveGrowth", "GrowOnHost"])
def test_a_resize_failing_at_any_step_keeps_the_size_and_gives_the_room_back(with_sim, failing, monkeypatch):
    from apps.compute.flows import RESIZE_VOLUME

    env = with_sim
    vm_uuid, _ = env.create()
    uuid = new_volume(env, size=16 * MIB)
    assert attach(env, uuid, vm_uuid)["state"] == "succeeded"
    used_before = ps_used()
    step = next(s for s in RESIZE_VOLUME.steps if s.step_name() == failing)

    def fail(self, ctx):
        raise RuntimeError(f"injected failure in {failing}")

    monkeypatch.setattr(step, "run", fail)
    job = env.job("post", f"/api/v1/volumes/{uuid}/resize/", {"size": 32 * MIB})[1]
    assert job["state"] == "failed" and job["error"]["step"] == failing, job
    assert volume(env, uuid)["size"] == 16 * MIB and ps_used() == used_before
