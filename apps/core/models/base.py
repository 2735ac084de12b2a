"""The resource base model every CloudPortal resource inherits."""
import uuid as uuid_lib

from django.db import models, router
from django.db.models.signals import class_prepared

from .. import prepared
from ..errors import ResourceBusy
from ..rowupdate import update_row
from .querysets import ResourceQuerySet

RESOURCE_TYPES = {}  # "Zone" -> model class; filled by Resource subclasses


def resource_model(resource_type):
    return RESOURCE_TYPES.get(resource_type)


class Resource(models.Model):
    """uuid (the only identity the API shows), name, description, timestamps.

    ``busy_job`` is the per-resource serialisation marker: set by an atomic
    compare-and-set when a job starts on the resource, cleared when it ends.
    Subclasses declare what the query DSL may touch in an inner ``Query`` class.
    """

    uuid = models.UUIDField(default=uuid_lib.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    busy_job = models.UUIDField(null=True, blank=True, editable=False)

    # Infrastructure (zones, clusters, hosts): readable by every account,
    # writable by admins only. Tenant resources override ``tenant_path``.
    admin_only_writes = True
    tenant_path = None  # ORM path to the owning accounts.Account, e.g. "account"
    change_log_exclude = ("updated_at", "busy_job")

    objects = ResourceQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]

    def save(self, *args, force_insert=False, force_update=False, using=None, update_fields=None):
        """Django's ``save()``; a new row, or ``update_fields`` of a saved one, is written with SQL
        made once per model (and set of fields) instead of a query built each time, with the same
        signals, ``pre_save`` of each field and errors (``apps.core.prepared``)."""
        model = type(self)
        if not (args or force_update) and prepared.can_write_directly(model) and (
                using is None or using == router.db_for_write(model, instance=self)):
            if update_fields is None:
                if self._state.adding and (force_insert is True or self.pk is None):
                    prepared.write_new(self)
                    return
            elif update_fields and not force_insert and not self._state.adding and self.pk is not None \
                    and self._meta._non_pk_concrete_field_names.issuperset(update_fields):
                prepared.write_fields(self, update_fields)
                return
        super().save(*args, force_insert=force_insert, force_update=force_update, using=using,
                     update_fields=update_fields)

    save.alters_data = True

    def save_if(self, expected, update_fields):
        """``save(update_fields=...)`` on condition that the row still holds ``expected``
        (``{field: value}``, a compare-and-set); False, with nothing written and no ``post_save``,
        when it does not."""
        return prepared.write_fields(self, update_fields, expect=expected) is not None

    @classmethod
    def resource_type(cls):
        return cls.__name__

    def owner_account_id(self):
        if self.tenant_path is None:
            return None
        if self.tenant_path == "id":
            return self.pk
        obj = self
        parts = self.tenant_path.split("__")
        for part in parts[:-1]:
            obj = getattr(obj, part)
        return getattr(obj, parts[-1] + "_id")

    # --- change-log snapshots -------------------------------------------------
    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # The before-image for change logs is built only when a save needs it: most loaded
        # rows (lists, select_related parents) are never saved.
        instance.__dict__["_loaded_values"] = dict(zip(field_names, values))
        return instance

    @property
    def _snapshot(self):
        if "_snapshot_data" not in self.__dict__:
            loaded = self.__dict__.get("_loaded_values")
            self.__dict__["_snapshot_data"] = self.snapshot(loaded) if loaded is not None else {}
        return self.__dict__["_snapshot_data"]

    @_snapshot.setter
    def _snapshot(self, data):
        self.__dict__["_snapshot_data"] = data

    def snapshot(self, values=None):
        """The row as JSON-able values, for before/after diffs: the instance's current values, or
        ``values`` (attname -> value, as loaded from the database)."""
        values = self.__dict__ if values is None else values
        data = {}
        for field in self._meta.concrete_fields:
            if field.name in ("id",) + tuple(self.change_log_exclude):
                continue
            attname = field.attname
            if attname not in values:
                continue  # deferred
            value = values[attname]
            if getattr(field, "secret", False):
                value = "********" if value else ""  # never a secret in a change log
            elif isinstance(value, uuid_lib.UUID):
                value = str(value)
            elif hasattr(value, "isoformat"):
                value = value.isoformat()
            data[field.name if not field.is_relation else field.name + "_id"] = value
        return data

    # --- per-resource serialisation ---------------------------------------------
    def mark_busy(self, job_uuid):
        """Atomically claim this resource for ``job_uuid``; 409 if a job holds it."""
        if not type(self)._default_manager.claim(self.pk, job_uuid):
            holder = type(self).objects.filter(pk=self.pk).values_list("busy_job", flat=True).first()
            raise ResourceBusy(
                f"{self.resource_type()} {self.uuid} is busy with job {holder}",
                details={"job_uuid": str(holder) if holder else None, "resource_uuid": str(self.uuid)},
            )
        self.busy_job = job_uuid

    @classmethod
    def release_busy(cls, resource_uuid, job_uuid):
        update_row(cls, {"uuid": resource_uuid, "busy_job": job_uuid}, {"busy_job": None})

    def __str__(self):
        return f"{self.resource_type()} {self.name} ({self.uuid})"


def _register_resource_type(sender, **kwargs):
    if issubclass(sender, Resource) and not sender._meta.abstract:
        RESOURCE_TYPES[sender.resource_type()] = sender


class_prepared.connect(_register_resource_type)
prepared.PLAIN_SAVES.add(Resource.save)   # it routes to prepared's writes itself
