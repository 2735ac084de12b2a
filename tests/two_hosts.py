"""Two real libvirt "hosts" on this one machine, for migration, maintenance and HA tests.

Each host is a mount namespace of its own (``unshare --mount --propagation private``) holding a
libvirtd and the host agent that drives it: private copies of /run/libvirt, /var/lib/libvirt,
/var/cache/libvirt (the QEMU capability cache comes along, so the first connection is quick),
/var/log/libvirt and /etc/libvirt are bind-mounted over the real ones. Both libvirtds listen on TCP
(the host's address, a port each, no auth) so one agent can migrate a domain to the other host's libvirtd,
and on a Unix socket under the fixture's directory that the test process reaches from outside.
The machine's own libvirtd (qemu:///system) is not touched.

Networks (``TwoHosts(networks=True)``, what the session fixture ``two_hosts`` makes): each host is
also a network namespace of its own, as two machines are. Its ``mgmt0`` is a veth to a bridge in
this machine's namespace (``host.address`` on a /24 of its own; the test process's end is
``TwoHosts.gateway``): the portal reaches the agent there, the other host's libvirtd and QEMU
migrate over it, and VNC listens there. Its ``phy0`` (``TwoHosts.l2_interface``) is one end of a
veth whose other end is the other host's ``phy0``: the physical L2 both hosts' bridges share, so
each host's agent runs its own bridge and DHCP server (dnsmasq in a namespace of its own) for an
L3, as on two machines. Each host has a private /run/netns for those DHCP namespaces. The agents
reach the portal's live server (on 127.0.0.1 here) through ``TwoHosts.portal_url``, a relay on
the gateway address. Without ``networks`` both hosts share this machine's namespace (127.0.0.1).

Storage the way two real hosts see it:
- ``shared_dir``: the same directory on both hosts (a SharedMountPoint for every test);
- ``local_dir``: one path, but each host sees its own directory there (``host.local_backing``
  from outside), as a LocalStorage path on two machines would be.

Use (the fixtures are declared in tests/conftest.py, so one pair serves the whole run)::

    def test_x(two_hosts):                 # session scope: the libvirtds and agents
        a, b = two_hosts.hosts             # LibvirtHost: .agent (AgentProcess, .client), .uri, .libvirt(),
                                           # .address (management IP)
        two_hosts.l2_interface             # an L2's physical_interface on both hosts
        settings.PORTAL_URL = two_hosts.portal_url(live_server.url)   # what the agents reach
    def test_y(two_kvm_hosts):             # function scope (db): a zone, a KVM cluster, two Host rows
        cluster, (host_a, host_b) = two_kvm_hosts.cluster, two_kvm_hosts.rows

``two_hosts`` skips the test where this cannot run (not root, no unshare/nsenter, no libvirtd or
libvirt-python). Domains a test makes are its own to remove (``TwoHosts.remove_domain``).
"""
import os
import random
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.hostagent.conftest import AgentProcess, free_port

ROOT = Path(__file__).resolve().parents[1]
BASE = Path("/var/tmp/cloudportal-tests")
PRIVATE = ("/run/libvirt", "/var/lib/libvirt", "/var/cache/libvirt", "/var/log/libvirt", "/etc/libvirt")
COPIED = ("/var/lib/libvirt", "/var/cache/libvirt", "/etc/libvirt")   # the others start empty
GIB = 1 << 30


def _set(text, key, value):
    """``key = value`` in a libvirt config file, replacing any line that sets it."""
    lines = [line for line in text.splitlines() if not line.strip().startswith(f"{key} ")
             and not line.strip().startswith(f"{key}=")]
    return "\n".join(lines + [f"{key} = {value}"]) + "\n"


def _runtime_files(directory, names):
    """What is the machine's own libvirtd's, not a fresh host's: its domains' directories, sockets
    and state files, and the domain, network and pool definitions (a host starts empty)."""
    skipped = []
    for name in names:
        path = os.path.join(directory, name)
        if os.path.isdir(path):
            if name.startswith("domain-"):
                skipped.append(name)
        elif not os.path.isfile(path) or directory.startswith("/var/lib/libvirt") or (
                name.endswith(".xml") and directory.startswith(("/etc/libvirt/qemu", "/etc/libvirt/storage"))):
            skipped.append(name)
    return skipped


