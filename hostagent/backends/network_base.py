"""Network paths of the agent (bridges for L2 networks, distributed DHCP for L3 networks).

Shared by both backends: request validation and the path table the server registers. The
operations themselves live in ``network_linux`` (real: ``ip``, network namespaces, dnsmasq)
and ``network_sim`` (in memory). Protocol: docs/agent-protocol.md, "Network".
"""
import ipaddress
import re
import uuid

from ..errors import invalid_request
from .base import UUID_RE

# Linux interface names are at most 15 bytes; bridges the portal manages are named br_<interface>.
IFACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,14}$")
BRIDGE_RE = re.compile(r"^br_[A-Za-z0-9_.-]{1,12}$")
MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
HOSTNAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
DEFAULT_LEASE_TIME = 86400


def _iface(body, field):
    value = body.get(field)
    if not isinstance(value, str) or not IFACE_RE.match(value):
        raise invalid_request(f"{field} must be a Linux interface name (1-15 characters)", field=field)
    return value


def _bridge(body):
    value = body.get("bridge")
    if not isinstance(value, str) or not BRIDGE_RE.match(value):
        raise invalid_request("bridge must be named br_<name> (at most 15 characters)", field="bridge")
    return value


def _l3(body):
    value = body.get("l3_uuid")
    if not isinstance(value, str) or not UUID_RE.match(value):
        raise invalid_request("l3_uuid must be a UUID string", field="l3_uuid")
    return str(uuid.UUID(value))


def _ipv4(value, field, optional=False):
    if value is None and optional:
        return None
    try:
        return str(ipaddress.IPv4Address(value))
    except (ValueError, TypeError):
        raise invalid_request(f"{field} must be an IPv4 address", field=field) from None


def _mac(value, field="mac"):
    if not isinstance(value, str) or not MAC_RE.match(value.lower()):
        raise invalid_request(f"{field} must be a MAC address like fa:16:3e:00:00:01", field=field)
    return value.lower()


def validate_bridge_ensure(body):
    return {"bridge": _bridge(body), "physical_interface": _iface(body, "physical_interface")}


def validate_bridge_delete(body):
    spec = {"bridge": _bridge(body), "physical_interface": None}
    if body.get("physical_interface") is not None:
        spec["physical_interface"] = _iface(body, "physical_interface")
    return spec


def validate_dhcp_apply(body):
    spec = {"l3_uuid": _l3(body), "bridge": _bridge(body), "physical_interface": None}
    if body.get("physical_interface") is not None:  # the bridge is ensured first, as bridge/ensure does
        spec["physical_interface"] = _iface(body, "physical_interface")
    spec["server_ip"] = _ipv4(body.get("server_ip"), "server_ip")
    spec["netmask"] = _ipv4(body.get("netmask"), "netmask")
    try:
        network = ipaddress.IPv4Network(f"{spec['server_ip']}/{spec['netmask']}", strict=False)
    except ValueError:
        raise invalid_request("netmask is not a valid IPv4 netmask", field="netmask") from None
    spec["prefix_len"] = network.prefixlen
    spec["network"] = str(network.network_address)
    spec["gateway"] = _ipv4(body.get("gateway"), "gateway", optional=True)
    dns = body.get("dns") or []
    if not isinstance(dns, list):
        raise invalid_request("dns must be a list of IPv4 addresses", field="dns")
    spec["dns"] = [_ipv4(d, "dns") for d in dns]
    lease = body.get("lease_time", DEFAULT_LEASE_TIME)
    if not isinstance(lease, int) or isinstance(lease, bool) or lease < 120:
        raise invalid_request("lease_time must be an integer number of seconds, at least 120", field="lease_time")
    spec["lease_time"] = lease
    entries = body.get("entries") or []
    if not isinstance(entries, list):
        raise invalid_request("entries must be a list of {mac, ip, hostname?}", field="entries")
    spec["entries"] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise invalid_request("each entry is {mac, ip, hostname?}", field=f"entries[{i}]")
        ip = _ipv4(entry.get("ip"), f"entries[{i}].ip")
        if ipaddress.IPv4Address(ip) not in network:
            raise invalid_request(f"{ip} is not in {network}", field=f"entries[{i}].ip")
        hostname = entry.get("hostname")
        if hostname is not None and (not isinstance(hostname, str) or not HOSTNAME_RE.match(hostname)):
            raise invalid_request("hostname must be a DNS label", field=f"entries[{i}].hostname")
        spec["entries"].append({"mac": _mac(entry.get("mac"), f"entries[{i}].mac"), "ip": ip,
                                "hostname": hostname})
    return spec


def validate_dhcp_release(body):
    macs = body.get("macs")
    if not isinstance(macs, list):
        raise invalid_request("macs must be a list of MAC addresses", field="macs")
    return {"l3_uuid": _l3(body), "macs": [_mac(m, "macs") for m in macs]}


def validate_l3_only(body):
    return {"l3_uuid": _l3(body)}


def validate_nothing(body):
    return {}


# path -> (backend method, validator). The server registers these in one block.
NETWORK_PATHS = {
    "/v1/network/bridge/ensure": ("bridge_ensure", validate_bridge_ensure),
    "/v1/network/bridge/delete": ("bridge_delete", validate_bridge_delete),
    "/v1/network/state": ("network_state", validate_nothing),
    "/v1/dhcp/apply": ("dhcp_apply", validate_dhcp_apply),
    "/v1/dhcp/release": ("dhcp_release", validate_dhcp_release),
    "/v1/dhcp/delete": ("dhcp_delete", validate_l3_only),
    "/v1/network/cleanup": ("network_cleanup", validate_nothing),
}
NETWORK_READ_PATHS = {"/v1/network/state"}


def dhcp_names(l3_uuid):
    """(namespace, host-side veth, namespace-side veth) of an L3's DHCP server on this host."""
    short = l3_uuid.replace("-", "")[:10]
    return f"cpdhcp-{l3_uuid}", f"cpdo{short}", f"cpdi{short}"


def entries_list(entries):
    """The stored {mac: entry} map as a list sorted by IP (answers and the hosts file)."""
    return sorted(entries.values(), key=lambda e: ipaddress.IPv4Address(e["ip"]))
