"""Primary storage: where volumes of running VMs live. ``LocalStorage`` is a directory on each host of
the clusters it is attached to; capacity is tracked per (primary storage, host) in
``LocalStorageHostRef`` (as ZStack's LocalStorageHostRefVO), filled from the host agent when the
storage is attached to a cluster and whenever one of its hosts connects."""
from django.db import models
from django.db.models import F

from apps.core.models import FastQuerySet, Resource, compiled, kept
from apps.core.states import ENABLE_STATE_MACHINE, EnableState


class PrimaryStorageType(models.TextChoices):
    LOCAL_STORAGE = "LocalStorage"
    # one directory every host of the attached clusters mounts at the same path (iSCSI/FC, a cluster FS)
    SHARED_MOUNT_POINT = "SharedMountPoint"
    NFS = "NFS"   # an NFS export the agents mount themselves


class PrimaryStorage(Resource):
    type = models.CharField(max_length=32, choices=PrimaryStorageType.choices,
                            default=PrimaryStorageType.LOCAL_STORAGE)
    url = models.CharField(max_length=1024, help_text="directory on each host")
    zone = models.ForeignKey("infra.Zone", on_delete=models.PROTECT, related_name="primary_storages")
    state = models.CharField(max_length=16, choices=EnableState.choices, default=EnableState.ENABLED)
    clusters = models.ManyToManyField("infra.Cluster", related_name="primary_storages", blank=True)
    # shared kinds (SharedMountPoint, NFS) count capacity per storage, here; LocalStorage per host
    # in LocalStorageHostRef. total/available come from a host's agent (statvfs of mount_path);
    # used_capacity (virtual sizes of volumes, actual sizes of image caches) changes only by
    # conditional UPDATEs (apps.storage.space).
    total_capacity = models.BigIntegerField(default=0)
    available_physical_capacity = models.BigIntegerField(default=0)
    used_capacity = models.BigIntegerField(default=0)
    # where the hosts see the storage's files: the url for SharedMountPoint, a directory named for
    # the storage's uuid for NFS (each agent mounts the export there); empty for LocalStorage (url)
    mount_path = models.CharField(max_length=1024, blank=True, default="")

    state_machine = ENABLE_STATE_MACHINE

    class Meta(Resource.Meta):
        verbose_name_plural = "primary storage"

    class Query:
        fields = ["uuid", "name", "description", "type", "url", "state", "zone_uuid", "cluster_uuid",
                  "created_at", "updated_at"]
        aliases = {"zone_uuid": "zone__uuid", "cluster_uuid": "clusters__uuid"}
        relations = ["zone", "clusters"]

    def config_parent(self):
        return self.zone

    def cache_path(self, sha256, fmt):
        return f"{self.root}/imagecache/{sha256}.{fmt or 'img'}"

    def volume_path(self, volume_uuid, volume_type="Root"):
        folder = "rootVolumes" if volume_type == "Root" else "dataVolumes"
        return f"{self.root}/{folder}/vol-{volume_uuid}/{volume_uuid}.qcow2"

    @property
    def root(self):
        """The directory the hosts see this storage's files under."""
        return (self.mount_path or self.url).rstrip("/")

    @property
    def is_shared(self):
        """Every host of an attached cluster reaches every file (capacity per storage)."""
        return self.type != PrimaryStorageType.LOCAL_STORAGE


class LocalStorageHostRefQuerySet(FastQuerySet):
    @compiled
    def take(self, pk, size):
        """Add ``size`` bytes to the ref's use if they fit: 1 or 0 rows."""
        return self.filter(pk=pk, used_capacity__lte=F("total_capacity") - size).update(
            used_capacity=F("used_capacity") + size)

    @compiled
    def usable_on(self, host_id, cluster_id, only_uuid=None):
        """The refs (with their primary storage) of the Enabled local primary storages of the
        host's cluster on that host; ``only_uuid``: of that primary storage only."""
        refs = self.select_related("primary_storage").filter(
            host_id=host_id, primary_storage__clusters=cluster_id, primary_storage__state=EnableState.ENABLED,
            primary_storage__type=PrimaryStorageType.LOCAL_STORAGE)
        return refs if only_uuid is None else refs.filter(primary_storage__uuid=only_uuid)

    # their figures may be a second old: for a caller whose reservation checks the room in SQL
    kept_usable_on = kept(usable_on, invalidated_by=[
        "storage.LocalStorageHostRef", "storage.PrimaryStorage", "storage.PrimaryStorage.clusters",
        "infra.Host", "infra.Cluster"])


