"""Reading a VM flow's context, shared by the compute, storage and network steps.

Outside ``apps.compute.flows`` on purpose: the storage and network step modules import it, and
the compute flows import them.
"""
from apps.core.errors import NotFound

from .models import Host


def ctx_value(ctx, key, default=None):
    """What an earlier step recorded (``ctx.<key>``), else the request's (``ctx.args[key]``).
    A plain dict works too (``{"args": {...}, ...}``), for helpers called outside a flow."""
    if isinstance(ctx, dict):
        return ctx.get(key, ctx.get("args", {}).get(key, default))
    value = ctx.get(key)
    if value is None:
        value = (getattr(ctx, "args", None) or {}).get(key, default)
    return value


def ctx_cached(ctx, key, load):
    """``load()`` once per job run (``Context.cached``: rows several steps read); with a plain
    dict instead of a flow context, every time."""
    return ctx.cached(key, load) if hasattr(ctx, "cached") else load()


def ctx_host(ctx, kept=False):
    """The host the flow works on: ``host_uuid`` (or ``host``: a Host, its uuid, or {"uuid"}),
    loaded once per job run (Context.cached); 404 HOST_NOT_FOUND when it is gone. ``kept``: the row
    may be one this process read less than a second ago (``Host.objects.kept_with_cluster``), for a
    caller that uses only its configuration (address, agent credentials, cluster), not its status
    or capacity."""
    value = ctx_value(ctx, "host_uuid") or ctx_value(ctx, "host")
    if isinstance(value, Host):
        return value
    if isinstance(value, dict):
        value = value.get("uuid")

    def load():
        if not value:
            return None
        if kept:
            return Host.objects.kept_with_cluster(str(value))
        try:
            return Host.objects.select_related("cluster").get(uuid=value)
        except Host.DoesNotExist:
            return None

    host = ctx_cached(ctx, ("host", str(value)), load)
    if host is None:
        raise NotFound(f"host {value} not found", code="HOST_NOT_FOUND", details={"host_uuid": str(value)})
    return host
