"""Host ping tracker (ZStack's HostTracker), run on beat.

Every run pings the hosts whose last ping is older than ``host.ping.interval``,
many at a time. A host that misses ``host.ping.maxFailure`` pings in a row
becomes Disconnected; a Disconnected host whose agent answers again is
reconnected by itself when ``host.connection.autoReconnectOnError`` is on.
"""
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta


from django.db.models import F, Q
from django.utils import timezone

from .agent import agent_settings
from .globalconfig import AUTO_RECONNECT, PING_INTERVAL, PING_MAX_FAILURE, PING_TIMEOUT
from .models import Host, HostStatus

log = logging.getLogger(__name__)
PING_THREADS = 32


def _ping(host, timeout, body):
    from hostagent.client import AgentClient, AgentError

    from .agent import agent_url

    try:
        answer = AgentClient(agent_url(host), str(host.uuid), host.agent_secret, timeout=timeout).call(
            "/v1/host/ping", body)
        return answer.get("host_uuid") == str(host.uuid)
    except (AgentError, OSError, ValueError):
        return False


def ping_due_hosts():
    """Ping every host that is due; returns ``{"pinged", "failed", "disconnected", "reconnecting"}``."""
    now = timezone.now()
    interval = PING_INTERVAL.value()
    due = list(Host.objects.filter(status__in=[HostStatus.CONNECTED, HostStatus.DISCONNECTED], busy_job__isnull=True)
               .filter(Q(last_ping_at__isnull=True) | Q(last_ping_at__lte=now - timedelta(seconds=interval)))
               .only("id", "uuid", "name", "hypervisor_type", "management_ip", "agent_port", "agent_secret",
                     "status"))
    if not due:
        return {"pinged": 0, "failed": 0, "disconnected": 0, "reconnecting": 0}
    timeout = PING_TIMEOUT.value()
    body = agent_settings()   # read here: the ping threads never touch the database
    with ThreadPoolExecutor(max_workers=min(PING_THREADS, len(due))) as pool:
        answers = list(pool.map(lambda h: _ping(h, timeout, body), due))
    ok = [h for h, alive in zip(due, answers) if alive]
    failed = [h for h, alive in zip(due, answers) if not alive]
    now = timezone.now()
    Host.objects.filter(pk__in=[h.pk for h in ok]).update(last_ping_at=now, ping_failures=0)
    Host.objects.filter(pk__in=[h.pk for h in failed]).update(last_ping_at=now, ping_failures=F("ping_failures") + 1)
    newly_down = list(Host.objects.filter(pk__in=[h.pk for h in failed], status=HostStatus.CONNECTED,
                                          ping_failures__gte=PING_MAX_FAILURE.value()))
    for host in newly_down:  # save() so the change is logged and published
        host.status = HostStatus.DISCONNECTED
        host.save(update_fields=["status", "updated_at"])
        log.warning("host %s (%s) is Disconnected: %d pings missed", host.name, host.uuid, host.ping_failures)
    back = [h for h in ok if h.status == HostStatus.DISCONNECTED]
    reconnecting = 0
    if back and AUTO_RECONNECT.value():
        from apps.core.errors import ResourceBusy
        from apps.core.flows import start_job

        from .flows import RECONNECT_HOST

        for host in back:
            try:
                start_job(RECONNECT_HOST, resource=Host.objects.get(pk=host.pk), args={"host_uuid": str(host.uuid)})
                reconnecting += 1
            except ResourceBusy:
                pass
    return {"pinged": len(due), "failed": len(failed), "disconnected": len(newly_down), "reconnecting": reconnecting}
