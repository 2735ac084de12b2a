"""Storage paths of the agent (docs/agent-protocol.md, "Storage"): validation shared by both backends.

Each path maps to a validator (body -> clean spec, or 400 INVALID_REQUEST) and the backend method
that runs it. The backends implement the methods in their storage mixins: ``storage_files``
(real files and qemu-img, used by the libvirt backend) and ``storage_sim`` (in memory).
"""
import os
import re
import urllib.parse

from ..errors import invalid_request

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
VOLUME_FORMATS = ("qcow2", "raw")
BACKING_FORMATS = ("qcow2", "raw")


def _path(body, field="path", required=True):
    value = body.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.startswith("/") or "\0" in value:
        raise invalid_request(f"{field} must be an absolute path", field=field)
    if os.path.normpath(value) != value.rstrip("/") or "/../" in value + "/" or value == "/":
        raise invalid_request(f"{field} must be a normalised absolute path (no '..', no '//')", field=field)
    return value


def _size(body, field, required=False):
    value = body.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise invalid_request(f"{field} must be a non-negative integer (bytes)", field=field)
    return value


def validate_capacity(body):
    return {"path": _path(body)}


def validate_cache(body):
    url = body.get("url")
    parsed = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    if not parsed or parsed.scheme not in ("http", "https", "file") or (parsed.scheme != "file" and not parsed.netloc):
        raise invalid_request("url must be an http, https or file URL", field="url")
    sha256 = body.get("sha256")
    if not isinstance(sha256, str) or not SHA256_RE.match(sha256):
        raise invalid_request("sha256 must be 64 lowercase hex digits", field="sha256")
    return {"url": url, "sha256": sha256, "path": _path(body), "size": _size(body, "size")}


def validate_path_only(body):
    return {"path": _path(body)}


def validate_volume_create(body):
    spec = {"path": _path(body), "backing_file": _path(body, "backing_file", required=False),
            "size": _size(body, "size")}
    fmt = body.get("format", "qcow2")
    if fmt not in VOLUME_FORMATS:
        raise invalid_request(f"format must be one of {', '.join(VOLUME_FORMATS)}", field="format")
    spec["format"] = fmt
    backing_format = body.get("backing_format", "qcow2")
    if backing_format not in BACKING_FORMATS:
        raise invalid_request(f"backing_format must be one of {', '.join(BACKING_FORMATS)}", field="backing_format")
    spec["backing_format"] = backing_format
    if spec["backing_file"] is None and not spec["size"]:
        raise invalid_request("a volume without backing_file needs a size", field="size")
    if spec["backing_file"] is not None and fmt != "qcow2":
        raise invalid_request("only qcow2 volumes can have a backing file", field="format")
    return spec


# path -> (validator, backend method name)
STORAGE_ROUTES = {
    "/v1/storage/capacity": (validate_capacity, "storage_capacity"),
    "/v1/image/cache": (validate_cache, "image_cache"),
    "/v1/image/uncache": (validate_path_only, "image_uncache"),
    "/v1/volume/create": (validate_volume_create, "volume_create"),
    "/v1/volume/delete": (validate_path_only, "volume_delete"),
    "/v1/volume/info": (validate_path_only, "volume_info"),
}
