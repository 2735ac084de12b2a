"""Prometheus HTTP service discovery from the portal's host list: one target group per Connected
host, so Prometheus scrapes a host from the moment it connects, without a config change.

Each group carries what Prometheus needs to scrape the host's agent (docs/prometheus.md):
the agent's address, the metrics path of that host and its metrics token as the ``token`` query
parameter (Prometheus cannot set a header per target), and the host's place in the cloud as labels.
"""
import urllib.parse

from apps.infra.agent import agent_url
from apps.infra.models import Host, HostStatus
from hostagent.signing import metrics_token


def prometheus_targets():
    hosts = (Host.objects.filter(status=HostStatus.CONNECTED)
             .select_related("cluster__zone")
             .only("uuid", "hypervisor_type", "management_ip", "agent_port", "agent_secret",
                   "cluster__uuid", "cluster__zone__uuid")
             .order_by("id"))
    groups = []
    for host in hosts:
        if not host.agent_secret:
            continue   # no secret, no token: nothing Prometheus could read
        url = urllib.parse.urlsplit(agent_url(host))
        host_uuid = str(host.uuid)
        labels = {
            "__metrics_path__": f"/metrics/{host_uuid}",
            "__param_token": metrics_token(host.agent_secret, host_uuid),
            "host_uuid": host_uuid,
            "cluster_uuid": str(host.cluster.uuid),
            "zone_uuid": str(host.cluster.zone.uuid),
        }
        if url.scheme == "https":
            labels["__scheme__"] = "https"
        groups.append({"targets": [url.netloc], "labels": labels})
    return groups
