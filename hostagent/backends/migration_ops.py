"""Migration paths (docs/agent-protocol.md, "Migration").

``/v1/vm/migrate``: live migration of a running (or paused) domain to another host's libvirtd,
sent to the source host's agent. libvirt's flags LIVE | PERSIST_DEST | UNDEFINE_SOURCE: the
domain ends up defined and running on the destination only. The agent opens the destination's
libvirtd itself (``dest_uri``, what that host reports as ``libvirt_remote_uri``) and QEMU streams
memory over ``tcp://<dest_address>``. A migration that takes longer than ``timeout`` is aborted
(the domain keeps running on the source) and answered 504 MIGRATION_TIMEOUT. The answer carries
``migration_time``, the seconds spent in libvirt's migrate call, so the portal can tell its own
overhead from libvirt's.

``/v1/volume/export`` and ``GET /files/<host_uuid>``: a cold migration copies a stopped VM's
volume files from host to host. The source answers a file's size and sha256 (export); the portal
makes a URL with a token (hostagent.file_tokens) that the destination downloads through its
ordinary image cache path (``/v1/image/cache``), which checks the hash and renames into place.

The simulator moves the VM between two of its hosts (both must be served by the same sim agent).
"""
import hashlib
import logging
import os
import threading
import time
import xml.etree.ElementTree as ET

from ..errors import AgentFailure, invalid_request, invalid_state, vm_not_found
from . import routes
from .base import UUID_RE, require_vm_uuid

log = logging.getLogger("hostagent.migration")

DEFAULT_TIMEOUT = 600
ABORT_WAIT = 60       # seconds to wait for an aborted migration to give the domain back
CHUNK = 1 << 20


def validate_migrate(body):
    spec = {"vm_uuid": require_vm_uuid(body)}
    dest_host_uuid = body.get("dest_host_uuid")
    if not isinstance(dest_host_uuid, str) or not UUID_RE.match(dest_host_uuid):
        raise invalid_request("dest_host_uuid must be a UUID string", field="dest_host_uuid")
    spec["dest_host_uuid"] = dest_host_uuid.lower()
    for field in ("dest_uri", "dest_address"):
        value = body.get(field)
        if value is not None and (not isinstance(value, str) or not value or len(value) > 500):
            raise invalid_request(f"{field} must be a non-empty string", field=field)
        spec[field] = value
    vnc_listen = body.get("vnc_listen")
    if vnc_listen is not None and (not isinstance(vnc_listen, str) or not vnc_listen or len(vnc_listen) > 255):
        raise invalid_request("vnc_listen must be an address", field="vnc_listen")
    spec["vnc_listen"] = vnc_listen
    timeout = body.get("timeout", DEFAULT_TIMEOUT)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= 86400:
        raise invalid_request("timeout must be a number of seconds (0 < timeout <= 86400)", field="timeout")
    spec["timeout"] = float(timeout)
    return spec


def validate_export(body):
    path = body.get("path")
    if not isinstance(path, str) or not path.startswith("/") or "\0" in path or os.path.normpath(path) != path:
        raise invalid_request("path must be a normalised absolute path", field="path")
    return {"path": path}


# --- libvirt ----------------------------------------------------------------------------------
def caused_by_migration(event, detail):
    """Lifecycle events a migration makes on either host (suspended/stopped on the source,
    started/resumed on the destination): the migration's answer tells the portal, not them."""
    import libvirt

    return (event, detail) in {
        (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED),
        (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_MIGRATED),
        (libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_MIGRATED),
        (libvirt.VIR_DOMAIN_EVENT_RESUMED, libvirt.VIR_DOMAIN_EVENT_RESUMED_MIGRATED),
        (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_FAILED),
    }


def _dest_xml(dom, vnc_listen):
    """The domain's migratable XML with its VNC server listening on the destination's address."""
    import libvirt

    root = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE | libvirt.VIR_DOMAIN_XML_SECURE))
    for graphics in root.findall("./devices/graphics[@type='vnc']"):
        graphics.set("listen", vnc_listen)
        for listen in graphics.findall("listen"):
            listen.set("address", vnc_listen)
    return ET.tostring(root, encoding="unicode")


def _answer(backend, vm_uuid, dom, migration_time):
    return {"vm_uuid": vm_uuid, "state": backend._state(dom), "migration_time": round(migration_time, 3),
            "vnc_port": backend._vnc_port(dom)}