class LibvirtHost:
    """One "host": a libvirtd under .ci/subreaper.py in a new mount namespace, then its agent,
    started inside that namespace with nsenter."""

    def __init__(self, name, base, local_dir, netns=None, address="127.0.0.1"):
        self.name = name
        self.dir = base / name
        self.local_dir = local_dir                      # what the host's processes see
        self.local_backing = base / f"local-{name}"     # where it really is (seen from outside)
        self.netns = netns                              # its network namespace (None: this machine's)
        self.address = address                          # its management address
        self.tcp_port = free_port()
        self.port_base = random.randrange(20000, 40000, 200)   # VNC: +0..99, migration: +100..199
        self.sock_dir = self.dir / "sock"
        self.uri = f"qemu+unix:///system?socket={self.sock_dir}/libvirt-sock"   # from the test process
        self.remote_uri = f"qemu+tcp://{address}:{self.tcp_port}/system"       # from the other host
        self.host_uuid = str(uuid.uuid4())
        self.secret = uuid.uuid4().hex
        self.proc = None
        self.agent = None

    # --- libvirtd -----------------------------------------------------------------------
    def _prepare(self):
        self.dir.mkdir(parents=True)
        self.sock_dir.mkdir()
        self.local_backing.mkdir(mode=0o755)
        for path in PRIVATE:
            private = self.dir / path.strip("/").replace("/", "_")
            if path in COPIED and os.path.isdir(path):
                shutil.copytree(path, private, symlinks=True, ignore=_runtime_files)
            else:
                private.mkdir()
        etc = self.dir / "etc_libvirt"
        conf = (etc / "libvirtd.conf").read_text() if (etc / "libvirtd.conf").exists() else ""
        for key, value in (("unix_sock_dir", f'"{self.sock_dir}"'), ("listen_tls", "0"), ("listen_tcp", "1"),
                           ("tcp_port", f'"{self.tcp_port}"'), ("listen_addr", f'"{self.address}"'),
                           ("auth_tcp", '"none"'), ("auth_unix_rw", '"none"')):
            conf = _set(conf, key, value)
        (etc / "libvirtd.conf").write_text(conf)
        qemu = (etc / "qemu.conf").read_text() if (etc / "qemu.conf").exists() else ""
        # stdio to files (no virtlogd of its own); no cgroups: two daemons would both name a
        # migrating domain's cgroup qemu-<id>-<name> and collide
        # ports of their own: the machine's libvirtd and the other host's pick VNC and migration
        # ports from the same defaults, and a port one checked free can be taken before QEMU binds it
        ports = self.port_base
        for key, value in (("stdio_handler", '"file"'), ("cgroup_controllers", "[ ]"),
                           ("remote_display_port_min", str(ports)), ("remote_display_port_max", str(ports + 99)),
                           ("migration_port_min", str(ports + 100)), ("migration_port_max", str(ports + 199))):
            qemu = _set(qemu, key, value)
        (etc / "qemu.conf").write_text(qemu)

    def start_libvirtd(self):
        self._prepare()
        mounts = [(str(self.dir / p.strip("/").replace("/", "_")), p) for p in PRIVATE]
        mounts.append((str(self.local_backing), str(self.local_dir)))
        prefix = []
        if self.netns:
            # ip netns exec mounts the namespace's own /sys (libvirt looks for bridges there); the
            # host's DHCP namespaces go in a /run/netns of its own
            (self.dir / "run_netns").mkdir()
            mounts.append((str(self.dir / "run_netns"), "/run/netns"))
            prefix = ["ip", "netns", "exec", self.netns]
        script = " && ".join(f'mount --bind "{src}" "{dst}"' for src, dst in mounts)
        self.log = open(self.dir / "libvirtd.log", "wb")
        self.proc = subprocess.Popen(
            [*prefix, "unshare", "--mount", "--propagation", "private", "sh", "-c",
             f'{script} && exec "$0" "$@"', sys.executable, str(ROOT / ".ci" / "subreaper.py"),
             "libvirtd", "--listen", "-f", "/etc/libvirt/libvirtd.conf", "--pid-file", str(self.dir / "libvirtd.pid")],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    def wait_libvirtd(self, timeout=60):
        import libvirt

        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"libvirtd of {self.name} exited:\n{(self.dir / 'libvirtd.log').read_text()}")
            try:
                socket.create_connection((self.address, self.tcp_port), timeout=0.5).close()
                conn = libvirt.open(self.uri)
                conn.getLibVersion()
                conn.close()
                return
            except (OSError, libvirt.libvirtError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"libvirtd of {self.name} did not answer within {timeout}s") from None
                time.sleep(0.1)

    def libvirt(self):
        """A libvirt connection to this host's libvirtd (the caller closes it)."""
        import libvirt

        return libvirt.open(self.uri)

    # --- agent ----------------------------------------------------------------------------
    def start_agent(self):
        from hostagent.client import AgentClient

        secret_file = self.dir / "secret"
        secret_file.write_text(self.secret + "\n")
        secret_file.chmod(0o600)
        agent = AgentProcess("--backend", "libvirt", "--host-uuid", self.host_uuid, "--secret-file",
                             str(secret_file), "--libvirt-uri", self.uri,
                             "--libvirt-remote-uri", self.remote_uri,
                             "--state-dir", str(self.dir / "agent-state"), startup_timeout=60,
                             address=self.address)
        # the agent runs in the host's mount namespace (and network namespace): its
        # qemu:///system is this libvirtd, it sees this host's local storage and networks
        agent.args = ["nsenter", f"--target={self.proc.pid}", "--mount", *(["--net"] if self.netns else []),
                      *agent.args]
        self.agent = agent.start()
        agent.client = AgentClient(agent.url, self.host_uuid, self.secret, timeout=120)
        agent.host_uuid, agent.secret = self.host_uuid, self.secret
        return agent

    def stop(self):
        if self.agent is not None:
            self.agent.stop()
        if self.proc is not None and self.proc.poll() is None:
            self._destroy_domains()
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()

    def _destroy_domains(self):
        """Whatever a failed test left running on this host (its QEMUs would outlive libvirtd)."""
        try:
            conn = self.libvirt()
        except Exception:  # noqa: BLE001 - the daemon is gone already
            return
        try:
            for dom in conn.listAllDomains(0):
                try:
                    if dom.isActive():
                        dom.destroy()
                    dom.undefine()
                except Exception:  # noqa: BLE001
                    pass
        finally:
            conn.close()


