"""Talking to host agents (docs/agent-protocol.md) from the portal."""
import json
import logging
import urllib.error
import urllib.request

from django.conf import settings

from apps.core.errors import CloudPortalError

from . import globalconfig as config

log = logging.getLogger(__name__)

# The timeout of each agent path, as the (category, name) of the global config that holds it: an
# operation waits as long as its kind can take on a busy host, a ping no longer than a ping should.
# A path not listed uses host/agent.timeout.default; a caller's explicit ``timeout`` wins (a graceful
# stop waits its own timeout and more).
_READ, _VM = ("host", "agent.timeout.read"), ("host", "agent.timeout.vm")
_NETWORK, _STORAGE = ("host", "agent.timeout.network"), ("host", "agent.timeout.storage")
PATH_TIMEOUTS = {
    "/v1/host/ping": ("host", "ping.timeout"),
    "/v1/host/connect": _READ, "/v1/host/facts": _READ, "/v1/host/capacity": _READ,
    "/v1/vm/states": _READ, "/v1/vm/vnc-port": _READ, "/v1/network/state": _READ,
    "/v1/storage/capacity": _READ, "/v1/volume/info": _READ,
    **{f"/v1/vm/{op}": _VM for op in ("define", "start", "stop", "destroy", "undefine", "pause", "resume",
                                     "reboot")},
    **{path: _NETWORK for path in ("/v1/network/bridge/ensure", "/v1/network/bridge/delete", "/v1/dhcp/apply",
                                   "/v1/dhcp/release", "/v1/dhcp/delete", "/v1/network/cleanup")},
    "/v1/volume/create": _STORAGE, "/v1/volume/delete": _STORAGE, "/v1/image/uncache": _STORAGE,
    "/v1/image/cache": ("image", "download.timeout"),
    "/v1/volume/snapshot": _STORAGE, "/v1/volume/snapshot-undo": _STORAGE, "/v1/volume/snapshot-merge": _STORAGE,
    # clones and images from volumes copy whole volumes: as long as an image download may take
    "/v1/volume/copy": ("image", "download.timeout"), "/v1/volume/convert-to-image": ("image", "download.timeout"),
    "/v1/volume/rename": _STORAGE,
    "/v1/storage/mount": _STORAGE, "/v1/storage/unmount": _STORAGE, "/v1/storage/mounts": _READ,
    "/v1/vm/attach-disk": _VM, "/v1/vm/detach-disk": _VM, "/v1/volume/resize": _STORAGE,
    "/v1/ha/heartbeat/start": _READ, "/v1/ha/heartbeat/read": ("host", "ping.timeout"),
    "/v1/volume/export": _STORAGE,   # reads the whole file for its sha256 (a cold migration)
    # guest settings (apps/compute/guest/): live domain changes, the guest agent, a small ISO written
    **{f"/v1/vm/{op}": _VM for op in ("cdrom", "cpu-memory", "qos", "password")},
    "/v1/vm/config-drive": _STORAGE,
    "/v1/vm/migrate": ("vm", "migrate.timeout"),   # the flow passes its own, a little longer than this
}


# Callables ``hook() -> dict`` whose answers the portal sends to every agent with each connect and
# each ping, so a changed global config reaches the agents without a reconnect; apps above infra
# append to it in their AppConfig.ready() (apps.monitoring: ``sample_interval``).
AGENT_SETTINGS_HOOKS = []


def agent_settings():
    """The settings body the agents get with connect and ping (read now)."""
    body = {}
    for hook in AGENT_SETTINGS_HOOKS:
        body.update(hook())
    return body


def connect_body():
    return {"portal_url": settings.PORTAL_URL, **agent_settings()}


class AgentUnreachable(CloudPortalError):
    status = 409
    code = "HOST_AGENT_UNREACHABLE"


def agent_url(host):
    if host.hypervisor_type == "Simulator":
        return settings.SIM_AGENT_URL
    address = host.management_ip
    if ":" in address and not address.startswith("["):
        address = f"[{address}]"   # an IPv6 address in a URL
    return f"http://{address}:{host.agent_port}"


def timeout_for(path):
    """Seconds the portal waits for the agent's answer to ``path`` (its global config, read now)."""
    from apps.core.globalconfig import REGISTRY

    definition = REGISTRY.get(PATH_TIMEOUTS.get(path)) or config.AGENT_TIMEOUT
    return definition.value()


def client_for(host, timeout=None):
    from hostagent.client import AgentClient

    return AgentClient(agent_url(host), str(host.uuid), host.agent_secret,
                       timeout=timeout or config.PING_TIMEOUT.value())


def call(host, path, body=None, timeout=None, request_id=None):
    """One signed call, waiting ``timeout`` seconds or the path's own (``timeout_for``); agent
    errors become CloudPortalErrors naming the host."""
    from hostagent.client import AgentError

    waited = timeout or timeout_for(path)
    try:
        return client_for(host, waited).call(path, body or {}, request_id=request_id)
    except AgentError as exc:
        if exc.status in (0, None, 502, 503, 504):
            # jobs and console refusals show this to the VM's owner: the host's name, never its
            # address or the agent's port (those, and the system's own words, go to the log)
            log.warning("agent of host %s at %s: %s %s", host.name, agent_url(host), path, exc.message)
            why = f"within {waited:g} s" if exc.code == "TIMEOUT" else "(connection failed)"
            raise AgentUnreachable(f"the agent of host {host.name} did not answer {path} {why}",
                                   details={"host_uuid": str(host.uuid), "path": path}) from None
        if exc.status >= 500:  # it answered, but the operation broke on the host (a libvirt error, ...)
            raise CloudPortalError(f"host {host.name}: the agent failed {path}: {exc.message}",
                                   code=exc.code or "AGENT_ERROR", status=502,
                                   details={**(exc.details or {}), "host_uuid": str(host.uuid), "path": path}) from None
        raise CloudPortalError(f"host {host.name}: {exc.message}", code=exc.code or "AGENT_ERROR",
                               status=409, details=exc.details or {}) from None


def sim_admin(method, path, body=None, missing_ok=False):
    """The simulator agent's admin API (create/delete simulated hosts). With ``missing_ok`` a 404
    answers None."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(settings.SIM_AGENT_URL + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {settings.SIM_AGENT_TOKEN}",
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        if exc.code == 404 and (missing_ok or method == "DELETE"):
            return None if missing_ok else {}
        raise AgentUnreachable(f"the simulator agent answered {exc.code} to {method} {path}") from None
    except OSError as exc:
        raise AgentUnreachable(f"the simulator agent at {settings.SIM_AGENT_URL} is not reachable: {exc}") from None
