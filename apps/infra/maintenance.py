"""Which flow ``POST /hosts/<uuid>/maintain/`` runs. Emptying a host is about its VMs, which infra
does not know: apps.compute sets the flow in its AppConfig.ready() (apps/compute/flows/host_maintenance.py)."""
from apps.core.errors import CloudPortalError

from .models import HOST_STATE_MACHINE

MAINTENANCE = {"flow": None}


def plan(host, data):
    """The maintenance flow and its args; a host whose state forbids it is refused now (409)."""
    HOST_STATE_MACHINE.next(host.state, "preMaintain", action="maintain")
    if MAINTENANCE["flow"] is None:
        raise CloudPortalError("host maintenance is not available", code="MAINTENANCE_UNAVAILABLE", status=409)
    return MAINTENANCE["flow"], {"host_uuid": str(host.uuid)}
