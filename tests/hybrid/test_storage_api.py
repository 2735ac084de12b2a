"""The generated API tests (apps.core.testing) of the storage resources: read, the query DSL,
fields=, CSV, the error shape, tenancy, 401/403, and PATCH of the description. Creates, deletes
and actions run flows against the cloud: tests/hybrid/test_storage_{buckets,images,disks}.py."""
from apps.core.testing import APIViewTestCases
from apps.hybrid.models import EcsDisk, EcsImage, OssBucket
from tests.hybrid.test_api import data_center_of


class OssBucketAPITest(APIViewTestCases.GetObject, APIViewTestCases.ListObjects, APIViewTestCases.UpdateObject):
    url = "/api/v1/oss-buckets/"
    model = OssBucket
    tenant_scoped = True
    update_data = {"description": "changed"}

    def make_object(self, index, owner):
        return OssBucket.objects.create(name=f"bucket-{index}", bucket_name=f"bucket-{index}-{owner.pk}",
                                        account=owner.account, data_center=data_center_of(owner, index),
                                        state="Available", location="oss-cn-hangzhou")


class EcsImageAPITest(APIViewTestCases.GetObject, APIViewTestCases.ListObjects, APIViewTestCases.UpdateObject):
    url = "/api/v1/ecs-images/"
    model = EcsImage
    tenant_scoped = True
    update_data = {"description": "changed"}

    def make_object(self, index, owner):
        return EcsImage.objects.create(name=f"image-{index}", image_id=f"m-{index:020d}", account=owner.account,
                                       data_center=data_center_of(owner, index), owner_alias="self",
                                       os_type="linux", size=20 << 30)


class EcsDiskAPITest(APIViewTestCases.GetObject, APIViewTestCases.ListObjects, APIViewTestCases.UpdateObject):
    url = "/api/v1/ecs-disks/"
    model = EcsDisk
    tenant_scoped = True
    update_data = {"description": "changed"}

    def make_object(self, index, owner):
        return EcsDisk.objects.create(name=f"disk-{index}", disk_id=f"d-{index:020d}", account=owner.account,
                                      data_center=data_center_of(owner, index), state="Available",
                                      category="cloud_essd", size=40 << 30)
