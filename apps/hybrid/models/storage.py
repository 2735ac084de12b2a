"""What the hybrid cloud stores in Alibaba Cloud: OSS buckets (H10), ECS images (H5) and ECS data
disks (H6), each mirrored per data centre by its sync (``storage_kinds``) and changed through flows.

Every ``state`` is the cloud's status as the last sync or flow saw it, plus the portal's own words
for what a flow is doing (Creating, Uploading, Deleting...) and ``Deleted`` for what a sync no
longer found in the cloud (kept, and shown, until deleted here). The API's actions go through
the state tables below: a wrong state is a 409 naming it, before anything is sent to the cloud.
"""
from django.db import models

from apps.core.models import Resource
from apps.core.states import StateMachine

GIB = 1 << 30


def _table(pairs):
    """{(state, event): next state} from ``[(states, event, to or None: the same state)]``."""
    table = {}
    for states, event, to in pairs:
        for state in states:
            table[(state, event)] = to or state
    return table


# --- OSS buckets -------------------------------------------------------------------------------
class BucketState(models.TextChoices):
    CREATING = "Creating"
    AVAILABLE = "Available"
    DELETING = "Deleting"
    DELETED = "Deleted"


BUCKET_STATE_MACHINE = StateMachine("OSS bucket", _table([
    ((BucketState.AVAILABLE, BucketState.DELETED), "deleting", BucketState.DELETING),
    ((BucketState.CREATING,), "available", BucketState.AVAILABLE),
    ((BucketState.AVAILABLE,), "listing", None),
]), actions={"delete": "deleting", "objects": "listing"})


class OssBucket(Resource):
    """A bucket of the account, in the region of its data centre. ``name`` is the bucket's name
    (global across Alibaba Cloud); the rest is what ListBuckets says of it."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="oss_buckets")
    data_center = models.ForeignKey("hybrid.AlibabaDataCenter", on_delete=models.PROTECT, related_name="oss_buckets")
    bucket_name = models.CharField(max_length=63)
    state = models.CharField(max_length=16, choices=BucketState.choices, default=BucketState.CREATING)
    location = models.CharField(max_length=64, blank=True, default="", help_text="oss-<region>")
    storage_class = models.CharField(max_length=32, blank=True, default="Standard")
    # ListBuckets does not say these: the create flow (or the bucket's info) does
    acl = models.CharField(max_length=32, blank=True, default="")
    data_redundancy_type = models.CharField(max_length=8, blank=True, default="")
    extranet_endpoint = models.CharField(max_length=128, blank=True, default="")
    intranet_endpoint = models.CharField(max_length=128, blank=True, default="")
    remote_created_at = models.DateTimeField(null=True, blank=True)

    tenant_path = "account"
    admin_only_writes = False
    state_machine = BUCKET_STATE_MACHINE

    class Meta(Resource.Meta):
        constraints = [models.UniqueConstraint(fields=["data_center", "bucket_name"], name="oss_bucket_once")]

    class Query:
        fields = ["uuid", "name", "description", "bucket_name", "state", "location", "storage_class", "acl",
                  "data_redundancy_type", "data_center_uuid", "region_id", "account_uuid", "remote_created_at",
                  "created_at", "updated_at"]
        aliases = {"data_center_uuid": "data_center__uuid", "region_id": "data_center__region_id",
                   "account_uuid": "account__uuid"}
        relations = ["data_center", "account"]


# --- ECS images --------------------------------------------------------------------------------
class ImageState(models.TextChoices):
    UPLOADING = "Uploading"         # the portal streams a local image to OSS
    IMPORTING = "Importing"         # ImportImage sent; the cloud makes the image
    WAITING = "Waiting"             # the cloud's statuses
    CREATING = "Creating"
    AVAILABLE = "Available"
    UNAVAILABLE = "UnAvailable"
    CREATE_FAILED = "CreateFailed"
    DEPRECATED = "Deprecated"
    DELETING = "Deleting"
    DELETED = "Deleted"


S = ImageState
IMAGE_STATE_MACHINE = StateMachine("ECS image", _table([
    ((S.AVAILABLE, S.UNAVAILABLE, S.CREATE_FAILED, S.DEPRECATED, S.DELETED), "deleting", S.DELETING),
    ((S.UPLOADING, S.IMPORTING, S.WAITING, S.CREATING), "available", S.AVAILABLE),
]), actions={"delete": "deleting"})


class ImageOwner(models.TextChoices):
    SYSTEM = "system"
    SELF = "self"               # a custom image of the account
    OTHERS = "others"           # shared with the account
    MARKETPLACE = "marketplace"


class EcsImage(Resource):
    """An image the data centre's instances can start from: a system image of the region, a
    custom one of the account (``owner_alias`` self), perhaps uploaded from a local image
    (``local_image``) through an OSS bucket."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="ecs_images")
    data_center = models.ForeignKey("hybrid.AlibabaDataCenter", on_delete=models.PROTECT, related_name="ecs_images")
    # the cloud's id; empty until an upload's ImportImage answered
    image_id = models.CharField(max_length=128, null=True, blank=True)
    state = models.CharField(max_length=16, choices=ImageState.choices, default=ImageState.AVAILABLE)
    owner_alias = models.CharField(max_length=16, choices=ImageOwner.choices, default=ImageOwner.SELF)
    os_type = models.CharField(max_length=16, blank=True, default="")
    os_name = models.CharField(max_length=128, blank=True, default="")
    platform = models.CharField(max_length=64, blank=True, default="")
    architecture = models.CharField(max_length=16, blank=True, default="")
    image_family = models.CharField(max_length=128, blank=True, default="")
    size = models.BigIntegerField(default=0, help_text="bytes (the cloud counts whole GiB)")
    progress = models.PositiveSmallIntegerField(default=0, help_text="percent, while the cloud makes it")
    remote_created_at = models.DateTimeField(null=True, blank=True)
    local_image = models.ForeignKey("storage.Image", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="ecs_images")
    oss_bucket = models.ForeignKey(OssBucket, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="ecs_images")
    oss_object = models.CharField(max_length=1024, blank=True, default="")

    tenant_path = "account"
    admin_only_writes = False
    state_machine = IMAGE_STATE_MACHINE

    class Meta(Resource.Meta):
        constraints = [models.UniqueConstraint(fields=["data_center", "image_id"], name="ecs_image_once")]
        indexes = [models.Index(fields=["account", "owner_alias", "created_at"], name="ecs_image_account_owner")]

    class Query:
        fields = ["uuid", "name", "description", "image_id", "state", "owner_alias", "os_type", "os_name", "platform",
                  "architecture", "image_family", "size", "data_center_uuid", "region_id", "local_image_uuid",
                  "oss_bucket_uuid", "account_uuid", "remote_created_at", "created_at", "updated_at"]
        aliases = {"data_center_uuid": "data_center__uuid", "region_id": "data_center__region_id",
                   "local_image_uuid": "local_image__uuid", "oss_bucket_uuid": "oss_bucket__uuid",
                   "account_uuid": "account__uuid"}
        relations = ["data_center", "account"]


