"""One real host through libvirt-python (never virsh).

Domains are named ``cp-<vm_uuid>`` with uuid = vm_uuid. Lifecycle events come from libvirt's
default event loop (a daemon thread) and are reported to the portal unless a request of ours
caused them.
"""
import logging
import os
import platform
import threading
import time
from xml.sax.saxutils import escape, quoteattr
import xml.etree.ElementTree as ET

from ..errors import AgentFailure, invalid_state, vm_not_found
from ..exposition import HostSample
from . import domain_parts, migration_ops
from .base import Backend
from .host_proc import HostProcSampler
from .network_linux import LinuxNetworkMixin
from .storage_files import FileStorageMixin

log = logging.getLogger("hostagent.libvirt")

try:
    import libvirt
except ImportError:  # pragma: no cover - reported when the backend starts
    libvirt = None

# seconds between the guest balloon driver's memory reports (libvirt's <stats period>)
BALLOON_STATS_PERIOD = 10

_event_loop_started = False
_event_loop_lock = threading.Lock()


def _start_event_loop():
    global _event_loop_started
    with _event_loop_lock:
        if _event_loop_started:
            return
        libvirt.virEventRegisterDefaultImpl()

        def run():
            while True:
                libvirt.virEventRunDefaultImpl()

        threading.Thread(target=run, name="libvirt-events", daemon=True).start()
        _event_loop_started = True


def _version(number):
    return f"{number // 1000000}.{number // 1000 % 1000}.{number % 1000}"


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _os_name():
    try:
        with open("/etc/os-release", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}"


def _state_name(code):
    if code in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED):
        return "Running"
    if code in (libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PMSUSPENDED):
        return "Paused"
    return "Stopped"  # shutoff, shutdown (in progress), crashed, nostate


def _event_state(event):
    if event in (libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_RESUMED):
        return "Running"
    if event in (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED):
        return "Paused"
    if event in (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_CRASHED):
        return "Stopped"
    return None  # defined, undefined, shutdown (a STOPPED follows)


