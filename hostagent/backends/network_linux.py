"""Bridges and distributed DHCP on a real Linux host (the libvirt backend).

What this creates on the host (and removes again):

- ``br_<if>``: a Linux bridge with the physical interface ``<if>`` as its port. IPv4 addresses and
  routes of the interface move to the bridge (so a NoVlan L2 on the management NIC keeps the host
  reachable), and move back when the bridge is deleted.
- per L3 network with DHCP: a network namespace ``cpdhcp-<l3 uuid>``, a veth pair
  ``cpdo<10 hex>`` (port of the bridge) / ``cpdi<10 hex>`` (in the namespace, holding the DHCP
  server's address), and one dnsmasq daemon running in the namespace with its files in
  ``<state_dir>/dhcp/<l3 uuid>/`` (dnsmasq.conf, hosts, opts, leases, dnsmasq.pid, dnsmasq.log,
  state.json). dnsmasq answers only MACs listed in ``hosts`` (static leases); new entries are
  loaded with SIGHUP. A released MAC's lease (or one holding an address now given to another MAC)
  is dropped from ``leases`` with dnsmasq stopped, which then starts again.

Bridges the agent created are recorded in ``<state_dir>/bridges.json``: ``/v1/network/cleanup`` (a
host leaving the portal) deletes those and every DHCP server, and keeps bridges that were there
before the portal asked for them.

Every operation is idempotent ("ensure"): it looks at what exists and does only what is missing.
Commands are ``ip`` (iproute2) and ``dnsmasq`` run with subprocess; one lock serialises them.
"""
import json
import logging
import os
import shutil
import signal
import subprocess
import threading
import time

from ..errors import AgentFailure
from .network_base import dhcp_names, entries_list

log = logging.getLogger("hostagent.network")

DEFAULT_STATE_DIR = "/var/lib/cloudportal-agent"
_lock = threading.RLock()


def _run(cmd, check=True, timeout=30):
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise AgentFailure(500, "NETWORK_COMMAND_FAILED", f"{cmd[0]} is not installed on this host",
                           {"command": cmd}) from None
    except subprocess.TimeoutExpired:
        raise AgentFailure(500, "NETWORK_COMMAND_FAILED", f"{' '.join(cmd)} did not finish in {timeout}s",
                           {"command": cmd}) from None
    if check and proc.returncode != 0:
        raise AgentFailure(500, "NETWORK_COMMAND_FAILED",
                           f"{' '.join(cmd)} failed: {(proc.stderr or proc.stdout).strip()}",
                           {"command": cmd, "returncode": proc.returncode})
    return proc


def _ip(*args, ns=None, check=True):
    return _run(["ip", *(["-n", ns] if ns else []), *args], check=check)


def _json(*args, ns=None):
    proc = _ip("-j", *args, ns=ns, check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        return []
    return json.loads(proc.stdout)


def _link(name, ns=None):
    found = _json("-d", "link", "show", "dev", name, ns=ns)
    return found[0] if found else None


def _netns_exists(ns):
    return os.path.exists(f"/run/netns/{ns}")


def _addresses(dev):
    """Global IPv4 addresses of ``dev`` as "a.b.c.d/len"."""
    out = []
    for link in _json("-4", "addr", "show", "dev", dev):
        for info in link.get("addr_info", []):
            if info.get("family") == "inet" and info.get("scope") == "global":
                out.append(f"{info['local']}/{info['prefixlen']}")
    return out


def _routes(dev):
    """IPv4 routes through ``dev`` that the kernel does not make by itself (default route, ...)."""
    return [r for r in _json("-4", "route", "show", "dev", dev) if r.get("protocol") != "kernel"]


def _move_ip(src, dst):
    """Move IPv4 addresses and routes from ``src`` to ``dst``; returns the moved addresses."""
    addresses, routes = _addresses(src), _routes(src)
    for cidr in addresses:
        _ip("addr", "replace", cidr, "dev", dst)
        _ip("addr", "del", cidr, "dev", src, check=False)
    for route in routes:
        cmd = ["route", "replace", route["dst"]]
        if route.get("gateway"):
            cmd += ["via", route["gateway"]]
        cmd += ["dev", dst]
        if route.get("metric") is not None:
            cmd += ["metric", str(route["metric"])]
        _ip(*cmd, check=False)
    return addresses


def _pid_alive(pid_file, needle):
    try:
        with open(pid_file, encoding="utf-8") as fh:
            pid = int(fh.read().strip())
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, ValueError):
        return None
    return pid if "dnsmasq" in cmdline and needle in cmdline else None