# --- ECS disks ---------------------------------------------------------------------------------
class DiskState(models.TextChoices):
    CREATING = "Creating"
    AVAILABLE = "Available"
    ATTACHING = "Attaching"
    IN_USE = "In_use"
    DETACHING = "Detaching"
    REINITING = "ReIniting"
    DELETING = "Deleting"
    DELETED = "Deleted"


D = DiskState
DISK_STATE_MACHINE = StateMachine("ECS disk", _table([
    ((D.AVAILABLE,), "attaching", D.ATTACHING),
    ((D.IN_USE,), "detaching", D.DETACHING),
    ((D.AVAILABLE, D.DELETED), "deleting", D.DELETING),
    ((D.AVAILABLE, D.IN_USE), "renaming", None),
    ((D.IN_USE,), "changing-charge-type", None),
    ((D.CREATING, D.ATTACHING), "in-use", D.IN_USE),
    ((D.CREATING, D.DETACHING), "available", D.AVAILABLE),
]), actions={"attach": "attaching", "detach": "detaching", "delete": "deleting", "rename": "renaming",
             "charge-type": "changing-charge-type"})


class EcsDisk(Resource):
    """A cloud disk of the data centre: the data disks the portal makes, attaches and detaches,
    and the instances' system disks as the sync finds them."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="ecs_disks")
    data_center = models.ForeignKey("hybrid.AlibabaDataCenter", on_delete=models.PROTECT, related_name="ecs_disks")
    identity_zone = models.ForeignKey("hybrid.AlibabaIdentityZone", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="ecs_disks")
    # the cloud's id; empty until the create flow's CreateDisk answered
    disk_id = models.CharField(max_length=64, null=True, blank=True)
    state = models.CharField(max_length=16, choices=DiskState.choices, default=DiskState.CREATING)
    disk_type = models.CharField(max_length=8, default="data", help_text="system or data")
    category = models.CharField(max_length=32, default="cloud_essd")
    performance_level = models.CharField(max_length=8, blank=True, default="")
    size = models.BigIntegerField(default=0, help_text="bytes (the cloud counts whole GiB)")
    disk_charge_type = models.CharField(max_length=16, default="PostPaid")
    # the instance it is attached to: the cloud's id, and the portal's row when it mirrors one
    instance_id = models.CharField(max_length=64, blank=True, default="")
    ecs_instance = models.ForeignKey("hybrid.EcsInstance", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="ecs_disks")
    device = models.CharField(max_length=32, blank=True, default="")
    portable = models.BooleanField(default=True)
    delete_with_instance = models.BooleanField(default=False)
    remote_created_at = models.DateTimeField(null=True, blank=True)

    tenant_path = "account"
    admin_only_writes = False
    state_machine = DISK_STATE_MACHINE

    class Meta(Resource.Meta):
        constraints = [models.UniqueConstraint(fields=["data_center", "disk_id"], name="ecs_disk_once")]

    class Query:
        fields = ["uuid", "name", "description", "disk_id", "state", "disk_type", "category", "size",
                  "disk_charge_type", "instance_id", "device", "portable", "data_center_uuid", "identity_zone_uuid",
                  "zone_id", "region_id", "ecs_instance_uuid", "account_uuid", "remote_created_at", "created_at",
                  "updated_at"]
        aliases = {"data_center_uuid": "data_center__uuid", "identity_zone_uuid": "identity_zone__uuid",
                   "zone_id": "identity_zone__zone_id", "region_id": "data_center__region_id",
                   "ecs_instance_uuid": "ecs_instance__uuid", "account_uuid": "account__uuid"}
        relations = ["data_center", "identity_zone", "ecs_instance", "account"]
