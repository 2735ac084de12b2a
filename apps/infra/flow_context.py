"""The host a flow works on, for the steps of every app that act on one (VM, storage, network)."""
from apps.core.errors import NotFound
from apps.core.flows import ctx_cached, ctx_value

from .models import Host


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
