"""Change log: every save/delete of a Resource keeps a before/after diff."""
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from . import context as actx
from . import prepared
from .events import publish_resource_change
from .globalconfig.registry import clear_cache
from .models import ChangeLog, GlobalConfig, Resource, ResourceConfig

post_save.connect(clear_cache, sender=GlobalConfig, dispatch_uid="globalconfig-cache")
post_delete.connect(clear_cache, sender=GlobalConfig, dispatch_uid="globalconfig-cache-delete")
post_save.connect(clear_cache, sender=ResourceConfig, dispatch_uid="resourceconfig-cache")
post_delete.connect(clear_cache, sender=ResourceConfig, dispatch_uid="resourceconfig-cache-delete")


def _account_id(instance):
    try:
        return instance.owner_account_id()
    except Exception:  # noqa: BLE001 - owner not loadable (being deleted)
        return None


def _record(instance, action, before, after):
    user = actx.actor.get()
    prepared.insert(ChangeLog(
        request_id=actx.request_id.get(),
        job_uuid=actx.job_uuid.get(),
        user_name=getattr(user, "username", "") or "",
        account_id=_account_id(instance) if action != "delete" else None,
        resource_type=instance.resource_type(),
        resource_uuid=instance.uuid,
        resource_name=instance.name,
        action=action,
        before=before,
        after=after,
    ))
    publish_resource_change(instance.resource_type(), instance.uuid, action, {"before": before, "after": after})


@receiver(post_save)
def resource_saved(sender, instance, created, raw=False, **kwargs):
    if raw or not isinstance(instance, Resource):
        return
    now = instance.snapshot()
    if created:
        _record(instance, "create", {}, now)
    else:
        old = getattr(instance, "_snapshot", {}) or {}
        changed = sorted(k for k in now if old.get(k) != now.get(k))
        if changed:
            _record(instance, "update", {k: old.get(k) for k in changed}, {k: now[k] for k in changed})
    instance._snapshot = now


@receiver(post_delete)
def resource_deleted(sender, instance, **kwargs):
    if isinstance(instance, Resource):
        _record(instance, "delete", instance.snapshot(), {})
