"""Shared primary storage (SharedMountPoint, NFS) on the hosts: mounting, unmounting and capacity.

A SharedMountPoint is a directory the operator mounts on every host at the same path; the agent
only checks it. An NFS storage's export is mounted by each agent at the storage's ``mount_path``
(``<nfs.mountRoot>/<uuid hex>``) when the storage is attached to the host's cluster and whenever a
host of such a cluster connects; detaching unmounts it. Capacity is per storage: any connected
host's statvfs of the mount gives total and available; ``used_capacity`` is the portal's count
(``apps.storage.space``).
"""
import re

from django.db.models import Q

from apps.core.errors import InvalidArgument
from apps.infra import agent
from apps.infra.models import HostStatus

from .globalconfig import NFS_MOUNT_ROOT
from .models import PrimaryStorage, PrimaryStorageType

NFS_URL_RE = re.compile(r"^(?:nfs://(?P<host1>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*)(?P<path1>/[^\s]*)"
                        r"|(?P<host2>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):(?P<path2>/[^\s]*))$")


def nfs_source(url):
    """``server:/export`` of an NFS url (``nfs://server/export`` or ``server:/export``); raises
    InvalidArgument (400) when it is neither."""
    match = NFS_URL_RE.match(url or "")
    if not match:
        raise InvalidArgument("give the NFS export as nfs://server/export or server:/export",
                              code="INVALID_NFS_URL", details={"url": [url]})
    host = match.group("host1") or match.group("host2")
    path = (match.group("path1") or match.group("path2")).rstrip("/") or "/"
    return f"{host}:{path}"


def nfs_mount_path(uuid):
    return f"{NFS_MOUNT_ROOT.value().rstrip('/')}/{uuid.hex if hasattr(uuid, 'hex') else str(uuid).replace('-', '')}"


def mount_body(ps):
    if ps.type == PrimaryStorageType.NFS:
        return {"type": "nfs", "url": nfs_source(ps.url), "mount_point": ps.root}
    return {"type": "shared", "mount_point": ps.root}


def mount(ps, host, request_id=None):
    return agent.call(host, "/v1/storage/mount", mount_body(ps), request_id=request_id)


def unmount(ps, host):
    return agent.call(host, "/v1/storage/unmount", {"type": mount_body(ps)["type"], "mount_point": ps.root})


def refresh_capacity(ps, host):
    """Total and available bytes of the storage as ``host`` sees them (never ``used_capacity``)."""
    answer = agent.call(host, "/v1/storage/capacity", {"path": ps.root})
    total, available = int(answer["total"]), int(answer["available"])
    PrimaryStorage.objects.filter(pk=ps.pk).update(total_capacity=total, available_physical_capacity=available)
    ps.total_capacity, ps.available_physical_capacity = total, available
    return total, available


def shared_storages_of(host):
    return list(PrimaryStorage.objects.filter(clusters=host.cluster_id).filter(
        Q(type=PrimaryStorageType.SHARED_MOUNT_POINT) | Q(type=PrimaryStorageType.NFS)).order_by("id"))


def on_host_connected(host):
    """The host connect hook: the host mounts every shared storage of its cluster and reports its
    capacity (a failure fails the connect, as for local storage)."""
    for ps in shared_storages_of(host):
        mount(ps, host)
        refresh_capacity(ps, host)


def connected_hosts(cluster):
    return list(cluster.hosts.filter(status=HostStatus.CONNECTED).order_by("id"))
