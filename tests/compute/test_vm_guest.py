"""Guest settings through the API on simulated hosts (apps/compute/guest/): create from an ISO, the
config drive, video and guest agent in the define, ISO attach/detach, boot order, password change
without a guest agent, vCPU/memory change with the host's capacity following, QoS, and failures
that leave nothing changed. The real-QEMU side is tests/hostagent/test_guest_settings.py."""
import pytest

from apps.compute.models import VmInstance, VmNic
from apps.core.testing import fail_after_its_work
from apps.infra.models import Host
from apps.storage.models import ImageCache, Volume
from hostagent.backends.config_drive import build_iso
from tests.compute.vm_env import GIB, MIB, Env

pytestmark = pytest.mark.django_db
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGuest user@example"


@pytest.fixture
def env(admin_client, sim_agent, tmp_path, django_capture_on_commit_callbacks):
    env = Env(admin_client, django_capture_on_commit_callbacks, tmp_path)
    env.sim = sim_agent
    return env


def domain(env, vm_uuid):
    vm = VmInstance.objects.get(uuid=vm_uuid)
    host = vm.host or vm.last_host
    status, detail = env.sim.admin("GET", f"/sim/hosts/{host.uuid}")
    assert status == 200, detail
    return detail["vms"][vm_uuid]["spec"]


def iso_image(env, tmp_path):
    source = tmp_path / "install.iso"
    source.write_bytes(build_iso({"user_data": b"installer", "meta_data": b"{}"}))
    response, job = env.job("post", "/api/v1/images/", {"name": "installer", "url": f"file://{source}",
                                                        "backup_storage_uuids": [env.bs_uuid], "platform": "Linux"})
    assert job["state"] == "succeeded", job
    return response.json()["resource"]["uuid"]


def test_create_with_guest_settings_defines_them_and_builds_the_config_drive(env):
    vm_uuid, job = env.create(video_type="qxl", guest_agent=True, cpu_max=2, memory_max=GIB, hostname="web-1",
                              ssh_keys=[KEY], user_data="#cloud-config\npackages: [nginx]\n",
                              root_iops_limit=500, outbound_bandwidth=1 << 20)
    assert job["state"] == "succeeded", job
    spec = domain(env, vm_uuid)
    assert (spec["video"], spec["guest_agent"], spec["cpu_max"], spec["memory_max"]) == ("qxl", True, 2, GIB)
    drive = next(d for d in spec["disks"] if d["device"] == "cdrom")
    assert drive["target"] == "sde" and drive["path"].endswith(f"/configDrives/{vm_uuid}/cidata.iso")
    assert spec["iotune"] == {spec["disk_path"]: {"total_iops_sec": 500}}
    assert list(spec["nic_bandwidth"].values()) == [{"outbound": 1 << 20}]
    shown = env.vm(vm_uuid)
    assert (shown["video_type"], shown["guest_agent"], shown["hostname"], shown["cpu_max"]) == ("qxl", True, "web-1", 2)

    # PATCH: from the next start (the define follows the row)
    assert env.client.patch(f"/api/v1/vm-instances/{vm_uuid}/", {"video_type": "svga"}, format="json").status_code == 400
    patched = env.client.patch(f"/api/v1/vm-instances/{vm_uuid}/", {"video_type": "cirrus", "guest_agent": False},
                               format="json")
    assert patched.status_code == 200 and domain(env, vm_uuid)["video"] == "qxl"
    assert env.action(vm_uuid, "stop")["state"] == "succeeded" and env.action(vm_uuid, "start")["state"] == "succeeded"
    assert (domain(env, vm_uuid)["video"], domain(env, vm_uuid)["guest_agent"]) == ("cirrus", False)


def test_bad_guest_settings_are_400_naming_the_field(env):
    for extra, field in ((dict(video_type="svga"), "video_type"), (dict(cpu_max=0), "cpu_max"),
                         (dict(memory_max=64 * MIB), "memory_max"), (dict(hostname="bad_name"), "hostname"),
                         (dict(ssh_keys=["not a key"]), "ssh_keys")):
        response = env.client.post("/api/v1/vm-instances/", env.body(**extra), format="json")
        assert response.status_code == 400 and field in response.json()["details"], (extra, response.content)