def _ip(*args, ns=None):
    subprocess.run(["ip", *(["-n", ns] if ns else []), *args], check=True, capture_output=True)


def _free_prefix():
    """"100.N.M" of a /24 no interface of this machine has an address in."""
    used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    while True:
        prefix = f"100.{random.randint(64, 127)}.{random.randint(0, 255)}"
        if prefix + "." not in used:
            return prefix


def _pids_with(*needles):
    """Pids of the processes whose command line has every one of ``needles``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    cmdline = fh.read().decode(errors="replace")
            except OSError:
                continue
            if all(needle in cmdline for needle in needles):
                found.append(int(entry))
    return found


class _Relay(socketserver.ThreadingTCPServer):
    """TCP from ``listen`` to ``target`` (host, port): the hosts reach the live server through it."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, listen, target):
        relay = self

        class Pipe(socketserver.BaseRequestHandler):
            def handle(self):
                try:
                    upstream = socket.create_connection(relay.target, timeout=30)
                except OSError:
                    return
                with upstream:
                    back = threading.Thread(target=_pump, args=(upstream, self.request), daemon=True)
                    back.start()
                    _pump(self.request, upstream)
                    back.join(60)

        self.target = target
        super().__init__(listen, Pipe)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def _pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class TwoHosts:
    L2_INTERFACE = "phy0"

    def __init__(self, networks=False):
        BASE.mkdir(parents=True, exist_ok=True)
        BASE.chmod(0o755)
        tag = uuid.uuid4().hex[:8]
        self.base = BASE / f"two-hosts-{tag}"
        self.base.mkdir(mode=0o755)
        self.shared_dir = self.base / "shared"
        self.shared_dir.mkdir(mode=0o755)
        self.local_dir = self.base / "local"
        self.local_dir.mkdir(mode=0o755)
        self.networks = networks
        self.tag = tag[:5]
        self.relays = {}
        if networks:
            prefix = _free_prefix()
            self.gateway, self.bridge = f"{prefix}.1", f"cpm{self.tag}"
            self.l2_interface = self.L2_INTERFACE
            self.hosts = [LibvirtHost(name, self.base, self.local_dir, netns=f"cp2h-{self.tag}-{name}",
                                      address=f"{prefix}.{2 + i}") for i, name in enumerate(("a", "b"))]
        else:
            self.gateway, self.bridge, self.l2_interface = "127.0.0.1", None, None
            self.hosts = [LibvirtHost(name, self.base, self.local_dir) for name in ("a", "b")]

    def _make_networks(self):
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for host in self.hosts:
            _ip("netns", "add", host.netns)
            _ip("link", "set", "lo", "up", ns=host.netns)
            outer = f"{self.bridge}{host.name}"
            _ip("link", "add", outer, "type", "veth", "peer", "name", "mgmt0", "netns", host.netns)
            _ip("link", "set", outer, "master", self.bridge, "up")
            _ip("addr", "add", f"{host.address}/24", "dev", "mgmt0", ns=host.netns)
            _ip("link", "set", "mgmt0", "up", ns=host.netns)
        # the shared physical L2: one veth, an end in each host, both named phy0 there
        _ip("link", "add", f"cpl{self.tag}a", "type", "veth", "peer", "name", f"cpl{self.tag}b")
        for host in self.hosts:
            _ip("link", "set", f"cpl{self.tag}{host.name}", "netns", host.netns)
            _ip("link", "set", f"cpl{self.tag}{host.name}", "name", self.l2_interface, ns=host.netns)
            _ip("link", "set", self.l2_interface, "up", ns=host.netns)

    def _remove_networks(self):
        for host in self.hosts:
            # what the agent left running in the host (a failed test's dnsmasq, in a DHCP namespace
            # only the host's own /run/netns names) goes with it: found by its files' directory
            for pid in _pids_with(str(host.dir), "dnsmasq"):
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            subprocess.run(["ip", "netns", "del", host.netns], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)

    def portal_url(self, url):
        """``url`` (the live server's, on 127.0.0.1) as the hosts reach it: through a relay."""
        if not self.networks:
            return url
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        if parts.port not in self.relays:
            self.relays[parts.port] = _Relay((self.gateway, 0), ("127.0.0.1", parts.port))
        return f"{parts.scheme}://{self.gateway}:{self.relays[parts.port].server_address[1]}"

    def start(self):
        if self.networks:
            self._make_networks()
        for host in self.hosts:   # both daemons start at once; then wait for each
            host.start_libvirtd()
        for host in self.hosts:
            host.wait_libvirtd()
        for host in self.hosts:
            host.start_agent()
        return self

    def stop(self):
        for host in self.hosts:
            host.stop()
        for relay in self.relays.values():
            relay.shutdown()
            relay.server_close()
        if self.networks:
            self._remove_networks()
        shutil.rmtree(self.base, ignore_errors=True)

    def host_of(self, host_uuid):
        return next(h for h in self.hosts if h.host_uuid == str(host_uuid))

    def where(self, vm_uuid):
        """``{host name: libvirt state code}`` of every host that has domain ``vm_uuid`` defined."""
        import libvirt

        found = {}
        for host in self.hosts:
            conn = host.libvirt()
            try:
                found[host.name] = conn.lookupByUUIDString(str(vm_uuid)).state()[0]
            except libvirt.libvirtError:
                pass
            finally:
                conn.close()
        return found

    def remove_domain(self, vm_uuid):
        import libvirt

        for host in self.hosts:
            conn = host.libvirt()
            try:
                dom = conn.lookupByUUIDString(str(vm_uuid))
                if dom.isActive():
                    dom.destroy()
                dom.undefineFlags(getattr(libvirt, "VIR_DOMAIN_UNDEFINE_NVRAM", 0))
            except libvirt.libvirtError:
                pass
            finally:
                conn.close()


