"""Talking to host agents (docs/agent-protocol.md) from the portal."""
import json
import urllib.error
import urllib.request

from django.conf import settings

from apps.core.errors import CloudPortalError

from .globalconfig import PING_TIMEOUT


class AgentUnreachable(CloudPortalError):
    status = 409
    code = "HOST_AGENT_UNREACHABLE"


def agent_url(host):
    if host.hypervisor_type == "Simulator":
        return settings.SIM_AGENT_URL
    return f"http://{host.management_ip}:{host.agent_port}"


def client_for(host, timeout=None):
    from hostagent.client import AgentClient

    return AgentClient(agent_url(host), str(host.uuid), host.agent_secret,
                       timeout=timeout or PING_TIMEOUT.value())


def call(host, path, body=None, timeout=None, request_id=None):
    """One signed call; agent errors become CloudPortalErrors naming the host."""
    from hostagent.client import AgentError

    try:
        return client_for(host, timeout).call(path, body or {}, request_id=request_id)
    except AgentError as exc:
        if exc.status in (0, None, 502, 503, 504):
            raise AgentUnreachable(f"the agent of host {host.name} ({agent_url(host)}) did not answer {path}: "
                                   f"{exc.message}", details={"host_uuid": str(host.uuid), "path": path}) from None
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
