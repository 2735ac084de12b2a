"""Adding and reconnecting hosts.

The API creates the host row (status Connecting) and starts ADD_HOST on it; if
any step fails, the steps roll back in reverse and the first one deletes the
row, so a failed add leaves nothing behind.
"""
from django.db import transaction
from django.utils import timezone

from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep

from .. import agent
from ..models import HOST_STATUS_MACHINE, Host


def _host(ctx):
    return Host.objects.get(uuid=ctx.args["host_uuid"])


class RecordHost(DbStep):
    """The row exists already (the API made it so it can answer 202 with it);
    undoing the add deletes it."""

    def run(self, ctx):
        _host(ctx)

    def rollback(self, ctx):
        Host.objects.filter(uuid=ctx.args["host_uuid"]).delete()


class RegisterSimulatedHost(RemoteStep):
    """Simulator hosts: create the host in the simulator agent (idempotent: create or replace)."""

    def run(self, ctx):
        host = _host(ctx)
        if host.hypervisor_type != "Simulator":
            return
        register_simulated_host(host, ctx.args["cpu_num"], ctx.args["memory_size"])
        ctx.registered = True

    def rollback(self, ctx):
        if ctx.get("registered"):
            agent.sim_admin("DELETE", f"/sim/hosts/{ctx.args['host_uuid']}")


class ConnectAgent(RemoteStep, NoRollback):
    """Tell the agent where the portal is and read the host's facts and capacity."""

    def run(self, ctx):
        host = _host(ctx)
        answer = agent.call(host, "/v1/host/connect", agent.connect_body())
        facts = answer.get("facts", {})
        capacity = answer.get("capacity", {})
        host.facts = facts
        host.agent_version = answer.get("agent_version", "")
        host.cpu_num = int(capacity.get("cpu_num") or facts.get("cpu_num") or 0)
        host.memory_size = int(capacity.get("memory_size") or facts.get("memory_size") or 0)
        host.save(update_fields=["facts", "agent_version", "cpu_num", "memory_size", "updated_at"])


# Callables ``hook(host)`` run each time a host connects (add or reconnect), after the agent answered:
# other apps (re)create what the host needs there, e.g. apps.network the bridges of its cluster's L2
# networks. A hook that raises fails the connect. Apps append to it in their AppConfig.ready().
HOST_CONNECT_HOOKS = []


class RunConnectHooks(RemoteStep, NoRollback):
    def run(self, ctx):
        host = _host(ctx)
        for hook in HOST_CONNECT_HOOKS:
            hook(host)


class MarkConnected(DbStep, NoRollback):
    def run(self, ctx):
        with transaction.atomic():
            host = Host.objects.select_for_update().get(uuid=ctx.args["host_uuid"])
            host.status = HOST_STATUS_MACHINE.next(host.status, "connected")
            host.last_ping_at = timezone.now()
            host.ping_failures = 0
            host.save(update_fields=["status", "last_ping_at", "ping_failures", "updated_at"])
        ctx.result = {"host_uuid": str(host.uuid), "status": host.status}


class MarkConnecting(DbStep):
    def run(self, ctx):
        with transaction.atomic():
            host = Host.objects.select_for_update().get(uuid=ctx.args["host_uuid"])
            ctx.previous_status = host.status
            host.status = HOST_STATUS_MACHINE.next(host.status, "connecting")
            host.save(update_fields=["status", "updated_at"])

    def rollback(self, ctx):
        """A reconnect that fails leaves the host Disconnected (once it was marked Connecting)."""
        if ctx.get("previous_status") is not None:
            Host.objects.filter(uuid=ctx.args["host_uuid"]).update(status="Disconnected")


def register_simulated_host(host, cpu_num=None, memory_size=None):
    """Create (or replace) ``host`` in the simulator agent."""
    agent.sim_admin("POST", "/sim/hosts", {
        "host_uuid": str(host.uuid), "secret": host.agent_secret, "cpu_num": cpu_num or host.cpu_num,
        "memory_size": memory_size or host.memory_size, "hostname": host.name})


class ReviveSimulatedHost(RemoteStep, NoRollback):
    """Reconnect: the simulator keeps its hosts in memory, so one that restarted has forgotten this
    host; register it again with its recorded size (a host it still knows is left as it is)."""

    def run(self, ctx):
        host = _host(ctx)
        if host.hypervisor_type == "Simulator" and host.cpu_num and \
                agent.sim_admin("GET", f"/sim/hosts/{host.uuid}", missing_ok=True) is None:
            register_simulated_host(host)


def revive_simulated_hosts():
    """After the simulator agent (re)started (``make run`` starts one): every Simulator host it does
    not know is registered again and told where the portal is; answers how many."""
    revived = 0
    for host in Host.objects.filter(hypervisor_type="Simulator").exclude(cpu_num=0):
        if agent.sim_admin("GET", f"/sim/hosts/{host.uuid}", missing_ok=True) is None:
            register_simulated_host(host)
            agent.call(host, "/v1/host/connect", agent.connect_body())
            revived += 1
    return revived


ADD_HOST = Flow("add-host", [RecordHost, RegisterSimulatedHost, ConnectAgent, RunConnectHooks, MarkConnected],
                action="add-host")