def _can_run():
    if os.geteuid() != 0:
        return "needs root"
    for tool in ("unshare", "nsenter", "libvirtd", "qemu-img", "ip"):
        if not shutil.which(tool):
            return f"needs {tool}"
    try:
        import libvirt  # noqa: F401
    except ImportError:
        return "needs libvirt-python"
    return None


@pytest.fixture(scope="session")
def two_hosts():
    """Two libvirt hosts with their agents (see the module's docstring), stopped at the end."""
    why = _can_run()
    if why:
        pytest.skip(f"two libvirt hosts: {why}")
    import libvirt

    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)   # lookups that miss are expected here
    hosts = TwoHosts(networks=True)
    try:
        hosts.start()
    except Exception:
        hosts.stop()
        raise
    yield hosts
    hosts.stop()


class KvmHosts:
    """The two hosts as the portal knows them: one zone, one KVM cluster, two Connected hosts."""

    def __init__(self, hosts, zone, cluster, rows):
        self.hosts, self.zone, self.cluster, self.rows = hosts, zone, cluster, rows


@pytest.fixture
def two_kvm_hosts(db, two_hosts):
    """A zone, a KVM cluster and the two hosts as Connected Host rows (what ADD_KVM_HOST leaves
    behind, without the SSH deployment), each told where the portal is and its facts read."""
    from apps.infra import agent
    from apps.infra.models import Cluster, Host, Zone

    zone = Zone.objects.create(name="two-hosts")
    cluster = Cluster.objects.create(name="kvm", zone=zone, hypervisor_type="KVM")
    rows = []
    for host in two_hosts.hosts:
        row = Host.objects.create(
            uuid=host.host_uuid, name=f"kvm-{host.name}", cluster=cluster, hypervisor_type="KVM",
            management_ip=host.address, agent_port=host.agent.port, agent_secret=host.secret, status="Connected",
            address_key=f"{host.address}:{host.agent.port}")
        answer = agent.call(row, "/v1/host/connect", agent.connect_body())
        row.facts = answer["facts"]
        row.cpu_num = max(2, answer["capacity"]["cpu_num"])
        row.memory_size = max(4 * GIB, answer["capacity"]["memory_size"])
        row.save()
        rows.append(row)
    return KvmHosts(two_hosts, zone, cluster, rows)
