"""NoCloud config drives: an ISO 9660 image labelled ``cidata`` holding ``user-data``,
``meta-data`` and optionally ``network-config``, the files cloud-init reads from a CD-ROM at first
boot (cloud-init's NoCloud data source).

Built with pycdlib (pure Python, on PyPI): no genisoimage/xorriso binary to install on every
compute node, and the same library reads the image back in tests. Joliet and Rock Ridge names
keep the file names ``user-data``/``meta-data`` exactly; cloud-init mounts the drive and looks for
those names.

``POST /v1/vm/config-drive`` ``{"path", "user_data", "meta_data": {...}, "network_config"?}``
writes the image at ``path`` (a file of its own on the VM's primary storage; written to a
temporary name and renamed, so a half-written image is never attached). It is removed with
``/v1/volume/delete`` like any file of a volume.
"""
import io
import json
import os
import tempfile

from ..errors import AgentFailure, invalid_request
from .routes import route
from .storage_base import _path

LABEL = "cidata"
MAX_BYTES = 1 << 20   # what a NoCloud drive may carry in all (cloud-init's own limit is larger; ours is a sanity check)
# (ISO 9660 level-1 name, Joliet/Rock Ridge name, body field)
FILES = (("USERDATA.;1", "user-data", "user_data"), ("METADATA.;1", "meta-data", "meta_data"),
         ("NETCFG.;1", "network-config", "network_config"))


def validate(body):
    spec = {"path": _path(body)}
    user_data = body.get("user_data", "")
    if not isinstance(user_data, str):
        raise invalid_request("user_data must be a string", field="user_data")
    meta_data = body.get("meta_data")
    if not isinstance(meta_data, dict) or not isinstance(meta_data.get("instance-id"), str):
        raise invalid_request("meta_data must be an object with an instance-id", field="meta_data")
    network_config = body.get("network_config")
    if network_config is not None and not isinstance(network_config, str):
        raise invalid_request("network_config must be a string or null", field="network_config")
    # meta-data is YAML to cloud-init; JSON is YAML, and needs no YAML library here
    spec["contents"] = {"user_data": user_data.encode(), "meta_data": json.dumps(meta_data, indent=1).encode()}
    if network_config:
        spec["contents"]["network_config"] = network_config.encode()
    if sum(len(data) for data in spec["contents"].values()) > MAX_BYTES:
        raise invalid_request(f"user data, meta data and network config together exceed {MAX_BYTES} bytes",
                              field="user_data")
    return spec


def build_iso(contents):
    """The ISO image's bytes for ``contents`` ({body field: bytes})."""
    import pycdlib

    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, joliet=3, rock_ridge="1.09", vol_ident=LABEL)
    for iso_name, long_name, field in FILES:
        data = contents.get(field)
        if data is None:
            continue
        iso.add_fp(io.BytesIO(data), len(data), f"/{iso_name}", rr_name=long_name, joliet_path=f"/{long_name}")
    out = io.BytesIO()
    iso.write_fp(out)
    iso.close()
    return out.getvalue()


def read_iso(path):
    """{name: bytes} of a config drive's files and its volume label (tests, and debugging a guest)."""
    import pycdlib

    iso = pycdlib.PyCdlib()
    iso.open(path)
    try:
        files = {}
        for _iso_name, long_name, _field in FILES:
            out = io.BytesIO()
            try:
                iso.get_file_from_iso_fp(out, joliet_path=f"/{long_name}")
            except pycdlib.pycdlibexception.PyCdlibInvalidInput:
                continue
            files[long_name] = out.getvalue()
        return {"label": iso.pvd.volume_identifier.decode().strip(), "files": files}
    finally:
        iso.close()


def create_libvirt(backend, host_uuid, spec):
    path = spec["path"]
    data = build_iso(spec["contents"])
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, mode=0o755, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".cidata-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)   # QEMU runs as its own user and only reads it
        os.replace(tmp, path)
    except OSError as exc:
        raise AgentFailure(500, "STORAGE_IO_ERROR", f"cannot write the config drive {path}: {exc.strerror}",
                           {"path": path}) from None
    return {"path": path, "size": len(data)}


def create_sim(backend, host_uuid, spec):
    disk = backend._disk(host_uuid, spec["path"])   # a shared storage's when the path is on one
    size = 67584   # what pycdlib writes for two or three small files
    disk.files[spec["path"]] = {"size": size, "actual_size": size, "format": "raw", "backing_file": None,
                                "config_drive": {k: v.decode() for k, v in spec["contents"].items()}}
    return {"path": spec["path"], "size": size}


route("/v1/vm/config-drive", validate, libvirt=create_libvirt, sim=create_sim)
