"""Agent paths added by feature modules (volumes, snapshots, migration, guest settings...).

``route(path, validate, libvirt=fn, sim=fn, read=False)``: the server validates the body with
``validate(body) -> spec`` (raising ``errors.invalid_request``) and calls the function of its
backend as ``fn(backend, host_uuid, spec)``; it answers a dict or raises ``AgentFailure``. A libvirt
function runs in the server's thread pool (it may block); a sim function runs on the event loop
(it must not). ``read`` paths use the read pool and are logged at debug level.
Each feature's routes live in a module of their own, imported at the bottom of this one.
"""
from collections import namedtuple

Route = namedtuple("Route", "validate impls read")
ROUTES = {}


def route(path, validate, *, libvirt, sim, read=False):
    if path in ROUTES:
        raise RuntimeError(f"agent path {path} is registered twice")
    ROUTES[path] = Route(validate, {"libvirt": libvirt, "sim": sim}, read)


# other HTTP routes than /v1/ POSTs (a file download): (method, path, make(server) -> aiohttp handler)
HTTP_ROUTES = []


def http_route(method, path, make):
    HTTP_ROUTES.append((method, path, make))


def read_paths():
    return {path for path, entry in ROUTES.items() if entry.read}


# the feature modules (each calls ``route`` when imported)
from . import snapshot_ops  # noqa: E402,F401  (volume snapshots: external qcow2 chains)
from . import clone_ops  # noqa: E402,F401  (clones, images from volumes, reinit)
from . import migration_ops  # noqa: E402,F401  (/v1/vm/migrate, /v1/volume/export, GET /files/)
from . import shared_storage  # noqa: E402,F401
from . import volume_ops  # noqa: E402,F401
from . import heartbeat  # noqa: E402,F401  (HA storage heartbeat)
from . import shared_storage  # noqa: E402,F401
from . import migration_ops  # noqa: E402,F401  (/v1/vm/migrate, /v1/volume/export, GET /files/)
from . import guest_ops  # noqa: E402,F401
from . import config_drive  # noqa: E402,F401