def libvirt_migrate(backend, host_uuid, spec):
    import libvirt

    vm_uuid = spec["vm_uuid"]
    if not spec["dest_uri"] or not spec["dest_address"]:
        raise invalid_request("a live migration needs dest_uri and dest_address", field="dest_uri")
    try:
        dconn = libvirt.open(spec["dest_uri"])
    except libvirt.libvirtError as exc:
        raise AgentFailure(503, "DEST_LIBVIRT_UNREACHABLE",
                           f"cannot reach the destination's libvirtd: {exc.get_error_message()}",
                           {"dest_host_uuid": spec["dest_host_uuid"]}) from None
    try:
        try:
            dom = backend.conn().lookupByUUIDString(vm_uuid)
        except libvirt.libvirtError:
            # gone from here: a retry of a migration that completed answers as it did
            try:
                moved = dconn.lookupByUUIDString(vm_uuid)
            except libvirt.libvirtError:
                raise vm_not_found(vm_uuid) from None
            return _answer(backend, vm_uuid, moved, 0.0)
        state = backend._state(dom)
        if state == "Stopped":
            raise invalid_state(vm_uuid, state, "live-migrate")
        params = {libvirt.VIR_MIGRATE_PARAM_URI: f"tcp://{spec['dest_address']}"}
        if spec["vnc_listen"]:
            params[libvirt.VIR_MIGRATE_PARAM_DEST_XML] = _dest_xml(dom, spec["vnc_listen"])
        # UNSAFE: the portal migrates live only when every disk is on storage it knows both hosts
        # share; libvirt cannot tell a SharedMountPoint from a local directory and would refuse
        flags = (libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
                 | libvirt.VIR_MIGRATE_UNSAFE)
        backend._expect(vm_uuid, "Stopped", spec["timeout"] + backend.SUPPRESS_SECONDS)
        outcome = {}

        def migrate():
            try:
                outcome["dom"] = dom.migrate3(dconn, params, flags)
            except libvirt.libvirtError as exc:
                outcome["error"] = exc

        worker = threading.Thread(target=migrate, name=f"migrate-{vm_uuid[:8]}", daemon=True)
        started = time.monotonic()
        worker.start()
        worker.join(spec["timeout"])
        elapsed = time.monotonic() - started
        if worker.is_alive():
            log.warning("migration of %s took more than %.0fs: aborting it", vm_uuid, spec["timeout"])
            try:
                dom.abortJob()
            except libvirt.libvirtError as exc:
                log.warning("aborting the migration of %s: %s", vm_uuid, exc)
            worker.join(ABORT_WAIT)
            if "dom" not in outcome:
                raise AgentFailure(504, "MIGRATION_TIMEOUT",
                                   f"the migration of VM {vm_uuid} took more than {spec['timeout']:g}s and was "
                                   "aborted; the VM stays on this host", {"vm_uuid": vm_uuid})
        if "error" in outcome:
            exc = outcome["error"]
            raise AgentFailure(500, "MIGRATION_FAILED", f"libvirt could not migrate VM {vm_uuid}: "
                               f"{exc.get_error_message()}", {"vm_uuid": vm_uuid,
                                                              "libvirt_code": exc.get_error_code()})
        log.info("VM %s migrated to %s in %.2fs", vm_uuid, spec["dest_address"], elapsed)
        return _answer(backend, vm_uuid, outcome["dom"], elapsed)
    finally:
        try:
            dconn.close()
        except libvirt.libvirtError:
            pass


def libvirt_export(backend, host_uuid, spec):
    path = spec["path"]
    if not os.path.isfile(path):
        raise AgentFailure(404, "VOLUME_NOT_FOUND", f"no volume {path} on this host", {"path": path})
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(CHUNK)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
    return {"path": path, "size": size, "sha256": digest.hexdigest()}


def files_handler(server):
    """``GET /files/<host_uuid>?path=&expires=&token=``: the file's bytes, for a token the portal
    made with this host's secret (hostagent.file_tokens)."""
    from aiohttp import web

    from .. import file_tokens

    async def handle(request):
        host_uuid = request.match_info["host_uuid"]
        path = request.query.get("path", "")
        secret = server.backend.secret_for(host_uuid)
        if not secret or not file_tokens.check(secret, host_uuid, path, request.query.get("expires"),
                                               request.query.get("token")):
            return web.json_response({"code": "BAD_FILE_TOKEN", "message": "the file token is wrong or expired",
                                      "details": {}}, status=401)
        if server.backend.name != "libvirt" or not os.path.isfile(path):
            return web.json_response({"code": "VOLUME_NOT_FOUND", "message": f"no file {path} on this host",
                                      "details": {"path": path}}, status=404)
        return web.FileResponse(path, headers={"Content-Type": "application/octet-stream"})
    return handle


# --- sim ----------------------------------------------------------------------------------------
def sim_migrate(backend, host_uuid, spec):
    vm_uuid = spec["vm_uuid"]
    source = backend._host(host_uuid)
    dest = backend.hosts.get(spec["dest_host_uuid"])
    if dest is None:
        raise AgentFailure(503, "DEST_LIBVIRT_UNREACHABLE", "the destination host is not served by this simulator",
                           {"dest_host_uuid": spec["dest_host_uuid"]})
    vm = source.vms.get(vm_uuid)
    if vm is None:
        if vm_uuid in dest.vms:   # a retry of a migration that completed
            moved = dest.vms[vm_uuid]
            return {"vm_uuid": vm_uuid, "state": moved["state"], "migration_time": 0.0, "vnc_port": moved["vnc_port"]}
        raise vm_not_found(vm_uuid)
    if vm["state"] == "Stopped":
        raise invalid_state(vm_uuid, vm["state"], "live-migrate")
    del source.vms[vm_uuid]
    vm["vnc_port"] = next(backend._vnc_ports) if vm.get("vnc", True) else None
    dest.vms[vm_uuid] = vm
    return {"vm_uuid": vm_uuid, "state": vm["state"], "migration_time": 0.0, "vnc_port": vm["vnc_port"]}


def sim_export(backend, host_uuid, spec):
    entry = backend._disk(host_uuid).files.get(spec["path"])
    if entry is None:
        raise AgentFailure(404, "VOLUME_NOT_FOUND", f"no volume {spec['path']} on this host", {"path": spec["path"]})
    # nothing is stored: a hash of what the simulator knows of the file stands in for its bytes
    digest = hashlib.sha256(f"{spec['path']}:{entry['actual_size']}".encode()).hexdigest()
    return {"path": spec["path"], "size": entry["actual_size"], "sha256": digest}


routes.route("/v1/vm/migrate", validate_migrate, libvirt=libvirt_migrate, sim=sim_migrate)
routes.route("/v1/volume/export", validate_export, libvirt=libvirt_export, sim=sim_export)
routes.http_route("GET", "/files/{host_uuid}", files_handler)