def test_create_from_an_iso_attach_detach_and_boot_order(env, tmp_path):
    iso = iso_image(env, tmp_path)
    response = env.client.post("/api/v1/vm-instances/", env.body(image_uuid=iso), format="json")
    assert response.status_code == 400 and "root_disk_size" in response.json()["details"]
    vm_uuid, job = env.create(image_uuid=iso, root_disk_size=GIB)
    assert job["state"] == "succeeded", job
    spec = domain(env, vm_uuid)
    drive = next(d for d in spec["disks"] if d["target"] == "sdf")
    assert drive["device"] == "cdrom" and drive["path"].endswith(".iso") and spec["boot"] == ["cdrom", "hd"]
    cache = ImageCache.objects.get(install_path=drive["path"])
    assert cache.ref_count == 2   # the blank root volume's and the drive's

    assert env.action(vm_uuid, "detach-iso")["state"] == "succeeded"
    assert next(d for d in domain(env, vm_uuid)["disks"] if d["target"] == "sdf")["path"] is None
    assert ImageCache.objects.get(pk=cache.pk).ref_count == 1
    assert env.client.post(f"/api/v1/vm-instances/{vm_uuid}/detach-iso/").json()["code"] == "NO_ISO_ATTACHED"

    assert env.action(vm_uuid, "attach-iso", {"image_uuid": iso})["state"] == "succeeded"
    assert next(d for d in domain(env, vm_uuid)["disks"] if d["target"] == "sdf")["path"] == drive["path"]
    assert env.action(vm_uuid, "attach-iso", {"image_uuid": iso})["state"] == "succeeded"   # again: counted once
    assert ImageCache.objects.get(pk=cache.pk).ref_count == 2
    refused = env.client.post(f"/api/v1/vm-instances/{vm_uuid}/attach-iso/", {"image_uuid": env.image}, format="json")
    assert refused.status_code == 400 and "image_uuid" in refused.json()["details"]

    assert env.action(vm_uuid, "set-boot-order", {"boot_order": ["hd", "cdrom"]})["state"] == "succeeded"
    assert domain(env, vm_uuid)["boot"] == ["hd", "cdrom"] and env.vm(vm_uuid)["boot_order"] == "hd,cdrom"


