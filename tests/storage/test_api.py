"""Generated API tests (apps.core.testing) for storage resources, and what is specific to them."""
import tempfile
import uuid

import pytest

from apps.core.testing import APIViewTestCases
from apps.infra.models import Cluster, Zone
from apps.storage.models import BackupStorage, Image, PrimaryStorage, Volume


class BackupStorageAPITest(APIViewTestCases.APIViewTestCase):
    url = "/api/v1/backup-storage/"
    model = BackupStorage
    update_data = {"description": "changed", "name": "renamed"}

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.create_data = [{"name": "bs-new", "type": "ImageStore", "url": f"{self.tmp.name}/new"},
                            {"name": "bs-new2", "url": f"{self.tmp.name}/new2/deeper"}]
        super().setUp()

    def tearDown(self):
        self.tmp.cleanup()

    def make_object(self, index, owner):
        return BackupStorage.objects.create(name=f"bs-{index}", url=f"{self.tmp.name}/{index}")

    def test_create_fills_capacity_and_refuses_unusable_directories(self):
        body = self.admin_client.post(self.url, {"name": "b", "url": f"{self.tmp.name}/cap"}, format="json").json()
        assert body["total_capacity"] > 0 and 0 < body["available_capacity"] <= body["total_capacity"]
        assert body["status"] == "Connected"
        for url in ("relative/dir", "/proc/nope-not-creatable", f"{self.tmp.name}/../x"):
            response = self.admin_client.post(self.url, {"name": "b", "url": url}, format="json")
            self.assertError(response, 400, "BACKUP_STORAGE_URL_UNUSABLE")

    def test_attach_and_detach_a_zone(self):
        zone = Zone.objects.create(name="z1")
        bs = self.objects[0]
        response = self.admin_client.post(f"{self.detail(bs)}attach/", {"zone_uuid": str(zone.uuid)}, format="json")
        assert response.status_code == 200 and response.json()["zone_uuids"] == [str(zone.uuid)]
        listed = self.admin_client.get(self.url, {"q": f"zone_uuid={zone.uuid}"}).json()
        assert [r["uuid"] for r in listed["results"]] == [str(bs.uuid)]
        assert self.tenant_client.post(f"{self.detail(bs)}attach/", {"zone_uuid": str(zone.uuid)},
                                       format="json").status_code == 403
        response = self.admin_client.post(f"{self.detail(bs)}detach/", {"zone_uuid": str(zone.uuid)}, format="json")
        assert response.json()["zone_uuids"] == []

    def test_backup_storage_holding_images_cannot_be_deleted(self):
        from apps.storage.models import ImageBackupStorageRef

        bs = self.objects[0]
        image = Image.objects.create(name="i", status="Ready", account=self.admin.account)
        ImageBackupStorageRef.objects.create(image=image, backup_storage=bs, install_path="/x")
        self.assertError(self.admin_client.delete(self.detail(bs)), 409, "HAS_DEPENDENTS")


class PrimaryStorageAPITest(APIViewTestCases.APIViewTestCase):
    url = "/api/v1/primary-storage/"
    model = PrimaryStorage
    update_data = {"description": "changed"}

    def setUp(self):
        self.zone = Zone.objects.create(name="zone-ps")
        self.create_data = [{"name": "ps-new", "type": "LocalStorage", "url": "/var/lib/cloudportal/ps",
                             "zone_uuid": str(self.zone.uuid)}]
        super().setUp()

    def make_object(self, index, owner):
        return PrimaryStorage.objects.create(name=f"ps-{index}", url=f"/data/ps{index}", zone=self.zone)

    def test_bad_url_or_cluster_of_another_zone_is_400(self):
        response = self.admin_client.post(self.url, {"name": "p", "url": "rel/path", "zone_uuid": str(self.zone.uuid)},
                                          format="json")
        self.assertIn("url", self.assertError(response, 400, "INVALID_ARGUMENT")["details"])
        cluster = Cluster.objects.create(name="c", zone=Zone.objects.create(name="other"))
        response = self.admin_client.post(f"{self.detail(self.objects[0])}attach/",
                                          {"cluster_uuid": str(cluster.uuid)}, format="json")
        self.assertError(response, 400, "ZONE_MISMATCH")

    def test_zone_delete_takes_its_primary_storage(self):
        dry = self.admin_client.delete(f"/api/v1/zones/{self.zone.uuid}/?dry_run=true").json()
        assert {d["uuid"] for d in dry["deletes"]} >= {str(o.uuid) for o in self.objects}


class ImageAPITest(APIViewTestCases.GetObject, APIViewTestCases.ListObjects, APIViewTestCases.UpdateObject):
    url = "/api/v1/images/"
    model = Image
    tenant_scoped = True
    update_data = {"description": "changed", "name": "renamed"}

    def make_object(self, index, owner):
        return Image.objects.create(name=f"image-{index}", account=owner.account, status="Ready", format="qcow2",
                                    sha256=f"{index:064x}")


class VolumeAPITest(APIViewTestCases.GetObject, APIViewTestCases.ListObjects):
    url = "/api/v1/volumes/"
    model = Volume
    tenant_scoped = True

    def make_object(self, index, owner):
        ps = PrimaryStorage.objects.get_or_create(name="ps", url="/ps", zone=Zone.objects.get_or_create(name="z")[0])[0]
        return Volume.objects.create(name=f"vol-{index}", account=owner.account, primary_storage=ps,
                                     install_path=f"/ps/{index}.qcow2", size=1 << 30)


@pytest.mark.django_db
def test_volumes_are_made_with_a_size_or_an_offering_and_never_patched(admin_client):
    # data volumes are made through the API since issue 19 (tests/storage/test_data_volumes.py)
    refused = admin_client.post("/api/v1/volumes/", {"name": "v"}, format="json")
    assert refused.status_code == 400 and "size" in refused.json()["details"]
    assert admin_client.patch(f"/api/v1/volumes/{uuid.uuid4()}/", {"name": "x"}, format="json").status_code == 405
