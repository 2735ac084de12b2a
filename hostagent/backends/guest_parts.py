"""Guest settings of a domain definition (a domain part): video model, the QEMU guest agent's
channel, vCPU and memory maximums (for hot-plug and ballooning), per-disk I/O limits and per-NIC
bandwidth. The base definition (libvirt_backend.domain_xml) reads ``video``, ``cpu_max`` and
``memory_max`` from the spec; the rest is XML this part adds.

Body fields (all optional; absent means the defaults an older portal gets):
  ``video``          vga | qxl | cirrus | virtio (vga)
  ``guest_agent``    true: a virtio-serial channel ``org.qemu.guest_agent.0`` (false)
  ``cpu_max``        vCPUs the domain may grow to while running (``cpu_num``: the ones it has now)
  ``memory_max``     bytes the domain may balloon up to (``memory_size``: its current target)
  ``iotune``         {disk path: {"total_iops_sec", "total_bytes_sec", "read_iops_sec", ...}}
  ``nic_bandwidth``  {mac: {"inbound": bytes/s, "outbound": bytes/s}}
"""
from xml.sax.saxutils import quoteattr

from ..errors import invalid_request
from .domain_parts import register

VIDEO_MODELS = ("vga", "qxl", "cirrus", "virtio")
GUEST_AGENT_CHANNEL = "org.qemu.guest_agent.0"
IOTUNE_KEYS = ("total_iops_sec", "read_iops_sec", "write_iops_sec",
               "total_bytes_sec", "read_bytes_sec", "write_bytes_sec")
BANDWIDTH_KEYS = ("inbound", "outbound")


def _positive(value, where, field, allow_zero=False):
    low = 0 if allow_zero else 1
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise invalid_request(f"{where} must be an integer >= {low}", field=field)
    return value


def validate_iotune(values, where="iotune", field="iotune"):
    """``{key: int}`` of IOTUNE_KEYS; 0 means no limit (libvirt's own meaning)."""
    if not isinstance(values, dict) or any(key not in IOTUNE_KEYS for key in values):
        raise invalid_request(f"{where} must be an object of {', '.join(IOTUNE_KEYS)}", field=field)
    return {key: _positive(value, f"{where}.{key}", field, allow_zero=True) for key, value in values.items()}


def validate_bandwidth(values, where="nic_bandwidth", field="nic_bandwidth"):
    """``{"inbound": bytes/s, "outbound": bytes/s}``; 0 or absent: no limit."""
    if not isinstance(values, dict) or any(key not in BANDWIDTH_KEYS for key in values):
        raise invalid_request(f"{where} must be an object of inbound, outbound (bytes/s)", field=field)
    return {key: _positive(value, f"{where}.{key}", field, allow_zero=True) for key, value in values.items()}


def iotune_xml(values):
    limits = "".join(f"<{key}>{value}</{key}>" for key, value in sorted(values.items()) if value)
    return f"<iotune>{limits}</iotune>" if limits else ""


def kib(bytes_per_second):
    """libvirt's bandwidth unit is KiB/s; a limit below 1 KiB/s still limits (to 1)."""
    return max(1, bytes_per_second // 1024) if bytes_per_second else 0


def bandwidth_xml(values):
    parts = [f"<{key} average='{kib(values[key])}'/>" for key in BANDWIDTH_KEYS if values.get(key)]
    return f"<bandwidth>{''.join(parts)}</bandwidth>" if parts else ""


def _add_once(item, xml):
    if xml and xml not in item.get("extra_xml", ()):
        item["extra_xml"] = [*item.get("extra_xml", ()), xml]


def _apply(spec):
    """Put ``<iotune>`` into the spec's disks and ``<bandwidth>`` into its NICs (once). Called from
    ``validate`` and again from ``devices``: whichever of this part and ``disks`` is registered
    first (it depends on which module was imported first), the disks have it before their XML is made."""
    for disk in spec.get("disks", []):
        if disk.get("path") in spec.get("iotune", {}):
            _add_once(disk, iotune_xml(spec["iotune"][disk["path"]]))
    for nic in spec.get("nics", []):
        if nic["mac"] in spec.get("nic_bandwidth", {}):
            _add_once(nic, bandwidth_xml(spec["nic_bandwidth"][nic["mac"]]))


@register
class GuestSettings:
    def validate(self, body, spec):
        video = body.get("video") or "vga"
        if video not in VIDEO_MODELS:
            raise invalid_request(f"video must be one of {', '.join(VIDEO_MODELS)}", field="video")
        spec["video"] = video
        guest_agent = body.get("guest_agent", False)
        if not isinstance(guest_agent, bool):
            raise invalid_request("guest_agent must be true or false", field="guest_agent")
        spec["guest_agent"] = guest_agent
        for field, current in (("cpu_max", "cpu_num"), ("memory_max", "memory_size")):
            value = body.get(field)
            if value is None:
                continue
            _positive(value, field, field)
            if value < spec[current]:
                raise invalid_request(f"{field} must be at least {current} ({spec[current]})", field=field)
            spec[field] = value
        iotune = body.get("iotune") or {}
        if not isinstance(iotune, dict):
            raise invalid_request("iotune must be an object {disk path: limits}", field="iotune")
        paths = {spec.get("disk_path")} | {d.get("path") for d in body.get("disks") or [] if isinstance(d, dict)}
        for path in iotune:
            if path not in paths:
                raise invalid_request(f"iotune names {path}, which is none of the domain's disks", field="iotune")
        spec["iotune"] = {path: validate_iotune(values, f"iotune[{path}]") for path, values in iotune.items()}
        bandwidth = body.get("nic_bandwidth") or {}
        if not isinstance(bandwidth, dict):
            raise invalid_request("nic_bandwidth must be an object {mac: {inbound, outbound}}", field="nic_bandwidth")
        macs = {nic["mac"] for nic in spec.get("nics", [])}
        for mac in bandwidth:
            if str(mac).lower() not in macs:
                raise invalid_request(f"nic_bandwidth names {mac}, which is none of the domain's NICs",
                                      field="nic_bandwidth")
        spec["nic_bandwidth"] = {str(mac).lower(): validate_bandwidth(values, f"nic_bandwidth[{mac}]")
                                 for mac, values in bandwidth.items()}
        _apply(spec)

    def devices(self, spec):
        _apply(spec)
        if not spec.get("guest_agent"):
            return []
        return [f"<channel type='unix'><target type='virtio' name={quoteattr(GUEST_AGENT_CHANNEL)}/></channel>"]