def _running(pid):
    """Whether ``pid`` runs: a daemon's exit is final before its reaper (init) collects it."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as fh:
            if fh.read() == text:
                return False
    except OSError:
        pass
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return True


def read_leases(path):
    """dnsmasq's lease file: ``expiry mac ip hostname client-id`` per line."""
    leases = []
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 3:
                    leases.append({"expiry": int(parts[0]), "mac": parts[1].lower(), "ip": parts[2],
                                   "hostname": parts[3] if len(parts) > 3 and parts[3] != "*" else None})
    except OSError:
        pass
    return leases


class LinuxNetworkMixin:
    # --- helpers -------------------------------------------------------------------
    def _state_dir(self):
        return self.config.get("state_dir") or DEFAULT_STATE_DIR

    def _dhcp_dir(self, l3_uuid=None):
        root = os.path.join(self._state_dir(), "dhcp")
        return os.path.join(root, l3_uuid) if l3_uuid else root

    def _created_bridges(self):
        try:
            with open(os.path.join(self._state_dir(), "bridges.json"), encoding="utf-8") as fh:
                return sorted(json.load(fh).get("created", []))
        except (OSError, ValueError, AttributeError):
            return []

    def _record_bridge(self, bridge, created):
        """Remember (or forget) that this agent created ``bridge``: a cleanup removes only those."""
        bridges = set(self._created_bridges())
        if (bridge in bridges) == created:
            return
        (bridges.add if created else bridges.discard)(bridge)
        path = os.path.join(self._state_dir(), "bridges.json")
        if not bridges:
            try:
                os.remove(path)
            except FileNotFoundError:
                pass
            return
        os.makedirs(self._state_dir(), mode=0o755, exist_ok=True)
        _write_if_changed(path, json.dumps({"created": sorted(bridges)}))

    def _load_dhcp_state(self, l3_uuid):
        try:
            with open(os.path.join(self._dhcp_dir(l3_uuid), "state.json"), encoding="utf-8") as fh:
                return json.load(fh)
        except (OSError, ValueError):
            return None

    def _dhcp_l3s(self):
        root = self._dhcp_dir()
        return sorted(os.listdir(root)) if os.path.isdir(root) else []

    # --- bridges ---------------------------------------------------------------------
    def bridge_ensure(self, host_uuid, spec):
        bridge, iface = spec["bridge"], spec["physical_interface"]
        with _lock:
            port = _link(iface)
            if port is None:
                raise AgentFailure(404, "INTERFACE_NOT_FOUND", f"this host has no interface {iface}",
                                   {"physical_interface": iface})
            existing = _link(bridge)
            if existing is not None and existing.get("linkinfo", {}).get("info_kind") != "bridge":
                raise AgentFailure(409, "BRIDGE_NAME_TAKEN", f"{bridge} exists and is not a bridge", {"bridge": bridge})
            master = port.get("master")
            if master and master != bridge:
                raise AgentFailure(409, "INTERFACE_IN_USE", f"{iface} is already a port of {master}",
                                   {"physical_interface": iface, "bridge": master})
            created = existing is None
            if created:
                _ip("link", "add", "name", bridge, "type", "bridge")
                self._record_bridge(bridge, True)
                log.info("created bridge %s", bridge)
            moved = []
            if master != bridge:
                _ip("link", "set", "dev", iface, "master", bridge)
                _ip("link", "set", "dev", bridge, "up")
                moved = _move_ip(iface, bridge)
                log.info("enslaved %s to %s (moved addresses: %s)", iface, bridge, moved or "none")
            _ip("link", "set", "dev", iface, "up")
            _ip("link", "set", "dev", bridge, "up")
        return {"bridge": bridge, "physical_interface": iface, "created": created, "moved_addresses": moved}

    def bridge_delete(self, host_uuid, spec):
        bridge = spec["bridge"]
        with _lock:
            dhcp_deleted = []
            for l3 in self._dhcp_l3s():
                state = self._load_dhcp_state(l3)
                if state and state.get("bridge") == bridge:
                    self._dhcp_teardown(l3)
                    dhcp_deleted.append(l3)
            existing = _link(bridge)
            self._record_bridge(bridge, False)
            if existing is None or existing.get("linkinfo", {}).get("info_kind") != "bridge":
                return {"bridge": bridge, "deleted": False, "dhcp_deleted": dhcp_deleted}
            ports = [p["ifname"] for p in _json("link", "show", "master", bridge)]
            iface = spec["physical_interface"] or next((p for p in ports if not p.startswith("cpdo")), None)
            if iface and iface in ports:
                _ip("link", "set", "dev", iface, "nomaster")
                _move_ip(bridge, iface)
            _ip("link", "del", "dev", bridge)
            log.info("deleted bridge %s", bridge)
        return {"bridge": bridge, "deleted": True, "dhcp_deleted": dhcp_deleted}

    def network_cleanup(self, host_uuid, spec):
        """The host leaves the portal: every DHCP server (dnsmasq, namespace, veth, files) and every
        bridge this agent created go (addresses back on their interface); bridges it found already
        there stay and are listed in ``bridges_left``."""
        with _lock:
            dhcp_deleted = [l3 for l3 in self._dhcp_l3s() if self._dhcp_teardown(l3)]
            bridges_deleted = []
            for bridge in self._created_bridges():
                if self.bridge_delete(host_uuid, {"bridge": bridge, "physical_interface": None})["deleted"]:
                    bridges_deleted.append(bridge)
            left = [link["ifname"] for link in _json("-d", "link", "show", "type", "bridge")
                    if link["ifname"].startswith("br_")]
            for directory in (self._dhcp_dir(), self._state_dir()):
                try:
                    os.rmdir(directory)   # only when nothing else is kept there
                except OSError:
                    pass
        log.info("network cleanup: DHCP of %s and bridges %s deleted", dhcp_deleted or "none", bridges_deleted or "none")
        return {"dhcp_deleted": dhcp_deleted, "bridges_deleted": bridges_deleted, "bridges_left": left}

    def network_state(self, host_uuid, spec):
        with _lock:
            bridges = {}
            for link in _json("-d", "link", "show", "type", "bridge"):
                name = link["ifname"]
                if name.startswith("br_"):
                    bridges[name] = {"ports": [p["ifname"] for p in _json("link", "show", "master", name)],
                                     "addresses": _addresses(name)}
            dhcp = {}
            for l3 in self._dhcp_l3s():
                state = self._load_dhcp_state(l3)
                if state is None:
                    continue
                directory = self._dhcp_dir(l3)
                pid = _pid_alive(os.path.join(directory, "dnsmasq.pid"), directory)
                dhcp[l3] = {**{k: v for k, v in state.items() if k != "entries"},
                            "entries": entries_list(state["entries"]), "running": pid is not None, "pid": pid,
                            "leases": read_leases(os.path.join(directory, "leases"))}
        return {"bridges": bridges, "dhcp": dhcp}

    # --- DHCP ---------------------------------------------------------------------------
    def dhcp_apply(self, host_uuid, spec):
        l3, bridge = spec["l3_uuid"], spec["bridge"]
        ns, outer, inner = dhcp_names(l3)
        if spec.get("physical_interface"):
            self.bridge_ensure(host_uuid, {"bridge": bridge, "physical_interface": spec["physical_interface"]})
        with _lock:
            bridge_link = _link(bridge)
            if bridge_link is None:
                raise AgentFailure(409, "BRIDGE_NOT_FOUND", f"bridge {bridge} does not exist on this host "
                                   "(ensure it first: /v1/network/bridge/ensure)", {"bridge": bridge})
            directory = self._dhcp_dir(l3)
            os.makedirs(directory, mode=0o755, exist_ok=True)
            state = self._load_dhcp_state(l3) or {"entries": {}}
            self._plumb(ns, outer, inner, bridge, f"{spec['server_ip']}/{spec['prefix_len']}")

            entries = state["entries"]
            for entry in spec["entries"]:
                for mac in [m for m, e in entries.items() if e["ip"] == entry["ip"]]:
                    del entries[mac]  # an IP belongs to one MAC
                entries[entry["mac"]] = entry
            owner = {e["ip"]: e["mac"] for e in spec["entries"]}
            stale = {lease["mac"] for lease in read_leases(os.path.join(directory, "leases"))
                     if owner.get(lease["ip"], lease["mac"]) != lease["mac"]}
            state.update({k: spec[k] for k in ("bridge", "server_ip", "netmask", "gateway", "dns", "lease_time")},
                         namespace=ns, entries=entries)

            conf_changed = _write_if_changed(os.path.join(directory, "dnsmasq.conf"),
                                             self._dnsmasq_conf(directory, inner, spec))
            data_changed = self._write_dhcp_files(directory, state)
            pid = _pid_alive(os.path.join(directory, "dnsmasq.pid"), directory)
            if pid is not None and (conf_changed or stale):
                self._stop_dnsmasq(pid)
                pid = None
            self._drop_leases(directory, stale)
            if pid is None:
                pid = self._start_dnsmasq(l3, ns, directory)
            elif data_changed:
                os.kill(pid, signal.SIGHUP)
            with open(os.path.join(directory, "state.json"), "w", encoding="utf-8") as fh:
                json.dump(state, fh)
        return {"l3_uuid": l3, "namespace": ns, "server_ip": spec["server_ip"], "entries": len(entries), "pid": pid}

    def dhcp_release(self, host_uuid, spec):
        l3 = spec["l3_uuid"]
        with _lock:
            state = self._load_dhcp_state(l3)
            if state is None:
                return {"l3_uuid": l3, "released": 0}
            released = 0
            for mac in spec["macs"]:
                released += state["entries"].pop(mac, None) is not None
            directory = self._dhcp_dir(l3)
            changed = self._write_dhcp_files(directory, state)
            pid = _pid_alive(os.path.join(directory, "dnsmasq.pid"), directory)
            stale = {lease["mac"] for lease in read_leases(os.path.join(directory, "leases"))} & set(spec["macs"])
            if stale:
                # dnsmasq keeps a lease until it expires, hosts file or not, and meanwhile refuses
                # the address to any other MAC (the VM's next owner here): it forgets a lease only
                # when its lease file no longer has it as it starts
                if pid is not None:
                    self._stop_dnsmasq(pid)
                self._drop_leases(directory, stale)
                if pid is not None:
                    self._start_dnsmasq(l3, state.get("namespace") or dhcp_names(l3)[0], directory)
            elif changed and pid is not None:
                os.kill(pid, signal.SIGHUP)
            with open(os.path.join(directory, "state.json"), "w", encoding="utf-8") as fh:
                json.dump(state, fh)
        return {"l3_uuid": l3, "released": released}

    def dhcp_delete(self, host_uuid, spec):
        with _lock:
            deleted = self._dhcp_teardown(spec["l3_uuid"])
        return {"l3_uuid": spec["l3_uuid"], "deleted": deleted}

    # --- DHCP internals --------------------------------------------------------------------
    def _plumb(self, ns, outer, inner, bridge, cidr):
        """Namespace, veth pair (outer end a port of the bridge), the server's address inside."""
        if not _netns_exists(ns):
            _ip("netns", "add", ns)
        _ip("link", "set", "dev", "lo", "up", ns=ns)
        if _link(outer) is None or _link(inner, ns=ns) is None:
            _ip("link", "del", "dev", outer, check=False)
            _ip("link", "del", "dev", inner, ns=ns, check=False)
            _ip("link", "add", outer, "type", "veth", "peer", "name", inner, "netns", ns)
        if (_link(outer) or {}).get("master") != bridge:
            _ip("link", "set", "dev", outer, "master", bridge)
        _ip("link", "set", "dev", outer, "up")
        current = []
        for link in _json("-4", "addr", "show", "dev", inner, ns=ns):
            current += [f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", [])]
        if current != [cidr]:
            _ip("addr", "flush", "dev", inner, ns=ns)
            _ip("addr", "add", cidr, "dev", inner, ns=ns)
        _ip("link", "set", "dev", inner, "up", ns=ns)

    @staticmethod
    def _dnsmasq_conf(directory, inner, spec):
        return "\n".join([
            "# written by the CloudPortal host agent; do not edit",
            f"interface={inner}",
            "bind-interfaces",
            "except-interface=lo",
            "port=0",                      # DHCP only, no DNS
            "no-resolv",
            "no-hosts",
            "user=root",
            "dhcp-authoritative",
            f"dhcp-range={spec['network']},static,{spec['netmask']},{spec['lease_time']}",
            "dhcp-ignore=tag:!known",      # answer only the MACs in the hosts file
            f"dhcp-hostsfile={directory}/hosts",
            f"dhcp-optsfile={directory}/opts",
            f"dhcp-leasefile={directory}/leases",
            f"pid-file={directory}/dnsmasq.pid",
            f"log-facility={directory}/dnsmasq.log",
            "log-dhcp",
            "",
        ])

    @staticmethod
    def _write_dhcp_files(directory, state):
        hosts = "".join(f"{e['mac']},{e['ip']}" + (f",{e['hostname']}" if e.get("hostname") else "") + "\n"
                        for e in entries_list(state["entries"]))
        opts = [f"option:router,{state['gateway']}" if state.get("gateway") else "option:router",
                "option:dns-server," + ",".join(state["dns"]) if state.get("dns") else "option:dns-server"]
        changed = _write_if_changed(os.path.join(directory, "hosts"), hosts)
        return _write_if_changed(os.path.join(directory, "opts"), "\n".join(opts) + "\n") or changed

    def _start_dnsmasq(self, l3, ns, directory):
        _run(["ip", "netns", "exec", ns, "dnsmasq", f"--conf-file={directory}/dnsmasq.conf"])
        pid = self._wait_pid(os.path.join(directory, "dnsmasq.pid"), directory)
        log.info("dnsmasq for L3 %s running in %s (pid %s)", l3, ns, pid)
        return pid

    @staticmethod
    def _drop_leases(directory, macs):
        """Remove the leases of ``macs`` from the lease file (dnsmasq not running: it rewrites it)."""
        if not macs:
            return
        path = os.path.join(directory, "leases")
        try:
            with open(path, encoding="utf-8") as fh:
                lines = fh.readlines()
        except OSError:
            return
        kept = [line for line in lines if len(line.split()) < 2 or line.split()[1].lower() not in macs]
        _write_if_changed(path, "".join(kept))
        log.info("dropped the DHCP leases of %s", ", ".join(sorted(macs)))

    @staticmethod
    def _wait_pid(pid_file, directory, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = _pid_alive(pid_file, directory)
            if pid is not None:
                return pid
            time.sleep(0.05)
        raise AgentFailure(500, "DHCP_START_FAILED", f"dnsmasq did not start (see {directory}/dnsmasq.log)")

    @staticmethod
    def _stop_dnsmasq(pid):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if not _running(pid):
                return
            time.sleep(0.02)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _dhcp_teardown(self, l3):
        ns, outer, inner = dhcp_names(l3)
        directory = self._dhcp_dir(l3)
        existed = os.path.isdir(directory) or _netns_exists(ns) or _link(outer) is not None
        pid = _pid_alive(os.path.join(directory, "dnsmasq.pid"), directory)
        if pid is not None:
            self._stop_dnsmasq(pid)
        if _netns_exists(ns):
            # whatever else runs in the namespace (a dnsmasq whose pid file is gone) would outlive it
            for other in _ip("netns", "pids", ns, check=False).stdout.split():
                self._stop_dnsmasq(int(other))
        _ip("link", "del", "dev", outer, check=False)
        if _netns_exists(ns):
            _ip("netns", "del", ns, check=False)
        shutil.rmtree(directory, ignore_errors=True)
        if existed:
            log.info("deleted DHCP of L3 %s (namespace %s)", l3, ns)
        return existed
