"""The console's snapshot pages answer what the API answers: the VM page's "Snapshot" (a name,
then the API's flow), the snapshots listed as a tree on their page and on the volume's, revert and
delete confirmed first."""
import pytest

from apps.compute.models import VmInstance
from apps.core.models import Job
from apps.storage.models import Volume, VolumeSnapshot
from tests.compute.vm_env import Env
from tests.ui.pages import browser, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def env(admin_client, sim_agent, tmp_path, django_capture_on_commit_callbacks):
    return Env(admin_client, django_capture_on_commit_callbacks, tmp_path, hosts=1)


def test_snapshot_from_the_vm_page_list_it_as_a_tree_revert_and_delete(env, admin_user):
    page = browser(admin_user)
    uuid, _ = env.create(name="web")
    detail = text(page.get(f"/ui/vm-instances/{uuid}/"))
    assert f"/ui/vm-instances/{uuid}/snapshot/" in detail
    asked = page.get(f"/ui/vm-instances/{uuid}/snapshot/")
    assert asked.status_code == 200 and 'name="name"' in text(asked)
    with env.capture(execute=True):
        done = page.post(f"/ui/vm-instances/{uuid}/snapshot/", {"name": "before-upgrade"})
    job = Job.objects.get(flow="take-volume-snapshots")
    assert done.status_code == 302 and job.state == "succeeded", job.error
    first = VolumeSnapshot.objects.get()
    with env.capture(execute=True):
        page.post(f"/ui/vm-instances/{uuid}/snapshot/", {"name": "second"})
    second = VolumeSnapshot.objects.exclude(pk=first.pk).get()

    listed = text(page.get("/ui/volume-snapshots/"))
    assert "before-upgrade" in listed and "second" in listed and "\u2514" in listed   # the child indented
    root = Volume.objects.get(vm_instance_uuid=uuid)
    volume_page = text(page.get(f"/ui/volumes/{root.uuid}/"))
    assert "before-upgrade" in volume_page

    VmInstance.objects.filter(uuid=uuid).update(state="Stopped", host=None)
    asked = page.get(f"/ui/volume-snapshots/{first.uuid}/revert/")
    assert asked.status_code == 200 and 'id="confirm-form"' in text(asked)
    with env.capture(execute=True):
        assert page.post(f"/ui/volume-snapshots/{first.uuid}/revert/").status_code == 302
    assert Job.objects.get(flow="revert-volume-snapshots").state == "succeeded"
    with env.capture(execute=True):
        assert page.post(f"/ui/volume-snapshots/{second.uuid}/delete/").status_code == 302
    assert list(VolumeSnapshot.objects.values_list("name", flat=True)) == ["before-upgrade"]


def test_the_snapshot_pages_read_in_chinese(admin_user):
    page = browser(admin_user)
    page.post("/i18n/setlang/", {"language": "zh-hans", "next": "/ui/"})
    listed = text(page.get("/ui/volume-snapshots/"))
    assert "云盘快照" in listed and "快照树" in listed
