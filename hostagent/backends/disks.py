"""The disks of a domain: ``"disks": [{...}]`` in ``/v1/vm/define`` (a domain part).

Each disk: ``path`` (absolute), ``format`` (qcow2 or raw; by the file name when absent), ``device``
(disk or cdrom), ``bus`` (virtio, scsi, sata, ide), and optionally ``target`` (vda, sdb, hdc...; else
the next free one of its bus in list order), ``serial`` (what the guest sees in
/dev/disk/by-id), ``wwn`` (16 hex digits, scsi/sata) and ``readonly``. A CD-ROM may have no
``path`` (an empty tray). The older ``disk_path``/``disk_format`` fields mean one virtio disk first.
"""
import re
from xml.sax.saxutils import quoteattr

from ..errors import invalid_request
from .domain_parts import register

DEVICES = ("disk", "cdrom")
BUSES = ("virtio", "scsi", "sata", "ide")
FORMATS = ("qcow2", "raw")
TARGET_PREFIX = {"virtio": "vd", "scsi": "sd", "sata": "sd", "ide": "hd"}
TARGET_RE = re.compile(r"^(vd|sd|hd)[a-z]{1,2}$")
SERIAL_RE = re.compile(r"^[A-Za-z0-9_.-]{1,20}$")   # QEMU keeps 20 characters of a virtio serial
WWN_RE = re.compile(r"^[0-9a-fA-F]{16}$")


def target_names(prefix):
    """vda, vdb, ... vdz, vdaa, vdab, ...: libvirt's own order."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    for first in letters:
        yield prefix + first
    for first in letters:
        for second in letters:
            yield prefix + first + second


def next_target(bus, used):
    prefix = TARGET_PREFIX[bus]
    # sata and scsi share sd*: a target is unique across the domain whatever its bus
    return next(name for name in target_names(prefix) if name not in used)


def validate_disk(disk, index, field="disks"):
    """One disk of a define body (or of an attach request) as a clean dict."""
    where = f"{field}[{index}]" if index is not None else field
    if not isinstance(disk, dict):
        raise invalid_request(f"{where} must be an object", field=field)
    device = disk.get("device", "disk")
    if device not in DEVICES:
        raise invalid_request(f"{where}.device must be one of {', '.join(DEVICES)}", field=field)
    path = disk.get("path")
    if path is None and device == "cdrom":
        clean_path = None
    elif isinstance(path, str) and path.startswith("/") and "\0" not in path and "/../" not in path + "/":
        clean_path = path
    else:
        raise invalid_request(f"{where}.path must be an absolute path", field=field)
    bus = disk.get("bus", "sata" if device == "cdrom" else "virtio")
    if bus not in BUSES:
        raise invalid_request(f"{where}.bus must be one of {', '.join(BUSES)}", field=field)
    if device == "cdrom" and bus == "virtio":
        raise invalid_request(f"{where}: a CD-ROM needs the sata, scsi or ide bus", field=field)
    fmt = disk.get("format") or ("qcow2" if clean_path and clean_path.endswith(".qcow2") else "raw")
    if fmt not in FORMATS:
        raise invalid_request(f"{where}.format must be one of {', '.join(FORMATS)}", field=field)
    clean = {"path": clean_path, "format": fmt, "device": device, "bus": bus,
             "readonly": bool(disk.get("readonly", device == "cdrom"))}
    target = disk.get("target")
    if target is not None:
        if not isinstance(target, str) or not TARGET_RE.match(target) or not target.startswith(TARGET_PREFIX[bus]):
            raise invalid_request(f"{where}.target must be a device name of its bus ({TARGET_PREFIX[bus]}a, "
                                  f"{TARGET_PREFIX[bus]}b, ...)", field=field)
        clean["target"] = target
    serial = disk.get("serial")
    if serial not in (None, ""):
        if not isinstance(serial, str) or not SERIAL_RE.match(serial):
            raise invalid_request(f"{where}.serial must be 1 to 20 letters, digits, '_', '.' or '-'", field=field)
        clean["serial"] = serial
    wwn = disk.get("wwn")
    if wwn not in (None, ""):
        if not isinstance(wwn, str) or not WWN_RE.match(wwn) or bus not in ("scsi", "sata", "ide"):
            raise invalid_request(f"{where}.wwn must be 16 hex digits, on a scsi, sata or ide disk", field=field)
        clean["wwn"] = wwn.lower()
    return clean


def assign_targets(disks):
    """Give each disk without a target the next free one of its bus (in list order)."""
    used = {disk["target"] for disk in disks if "target" in disk}
    if len(used) != sum(1 for disk in disks if "target" in disk):
        raise invalid_request("two disks have the same target", field="disks")
    for disk in disks:
        if "target" not in disk:
            disk["target"] = next_target(disk["bus"], used)
            used.add(disk["target"])
    return disks


def disk_xml(disk):
    """The ``<disk>`` element of one clean disk (hot attach sends the same XML)."""
    source = f"<source file={quoteattr(disk['path'])}/>" if disk.get("path") else ""
    parts = [f"<disk type='file' device={quoteattr(disk['device'])}>",
             f"<driver name='qemu' type={quoteattr(disk['format'])}/>", source,
             f"<target dev={quoteattr(disk['target'])} bus={quoteattr(disk['bus'])}/>"]
    if disk.get("readonly"):
        parts.append("<readonly/>")
    if disk.get("serial"):
        parts.append(f"<serial>{disk['serial']}</serial>")
    if disk.get("wwn"):
        parts.append(f"<wwn>{disk['wwn']}</wwn>")
    parts.extend(disk.get("extra_xml", ()))   # other parts' children of a disk (iotune) go here
    parts.append("</disk>")
    return "".join(parts)


@register
class Disks:
    def validate(self, body, spec):
        disks = body.get("disks")
        if disks is None:
            disks = []
        if not isinstance(disks, list):
            raise invalid_request("disks must be a list", field="disks")
        clean = [validate_disk(disk, index) for index, disk in enumerate(disks)]
        if spec.get("disk_path"):
            fmt = spec.get("disk_format") or ("qcow2" if spec["disk_path"].endswith(".qcow2") else "raw")
            clean.insert(0, {"path": spec["disk_path"], "format": fmt, "device": "disk",
                             "bus": "virtio", "readonly": False})
        spec["disks"] = assign_targets(clean)
        if spec["disks"] and not spec.get("disk_path"):
            first = next((d for d in spec["disks"] if d["device"] == "disk"), None)
            if first is not None:   # what older readers of the spec (sim, metrics) look at
                spec["disk_path"], spec["disk_format"] = first["path"], first["format"]

    def devices(self, spec):
        disks = spec.get("disks", [])
        xml = [disk_xml(disk) for disk in disks]
        if any(disk["bus"] == "scsi" for disk in disks):
            xml.append("<controller type='scsi' index='0' model='virtio-scsi'/>")
        return xml
