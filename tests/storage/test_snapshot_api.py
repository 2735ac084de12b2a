"""Generated API tests (apps.core.testing) for volume snapshots: get, list, tenancy and the
admin-only install path."""
from apps.core.testing import APIViewTestCases
from apps.infra.models import Zone
from apps.storage.models import PrimaryStorage, Volume, VolumeSnapshot


class VolumeSnapshotAPITest(APIViewTestCases.GetObject, APIViewTestCases.ListObjects):
    url = "/api/v1/volume-snapshots/"
    model = VolumeSnapshot
    tenant_scoped = True

    def make_object(self, index, owner):
        ps = PrimaryStorage.objects.get_or_create(name="ps", url="/ps", zone=Zone.objects.get_or_create(name="z")[0])[0]
        volume = Volume.objects.create(name=f"vol-{index}", account=owner.account, primary_storage=ps,
                                       install_path=f"/ps/{index}-top.qcow2", size=1 << 30, status="Ready")
        return VolumeSnapshot.objects.create(name=f"snap-{index}", account=owner.account, volume=volume,
                                             install_path=f"/ps/{index}.qcow2", size=1 << 30, status="Ready")
