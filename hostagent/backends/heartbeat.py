"""The storage heartbeat HA relies on (the portal's apps/compute/ha.py).

``/v1/ha/heartbeat/start`` {"dirs": [shared primary storage directories], "interval": seconds}: a
thread of this agent writes ``<dir>/heartbeat/<host_uuid>`` every ``interval`` seconds, for as long
as the agent lives (a second start replaces the directories and interval). ``/v1/ha/heartbeat/read``
{"dir", "host_uuid"}: the age in seconds of *another* host's heartbeat file as this host sees it on
the same storage, or null when there is none. The heartbeat lives in the agent on purpose: an agent
that is gone stops it, and a host cut from the storage cannot write it.

The simulator has no files: a simulated host's heartbeat is fresh while the host exists, and stale
(a very old age) while a fault is injected for it on the path ``/v1/ha/heartbeat``.
"""
import os
import re
import threading
import time

from ..errors import invalid_request
from . import routes

UUID = re.compile(r"^[0-9a-fA-F-]{32,36}$")
STALE_AGE = 1e9   # the simulator's age of a stopped heartbeat


def _dir(value, field="dir"):
    if not isinstance(value, str) or not value.startswith("/") or "\x00" in value or ".." in value.split("/"):
        raise invalid_request(f"{field} must be an absolute directory path", field=field)
    return value.rstrip("/") or "/"


def validate_start(body):
    dirs = body.get("dirs")
    interval = body.get("interval", 5)
    if not isinstance(dirs, list) or len(dirs) > 64:
        raise invalid_request("dirs must be a list of directories", field="dirs")
    if not isinstance(interval, (int, float)) or not 1 <= interval <= 3600:
        raise invalid_request("interval must be seconds from 1 to 3600", field="interval")
    return {"dirs": [_dir(d, "dirs") for d in dirs], "interval": float(interval)}


def validate_read(body):
    host_uuid = body.get("host_uuid")
    if not isinstance(host_uuid, str) or not UUID.match(host_uuid):
        raise invalid_request("host_uuid must be a host's uuid", field="host_uuid")
    return {"dir": _dir(body.get("dir")), "host_uuid": host_uuid}


def heartbeat_path(directory, host_uuid):
    return os.path.join(directory, "heartbeat", host_uuid)


class Heartbeat(threading.Thread):
    """Writes this host's heartbeat files; one per agent (libvirt backend: one host per agent)."""

    def __init__(self, host_uuid, dirs, interval):
        super().__init__(name="hostagent-heartbeat", daemon=True)
        self.host_uuid, self.dirs, self.interval = host_uuid, dirs, interval
        self.stopped = threading.Event()
        self.errors = {}

    def beat(self):
        for directory in list(self.dirs):
            path = heartbeat_path(directory, self.host_uuid)
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as handle:
                    handle.write(f"{time.time():.3f}\n")
                self.errors.pop(directory, None)
            except OSError as exc:   # storage gone: the heartbeat goes stale there, as it should
                self.errors[directory] = str(exc)

    def run(self):
        while not self.stopped.is_set():
            self.beat()
            self.stopped.wait(self.interval)


_LOCK = threading.Lock()


def start_libvirt(backend, host_uuid, spec):
    with _LOCK:
        current = getattr(backend, "heartbeat", None)
        if current is not None and current.is_alive() and current.host_uuid == host_uuid:
            current.dirs, current.interval = spec["dirs"], spec["interval"]
            current.beat()
        else:
            if current is not None:
                current.stopped.set()
            current = Heartbeat(host_uuid, spec["dirs"], spec["interval"])
            current.beat()
            current.start()
            backend.heartbeat = current
    return {"dirs": current.dirs, "interval": current.interval, "errors": dict(current.errors)}


def read_libvirt(backend, host_uuid, spec):
    try:
        mtime = os.stat(heartbeat_path(spec["dir"], spec["host_uuid"])).st_mtime
    except FileNotFoundError:
        return {"age": None}
    except OSError as exc:
        raise invalid_request(f"cannot read the heartbeat: {exc.strerror}", dir=spec["dir"]) from None
    return {"age": max(0.0, time.time() - mtime)}


def start_sim(backend, host_uuid, spec):
    return {"dirs": spec["dirs"], "interval": spec["interval"], "errors": {}}


def read_sim(backend, host_uuid, spec):
    other = spec["host_uuid"]
    if any(f.host_uuid == other and f.path == "/v1/ha/heartbeat" for f in backend.faults):
        return {"age": STALE_AGE}
    return {"age": 0.0 if other in backend.hosts else None}


routes.route("/v1/ha/heartbeat/start", validate_start, libvirt=start_libvirt, sim=start_sim)
routes.route("/v1/ha/heartbeat/read", validate_read, libvirt=read_libvirt, sim=read_sim, read=True)