class LibvirtBackend(LinuxNetworkMixin, FileStorageMixin, Backend):
    name = "libvirt"
    blocking = True
    DOMAIN_PREFIX = "cp-"
    SUPPRESS_SECONDS = 5.0

    def __init__(self, config):
        super().__init__(config)
        if libvirt is None:
            raise SystemExit("the libvirt backend needs libvirt-python (pip install libvirt-python)")
        self.uri = config.get("libvirt_uri") or "qemu:///system"
        self.host_uuid = config["host_uuid"]
        self.secret = config["secret"]
        self.domain_type = config.get("domain_type") or "qemu"
        # where QEMU's VNC servers listen: the portal's console proxy connects there
        self.vnc_listen = config.get("vnc_listen") or config.get("listen") or "127.0.0.1"
        self._portal_url = config.get("portal_url")
        self._conn = None
        self._read_conn = None
        self._sample_conn = None
        self._conn_lock = threading.Lock()
        self._callback_id = None
        self._expected = {}   # vm_uuid -> (state, deadline): events our own requests cause
        self._expected_lock = threading.Lock()
        from .libvirt_stats import DomainStatsSampler

        self._domain_stats = DomainStatsSampler(self.DOMAIN_PREFIX)
        self._host_stats = HostProcSampler()

    # --- connection ------------------------------------------------------------------
    def start(self, loop):
        _start_event_loop()
        try:
            self.conn()
        except AgentFailure as exc:
            log.error("libvirt is not reachable yet (%s); will retry on the next request", exc.message)

    def conn(self, read=False, sampling=False):
        """The connection for operations (it also carries the lifecycle events), or with ``read``
        one for reads only, or with ``sampling`` one for the sampler's bulk stats call: libvirtd
        serves a few calls of one client at a time, so reads on a connection of their own never
        wait behind a burst of domain starts, and neither waits behind a sample."""
        attr = "_sample_conn" if sampling else "_read_conn" if read else "_conn"
        with self._conn_lock:
            current = getattr(self, attr)
            if current is not None:
                try:
                    if current.isAlive():
                        return current
                except libvirt.libvirtError:
                    pass
                log.warning("the libvirt connection%s died; reconnecting",
                            " for samples" if sampling else " for reads" if read else "")
                setattr(self, attr, None)
            try:
                conn = libvirt.open(self.uri)
            except libvirt.libvirtError as exc:
                raise AgentFailure(503, "LIBVIRT_UNAVAILABLE", f"cannot connect to {self.uri}: {exc}") from None
            try:
                conn.setKeepAlive(5, 3)
            except libvirt.libvirtError:
                pass
            if attr == "_conn":
                self._callback_id = conn.domainEventRegisterAny(
                    None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_lifecycle, None)
                log.info("connected to %s (libvirt %s)", self.uri, _version(conn.getLibVersion()))
            setattr(self, attr, conn)
            return conn

    def close(self):
        self._domain_stats.close()
        with self._conn_lock:
            for attr in ("_conn", "_read_conn", "_sample_conn"):
                conn = getattr(self, attr)
                if conn is None:
                    continue
                try:
                    if attr == "_conn" and self._callback_id is not None:
                        conn.domainEventDeregisterAny(self._callback_id)
                    conn.close()
                except libvirt.libvirtError:
                    pass
                setattr(self, attr, None)

    def _on_lifecycle(self, conn, dom, event, detail, opaque):
        try:
            name = dom.name()
            if not name.startswith(self.DOMAIN_PREFIX):
                return
            state = _event_state(event)
            if state is None or migration_ops.caused_by_migration(event, detail):
                return
            vm_uuid = dom.UUIDString()
            with self._expected_lock:
                expected = self._expected.get(vm_uuid)
                if expected and expected[0] == state and time.monotonic() < expected[1]:
                    log.debug("VM %s is %s as requested: not reported", vm_uuid, state)
                    return
            log.info("VM %s changed to %s outside a request (libvirt event %d/%d)", vm_uuid, state, event, detail)
            if self.events is not None:
                self.events.vm_state(self.host_uuid, vm_uuid, state)
        except Exception:  # noqa: BLE001 - never let an exception into libvirt's event loop
            log.exception("handling a libvirt lifecycle event failed")

    def _expect(self, vm_uuid, state, seconds=None):
        with self._expected_lock:
            now = time.monotonic()
            self._expected = {k: v for k, v in self._expected.items() if v[1] > now}
            self._expected[vm_uuid] = (state, now + (seconds or self.SUPPRESS_SECONDS))

    # --- hosts --------------------------------------------------------------------------
    def secret_for(self, host_uuid):
        return self.secret if host_uuid == self.host_uuid else None

    def portal_url(self, host_uuid):
        return self._portal_url

    def set_portal_url(self, host_uuid, url):
        self._portal_url = url

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except libvirt.libvirtError as exc:
            raise AgentFailure(500, "LIBVIRT_ERROR", str(exc), {"libvirt_code": exc.get_error_code()}) from None

    def _to_state(self, dom, fn, wanted, *args):
        """``fn`` moves the domain to ``wanted``; when it fails because the domain got there
        meanwhile (another request for it, the guest itself), that is the success asked for."""
        try:
            return fn(*args)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID and self._state(dom) == wanted:
                return None
            raise AgentFailure(500, "LIBVIRT_ERROR", str(exc), {"libvirt_code": exc.get_error_code()}) from None

    def facts(self, host_uuid):
        conn = self.conn(read=True)
        arch, memory_mib, cpus, _mhz, nodes, sockets, cores, threads = self._call(conn.getInfo)
        return {
            "cpu_model": _cpu_model(),
            "cpu_arch": arch,
            "cpu_sockets": nodes * sockets,
            "cpu_cores": cores,
            "cpu_threads": threads,
            "cpu_num": cpus,
            "memory_size": memory_mib * 1024 * 1024,
            "hostname": self._call(conn.getHostname),
            "os": _os_name(),
            "kernel": platform.release(),
            "libvirt_version": _version(self._call(conn.getLibVersion)),
            "qemu_version": _version(self._call(conn.getVersion)),
            "kvm_available": os.path.exists("/dev/kvm") and os.access("/dev/kvm", os.R_OK | os.W_OK),
            # how another host's agent reaches this libvirtd to live-migrate a VM here (migration_ops)
            "libvirt_remote_uri": self.config.get("libvirt_remote_uri"),
            # where this host's VNC servers listen: a VM live-migrated here listens there too
            "vnc_listen": self.vnc_listen,
        }

    def capacity(self, host_uuid):
        conn = self.conn(read=True)
        info = self._call(conn.getInfo)
        return {"cpu_num": info[2], "memory_size": info[1] * 1024 * 1024,
                "free_memory": self._call(conn.getFreeMemory)}

    def sample(self):
        """The VMs' figures (libvirt_stats: /proc, and QEMU's through libvirtd in the background),
        then the host's own (/proc), the VMs' tap devices left out of the host's interfaces."""
        try:
            vms, taps = self._domain_stats.sample(self.conn(sampling=True))
        except libvirt.libvirtError as exc:
            raise AgentFailure(500, "LIBVIRT_ERROR", f"domain stats: {exc}") from None
        host = self._host_stats.sample(skipped_nics=taps)
        return {self.host_uuid: HostSample(self.host_uuid, vms=vms, **host)}

    # --- domains ------------------------------------------------------------------------
    def _domain(self, vm_uuid, read=False):
        try:
            return self.conn(read).lookupByUUIDString(vm_uuid)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                raise vm_not_found(vm_uuid) from None
            raise AgentFailure(500, "LIBVIRT_ERROR", str(exc)) from None

    def _state(self, dom):
        return _state_name(self._call(dom.state)[0])

    def vm_states(self, host_uuid):
        domains = self._call(self.conn(read=True).listAllDomains, 0)
        vms = {}
        for dom in domains:
            try:
                if dom.name().startswith(self.DOMAIN_PREFIX):
                    vms[dom.UUIDString()] = _state_name(dom.state()[0])
            except libvirt.libvirtError:
                continue  # undefined meanwhile
        return {"vms": vms}

    def domain_xml(self, spec):
        arch = self._call(self.conn().getInfo)[0]
        # the disks and other optional parts (domain_parts); a spec made without validate_define
        # (tests, benchmarks) gets its disk_path as the one disk
        if "disks" not in spec:
            domain_parts.disks.Disks().validate({}, spec)
        devices = domain_parts.devices(spec)
        for nic in spec.get("nics", []):
            devices.append(
                f"<interface type='bridge'><mac address={quoteattr(nic['mac'])}/>"
                f"<source bridge={quoteattr(nic['bridge'])}/><model type={quoteattr(nic['model'])}/>"
                f"{''.join(nic.get('extra_xml', ()))}</interface>")   # guest_parts: <bandwidth>
        # the guest's balloon driver reports its memory use only when asked to every so often
        devices.append(f"<memballoon model='virtio'><stats period='{BALLOON_STATS_PERIOD}'/></memballoon>")
        if spec["vnc"]:
            listen = quoteattr(self.vnc_listen)
            password = f" passwd={quoteattr(spec['vnc_password'])}" if spec.get("vnc_password") else ""
            devices.append(f"<graphics type='vnc' port='-1' autoport='yes' listen={listen}{password}>"
                           f"<listen type='address' address={listen}/></graphics>")
            devices.append(f"<video><model type={quoteattr(spec.get('video') or 'vga')}/></video>")
        return (
            f"<domain type={quoteattr(self.domain_type)}>"
            f"<name>{self.DOMAIN_PREFIX}{spec['vm_uuid']}</name><uuid>{spec['vm_uuid']}</uuid>"
            f"<title>{escape(spec['name'])}</title>"
            # guest_parts: the maximums a running domain may grow to (hot-plug, balloon)
            f"<memory unit='KiB'>{max(1, spec.get('memory_max', spec['memory_size']) // 1024)}</memory>"
            f"<currentMemory unit='KiB'>{max(1, spec['memory_size'] // 1024)}</currentMemory>"
            f"<vcpu current='{spec['cpu_num']}'>{spec.get('cpu_max', spec['cpu_num'])}</vcpu>"
            f"<os><type arch={quoteattr(arch)}>hvm</type>"
            f"{''.join(f'<boot dev={quoteattr(dev)}/>' for dev in spec.get('boot', ['hd']))}</os>"
            "<features><acpi/><apic/></features>"
            f"{''.join(domain_parts.top(spec))}"
            "<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>"
            f"<devices>{''.join(devices)}</devices></domain>")

    def vm_define(self, host_uuid, spec):
        dom = self._call(self.conn().defineXML, self.domain_xml(spec))
        return {"vm_uuid": spec["vm_uuid"], "state": self._state(dom)}

    def vm_op(self, host_uuid, op, vm_uuid, body):
        dom = self._domain(vm_uuid, read=op == "vnc-port")
        state = self._state(dom)
        if op == "vnc-port":
            return {"vm_uuid": vm_uuid, "port": self._vnc_port(dom) if state != "Stopped" else None}
        if op == "undefine":
            if state != "Stopped":
                self._expect(vm_uuid, "Stopped")
                self._to_state(dom, dom.destroy, "Stopped")
            flags = (libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                     | getattr(libvirt, "VIR_DOMAIN_UNDEFINE_NVRAM", 0))
            self._call(dom.undefineFlags, flags)
            return {"vm_uuid": vm_uuid, "state": "Undefined"}
        if op == "start":
            if state == "Stopped":
                self._expect(vm_uuid, "Running")
                self._to_state(dom, dom.create, "Running")
            elif state == "Paused":
                self._expect(vm_uuid, "Running")
                self._call(dom.resume)
        elif op == "resume":
            if state == "Stopped":
                raise invalid_state(vm_uuid, state, op)
            if state == "Paused":
                self._expect(vm_uuid, "Running")
                self._call(dom.resume)
        elif op == "pause":
            if state == "Stopped":
                raise invalid_state(vm_uuid, state, op)
            if state == "Running":
                self._expect(vm_uuid, "Paused")
                self._call(dom.suspend)
        elif op == "destroy":
            if state != "Stopped":
                self._expect(vm_uuid, "Stopped")
                self._to_state(dom, dom.destroy, "Stopped")
        elif op == "stop":
            if state != "Stopped":
                self._stop(dom, vm_uuid, body)
        elif op == "reboot":
            if state == "Stopped":
                raise invalid_state(vm_uuid, state, op)
            if body.get("force"):
                self._call(dom.reset, 0)
            else:
                self._call(dom.reboot, 0)
        return {"vm_uuid": vm_uuid, "state": self._state(dom)}

    def _stop(self, dom, vm_uuid, body):
        """ACPI shutdown, waiting up to ``timeout`` seconds; then power off if ``force``."""
        timeout = body.get("timeout", 60)
        timeout = float(timeout) if isinstance(timeout, (int, float)) and timeout >= 0 else 60.0
        self._expect(vm_uuid, "Stopped", timeout + self.SUPPRESS_SECONDS)
        self._to_state(dom, dom.shutdown, "Stopped")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._state(dom) == "Stopped":
                return
            time.sleep(0.2)
        if body.get("force"):
            self._to_state(dom, dom.destroy, "Stopped")
            return
        raise AgentFailure(409, "STOP_TIMEOUT", f"VM {vm_uuid} did not shut down within {timeout:g}s "
                                                "(send force: true to power it off)", {"vm_uuid": vm_uuid})

    def _vnc_port(self, dom):
        root = ET.fromstring(self._call(dom.XMLDesc, 0))
        graphics = root.find("./devices/graphics[@type='vnc']")
        if graphics is None:
            return None
        port = int(graphics.get("port", "-1"))
        return port if port > 0 else None