def test_a_running_vm_without_an_iso_drive_is_told_to_stop_first(env, tmp_path):
    iso = iso_image(env, tmp_path)
    vm_uuid, _ = env.create()
    response = env.client.post(f"/api/v1/vm-instances/{vm_uuid}/attach-iso/", {"image_uuid": iso}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "CDROM_NOT_PRESENT"


def test_password_change_without_a_guest_agent_fails_with_a_clear_code(env):
    vm_uuid, _ = env.create(guest_agent=True)
    job = env.action(vm_uuid, "change-password", {"user": "root", "password": "Secret-123"})
    assert job["state"] == "failed" and job["error"]["code"] == "GUEST_AGENT_UNAVAILABLE", job
    assert "qemu-guest-agent" in job["error"]["message"] and "Secret-123" not in str(job)
    assert env.action(vm_uuid, "stop")["state"] == "succeeded"
    response = env.client.post(f"/api/v1/vm-instances/{vm_uuid}/change-password/", {"password": "x"}, format="json")
    assert response.status_code == 409 and "Stopped" in response.json()["message"]


def test_cpu_and_memory_change_live_within_the_maximums_and_the_host_follows(env):
    vm_uuid, _ = env.create(cpu_max=2, memory_max=GIB)
    host = VmInstance.objects.get(uuid=vm_uuid).host
    before = Host.objects.get(pk=host.pk)
    job = env.action(vm_uuid, "set-cpu-memory", {"cpu_num": 2, "memory_size": GIB})
    assert job["state"] == "succeeded" and job["result"]["live"] is True, job
    after = Host.objects.get(pk=host.pk)
    assert (after.used_cpu - before.used_cpu, after.used_memory - before.used_memory) == (1, GIB - 512 * MIB)
    spec = domain(env, vm_uuid)
    assert (spec["cpu_num"], spec["memory_size"]) == (2, GIB)
    response = env.client.post(f"/api/v1/vm-instances/{vm_uuid}/set-cpu-memory/", {"cpu_num": 3}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "ABOVE_VM_MAXIMUM"
    # shrinking gives the difference back
    assert env.action(vm_uuid, "set-cpu-memory", {"cpu_num": 1, "memory_size": 512 * MIB})["state"] == "succeeded"
    back = Host.objects.get(pk=host.pk)
    assert (back.used_cpu, back.used_memory) == (before.used_cpu, before.used_memory)


def test_a_failed_live_cpu_change_leaves_row_capacity_and_domain_as_they_were(env):
    vm_uuid, _ = env.create(cpu_max=2)
    host = VmInstance.objects.get(uuid=vm_uuid).host
    before = Host.objects.get(pk=host.pk)
    env.sim.admin("POST", "/sim/faults", {"path": "/v1/vm/cpu-memory", "mode": "fail", "count": 1})
    job = env.action(vm_uuid, "set-cpu-memory", {"cpu_num": 2})
    assert job["state"] == "failed" and job["error"]["step"] == "ApplyCpuMemory", job   # the injected 503
    after = Host.objects.get(pk=host.pk)
    assert (after.used_cpu, after.used_memory) == (before.used_cpu, before.used_memory)
    assert VmInstance.objects.get(uuid=vm_uuid).cpu_num == 1 and domain(env, vm_uuid)["cpu_num"] == 1


def test_qos_is_recorded_and_applied_live_and_undone_when_the_agent_fails(env):
    vm_uuid, _ = env.create()
    vm = VmInstance.objects.get(uuid=vm_uuid)
    root, nic = vm.root_volume, VmNic.objects.get(vm_instance=vm)
    body = {"iops_limit": 300, "bandwidth_limit": 1 << 20, "inbound_bandwidth": 2 << 20}   # root volume, only NIC
    env.sim.admin("POST", "/sim/faults", {"path": "/v1/vm/qos", "mode": "fail", "count": 1})
    assert env.action(vm_uuid, "set-qos", body)["state"] == "failed"
    assert Volume.objects.get(pk=root.pk).iops_limit == 0 and VmNic.objects.get(pk=nic.pk).inbound_bandwidth == 0
    job = env.action(vm_uuid, "set-qos", body)
    assert job["state"] == "succeeded" and job["result"]["live"] is True, job
    spec = domain(env, vm_uuid)
    assert spec["iotune"][root.install_path] == {"total_iops_sec": 300, "total_bytes_sec": 1 << 20}
    assert spec["nic_bandwidth"][nic.mac] == {"inbound": 2 << 20, "outbound": 0}
    other = env.client.post(f"/api/v1/vm-instances/{vm_uuid}/set-qos/", {
        "volume_uuid": "00000000-0000-4000-8000-000000000000", "iops_limit": 1}, format="json")
    assert other.status_code == 400 and "volume_uuid" in other.json()["details"]
    assert env.client.post(f"/api/v1/vm-instances/{vm_uuid}/set-qos/", {}, format="json").status_code == 400


def _everything(env, vm_uuid):
    """What a guest-settings flow may change: the VM row, its volumes' and NICs' limits, host
    capacity, image cache counts, and the domain's definition on the (simulated) host."""
    vm = VmInstance.objects.get(uuid=vm_uuid)
    columns = {f.attname: getattr(vm, f.attname) for f in VmInstance._meta.concrete_fields
               if f.attname not in ("updated_at", "busy_job")}
    return (columns, list(Volume.objects.filter(vm_instance_uuid=vm_uuid).values("iops_limit", "bandwidth_limit")),
            list(VmNic.objects.filter(vm_instance=vm).values("inbound_bandwidth", "outbound_bandwidth")),
            list(Host.objects.order_by("pk").values_list("used_cpu", "used_memory")),
            list(ImageCache.objects.order_by("pk").values_list("pk", "ref_count")), domain(env, vm_uuid))


CASES = {
    "attach-iso": lambda env, iso, vm, nic: {"image_uuid": iso},
    "detach-iso": lambda env, iso, vm, nic: {},
    "set-boot-order": lambda env, iso, vm, nic: {"boot_order": ["hd", "cdrom"]},
    "set-cpu-memory": lambda env, iso, vm, nic: {"cpu_num": 2, "memory_size": GIB},
    "set-qos": lambda env, iso, vm, nic: {"volume_uuid": str(vm.root_volume.uuid), "iops_limit": 9,
                                          "nic_uuid": str(nic.uuid), "outbound_bandwidth": 1 << 20},
}


def test_a_failure_at_each_step_of_each_guest_flow_leaves_nothing_changed(env, tmp_path, monkeypatch):
    """One VM (made from an ISO, so every flow has something to change) for every flow and step."""
    from apps.compute.guest.plans import GUEST_ACTIONS

    iso = iso_image(env, tmp_path)
    vm_uuid, job = env.create(image_uuid=iso, root_disk_size=GIB, cpu_max=2, memory_max=GIB)
    assert job["state"] == "succeeded", job
    vm = VmInstance.objects.get(uuid=vm_uuid)
    nic = VmNic.objects.get(vm_instance=vm)
    for name in ("detach-iso", "attach-iso", "set-boot-order", "set-cpu-memory", "set-qos"):
        body = CASES[name](env, iso, vm, nic)
        flow, _ = GUEST_ACTIONS[name].plan(VmInstance.objects.get(uuid=vm_uuid), body)
        for step in flow.steps:
            before = _everything(env, vm_uuid)

            def boom(self, ctx):
                raise RuntimeError("injected")

            with monkeypatch.context() as patch:
                patch.setattr(step, "run", boom)
                job = env.action(vm_uuid, name, body)
            assert job["state"] == "failed" and job["error"]["step"] == step.step_name(), job
            assert _everything(env, vm_uuid) == before, (name, step.step_name())
        assert env.action(vm_uuid, name, body)["state"] == "succeeded", name   # and then it works


def test_expunge_releases_the_iso_drive_and_removes_the_config_drive(env, tmp_path):
    iso = iso_image(env, tmp_path)
    counts = dict(ImageCache.objects.values_list("pk", "ref_count"))
    vm_uuid, _ = env.create(image_uuid=iso, root_disk_size=GIB, hostname="gone")
    vm = VmInstance.objects.get(uuid=vm_uuid)
    host, drive = vm.host, vm.config_drive_path
    status, disk = env.sim.admin("GET", f"/sim/hosts/{host.uuid}")
    response, job = env.job("delete", f"/api/v1/vm-instances/{vm_uuid}/")
    assert job["state"] == "succeeded", job
    assert env.action(vm_uuid, "expunge")["state"] == "succeeded"
    assert {pk: n for pk, n in ImageCache.objects.values_list("pk", "ref_count")} == counts or \
        not ImageCache.objects.filter(image__uuid=iso).exists()
    from apps.infra import agent

    with pytest.raises(Exception) as gone:
        agent.call(Host.objects.get(pk=host.pk), "/v1/volume/info", {"path": drive})
    assert "VOLUME_NOT_FOUND" in str(gone.value.code if hasattr(gone.value, "code") else gone.value)


def test_another_account_cannot_see_or_change_a_vm_s_guest_settings(env):
    from apps.core.testing import client_for, make_account

    vm_uuid, _ = env.create(cpu_max=2)
    user = make_account("tenant-b")
    other = client_for(user)
    for name, body in (("set-cpu-memory", {"cpu_num": 2}), ("change-password", {"password": "x"}),
                       ("set-boot-order", {"boot_order": ["hd"]}), ("detach-iso", {})):
        response = other.post(f"/api/v1/vm-instances/{vm_uuid}/{name}/", body, format="json")
        assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND", (name, response.content)
    assert VmInstance.objects.get(uuid=vm_uuid).cpu_num == 1


def test_a_create_from_an_iso_with_cloud_init_failing_at_any_step_leaves_nothing(env, tmp_path, monkeypatch):
    """Every step of the create flow fails in turn: no VM, no image cache reference, no config
    drive file, no capacity, no domain is left (the ISO drive's reference and the config drive
    included)."""
    from apps.compute.flows.vm_create import CREATE_VM
    from apps.infra import agent
    from apps.storage.models import PrimaryStorage

    iso = iso_image(env, tmp_path)
    env.create(name="keeper", image_uuid=iso, root_disk_size=GIB)   # the ISO's cache stays counted

    def snapshot():
        return (VmInstance.objects.count(), list(ImageCache.objects.order_by("pk").values_list("pk", "ref_count")),
                list(Host.objects.order_by("pk").values_list("used_cpu", "used_memory")),
                {h: sorted(env.domains(h)) for h in env.hosts})

    before = snapshot()
    ps = PrimaryStorage.objects.get()
    for step in CREATE_VM.steps:
        def boom(self, ctx):
            raise RuntimeError("injected")

        with monkeypatch.context() as patch:
            patch.setattr(step, "run", boom)
            vm_uuid, job = env.create(name="doomed", image_uuid=iso, root_disk_size=GIB, hostname="doomed",
                                      ssh_keys=[KEY], root_iops_limit=10, outbound_bandwidth=1 << 20)
        assert job["state"] == "failed" and job["error"]["step"] == step.step_name(), job
        assert snapshot() == before, step.step_name()
        for host in Host.objects.all():
            with pytest.raises(Exception) as missing:
                agent.call(host, "/v1/volume/info", {"path": f"{ps.url}/configDrives/{vm_uuid}/cidata.iso"})
            assert getattr(missing.value, "code", "") == "VOLUME_NOT_FOUND", step.step_name()


def test_the_vm_page_offers_each_guest_action_as_a_form(env, admin_user):
    from tests.ui.pages import browser

    vm_uuid, _ = env.create()
    ui = browser(admin_user)   # a console session
    page = ui.get(f"/ui/vm-instances/{vm_uuid}/")
    assert page.status_code == 200
    for name in ("attach-iso", "detach-iso", "set-boot-order", "change-password", "set-cpu-memory", "set-qos",
                 "set-cloud-init"):
        assert f"/ui/vm-instances/{vm_uuid}/{name}/" in page.content.decode(), name
        form = ui.get(f"/ui/vm-instances/{vm_uuid}/{name}/")
        assert form.status_code == 200, (name, form.content[:500])
    assert 'type="password"' in ui.get(f"/ui/vm-instances/{vm_uuid}/change-password/").content.decode()


def test_a_batch_numbers_its_hostnames_as_its_names(env):
    with env.capture(execute=True):
        response = env.client.post("/api/v1/vm-instances/", env.body(name="web", hostname="web", count=2),
                                   format="json")
    assert response.status_code == 202, response.content
    names = {vm["name"]: vm["hostname"] for vm in response.json()["resources"]}
    assert names == {"web-1": "web-1", "web-2": "web-2"}


def drive_file(vm, suffix=""):
    from apps.infra import agent

    try:
        return agent.call(vm.last_host, "/v1/volume/info", {"path": vm.config_drive_path + suffix})
    except Exception:  # noqa: BLE001 - VOLUME_NOT_FOUND
        return None


def test_a_stopped_vm_s_cloud_init_settings_change_and_its_config_drive_is_rebuilt(env, monkeypatch):
    """The API checks the body and the state; the agent gets the new drive (a new instance-id, so
    cloud-init applies it at the next boot) at the old path; a failure at each step puts the row and
    the old drive back; a VM that had no drive gets one, in its domain from its next start."""
    from apps.compute.flows.guest_cloud_init import SET_CLOUD_INIT
    from apps.infra import agent

    vm_uuid, _ = env.create(hostname="web-1", ssh_keys=[KEY])
    url = f"/api/v1/vm-instances/{vm_uuid}/set-cloud-init/"
    running = env.client.post(url, {"hostname": "web-2"}, format="json")
    assert running.status_code == 409 and "Running" in running.json()["message"], running.content
    assert env.action(vm_uuid, "stop")["state"] == "succeeded"
    for body, field in (({"hostname": "bad_name"}, "hostname"), ({"ssh_keys": ["not a key"]}, "ssh_keys"),
                        ({}, "hostname")):
        refused = env.client.post(url, body, format="json")
        assert refused.status_code == 400 and field in refused.json()["details"], (body, refused.content)
    key2 = KEY.replace("Guest", "Other")
    body = {"hostname": "web-2", "ssh_keys": [key2], "user_data": "#cloud-config\npackages: [git]\n"}
    vm = VmInstance.objects.get(uuid=vm_uuid)
    before = _everything(env, vm_uuid)
    for step in SET_CLOUD_INIT.steps[:-1]:
        with monkeypatch.context() as patch:
            fail_after_its_work(patch, step)
            job = env.action(vm_uuid, "set-cloud-init", body)
        assert job["state"] == "failed" and job["error"]["step"] == step.step_name(), job
        assert _everything(env, vm_uuid) == before, step.step_name()
        assert drive_file(vm) and drive_file(vm, ".old") is None, step.step_name()
    sent, real_call = [], agent.call

    def recording(host, path, payload=None, **kw):
        if path == "/v1/vm/config-drive":
            sent.append(payload)
        return real_call(host, path, payload, **kw)

    with monkeypatch.context() as patch:
        patch.setattr(agent, "call", recording)
        job = env.action(vm_uuid, "set-cloud-init", body)
    assert job["state"] == "succeeded", job["error"]
    [drive] = sent
    assert drive["path"] == vm.config_drive_path and drive["user_data"] == body["user_data"]
    meta = drive["meta_data"]
    assert meta["local-hostname"] == "web-2" and meta["public-keys"] == [key2]
    assert meta["instance-id"].startswith(f"{vm_uuid}-") and "packages" not in str(job)
    shown = env.vm(vm_uuid)
    assert shown["hostname"] == "web-2" and VmInstance.objects.get(uuid=vm_uuid).ssh_keys == key2
    assert drive_file(vm) and drive_file(vm, ".old") is None

    bare, _ = env.create(name="bare")
    assert not VmInstance.objects.get(uuid=bare).config_drive_path
    assert env.action(bare, "stop")["state"] == "succeeded"
    assert env.action(bare, "set-cloud-init", {"user_data": "#cloud-config\n"})["state"] == "succeeded"
    assert VmInstance.objects.get(uuid=bare).config_drive_path
    assert env.action(bare, "start")["state"] == "succeeded"
    assert any(d["device"] == "cdrom" for d in domain(env, bare)["disks"])


def test_a_file_posted_as_a_cloud_init_field_is_400_naming_the_field(env):
    from django.core.files.uploadedfile import SimpleUploadedFile

    vm_uuid, _ = env.create(hostname="web-1")
    assert env.action(vm_uuid, "stop")["state"] == "succeeded"
    upload = SimpleUploadedFile("user-data.yaml", b"#cloud-config\n", content_type="text/yaml")
    refused = env.client.post(f"/api/v1/vm-instances/{vm_uuid}/set-cloud-init/", {"user_data": upload},
                              format="multipart")
    assert refused.status_code == 400 and "user_data" in refused.json()["details"], refused.content
    assert b"Traceback" not in refused.content and b"AttributeError" not in refused.content