class LocalStorageHostRef(models.Model):
    """Capacity of one local primary storage on one host.

    ``total_capacity``/``available_physical_capacity`` come from the agent (statvfs of the path);
    ``used_capacity`` is what volumes and image caches have reserved, changed only by conditional
    UPDATEs (``reserve``/``release``), never read-modify-write. A refresh from the agent never
    touches ``used_capacity``.
    """

    primary_storage = models.ForeignKey(PrimaryStorage, on_delete=models.CASCADE, related_name="host_refs")
    host = models.ForeignKey("infra.Host", on_delete=models.CASCADE, related_name="local_storage_refs")
    total_capacity = models.BigIntegerField(default=0)
    available_physical_capacity = models.BigIntegerField(default=0)
    used_capacity = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LocalStorageHostRefQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["primary_storage", "host"], name="ps_host_unique")]

    @property
    def available_capacity(self):
        return self.total_capacity - self.used_capacity

    def reserve(self, size):
        """Take ``size`` bytes in one conditional UPDATE; False if they do not fit."""
        return bool(LocalStorageHostRef.objects.take(self.pk, int(size)))

    def release(self, size):
        LocalStorageHostRef.objects.filter(pk=self.pk, used_capacity__gte=size).update(
            used_capacity=F("used_capacity") - size)

    @classmethod
    def for_host(cls, primary_storage, host):
        return cls.objects.filter(primary_storage=primary_storage, host=host).first()


class ImageCacheQuerySet(FastQuerySet):
    @compiled
    def of(self, primary_storage_id, host_id, sha256):
        """The cache of ``sha256`` on that host's primary storage, or None."""
        return self.filter(primary_storage_id=primary_storage_id, host_id=host_id, sha256=sha256).first()

    # its count may be a second old: for a caller whose count checks in SQL that it is still counted
    kept_of = kept(of, invalidated_by=["storage.ImageCache"])

    @compiled(shape=["only_if_counted"])
    def count_one(self, pk, only_if_counted=False):
        """One more reference on the cache (``only_if_counted``: if someone counts it): 1 or 0 rows."""
        rows = self.filter(pk=pk)
        return (rows.filter(ref_count__gt=0) if only_if_counted else rows).update(ref_count=F("ref_count") + 1)


class ImageCache(models.Model):
    """An image's bits on one host's local primary storage, shared by every volume backed by it.

    ``ref_count`` counts the volumes (and in-flight VM creations) using it, changed by conditional
    UPDATEs; the file is removed from the host as soon as the count drops to 0
    (``apps.storage.cache.release``)."""

    primary_storage = models.ForeignKey(PrimaryStorage, on_delete=models.CASCADE, related_name="image_caches")
    # None on shared storage: one cache file per storage, used by all its hosts. MariaDB has no
    # partial or functional unique index, so (ps, NULL, sha256) is kept unique by creating such rows
    # only under a lock on the storage's row (apps.storage.cache)
    host = models.ForeignKey("infra.Host", on_delete=models.CASCADE, related_name="image_caches",
                             null=True, blank=True)
    sha256 = models.CharField(max_length=64)
    image = models.ForeignKey("storage.Image", on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="caches")
    install_path = models.CharField(max_length=2048)
    format = models.CharField(max_length=16, default="qcow2")
    size = models.BigIntegerField(default=0)
    actual_size = models.BigIntegerField(default=0)
    ref_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ImageCacheQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["primary_storage", "host", "sha256"],
                                               name="image_cache_unique")]
