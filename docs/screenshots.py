"""`make screenshots`: the console's main pages as PNG files in docs/images/ (shown by
docs/console-ui.md and the README).

A portal of its own is started (`manage.py runportal`) on SQLite in a temporary directory, so
nothing of yours is touched (neither `make run`'s var/ nor a DATABASE_URL); `manage.py demo` fills
it (zone, cluster, simulated hosts, image, storage, network, offering) and a few VMs are made
through the API; the built-in metrics store is given the last 55 minutes of samples of the
running VMs and their host (as the simulator agent works its figures out; the portal's own
collector adds the newest), so the charts have lines. Chromium (Debian's, through Playwright) then
opens each page at 1280x800.
pngquant, when installed (apt-get install -y pngquant), makes the files about a third as big.

    .venv/bin/python docs/screenshots.py [--port 8640] [--sim-port 8641] [--keep]
"""
import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]
VIEWPORT = {"width": 1280, "height": 800}
GIB, MIB = 1 << 30, 1 << 20
VMS = ["web-1", "web-2", "db-1", "build-1"]   # build-1 is stopped once it runs


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Portal:
    """A portal of its own: its data directory, its processes, its admin password."""

    def __init__(self, port, sim_port, workdir):
        self.port, self.workdir = port, workdir
        self.url = f"http://127.0.0.1:{port}"
        self.password = secrets.token_urlsafe(12)
        self.env = {key: value for key, value in os.environ.items()
                    if key not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "PORTAL_URL", "SIM_AGENT_URL")}
        self.env.update({"CLOUDPORTAL_DATA_DIR": str(workdir), "CLOUDPORTAL_ADMIN_PASSWORD": self.password,
                         "PORT": str(port), "SIM_AGENT_URL": f"http://127.0.0.1:{sim_port}", "LOG_LEVEL": "WARNING",
                         "PYTHONPATH": str(ROOT)})
        self.proc = None

    def manage(self, *args):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True,
                       stdout=subprocess.DEVNULL)

    def start(self):
        self.manage("migrate", "--no-input")
        self.manage("ensure_admin")
        log = open(self.workdir / "portal.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "manage.py", "runportal", "--port", str(self.port)], cwd=ROOT,
                                     env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"the portal exited:\n{(self.workdir / 'portal.log').read_text()[-3000:]}")
            try:
                urllib.request.urlopen(self.url + "/api/v1/", timeout=2)
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the portal did not answer at {self.url} within 90 s") from None
                time.sleep(0.5)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)   # runportal stops web, worker, beat and the simulator agent
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def api(self):
        from apps.compute.management.commands.demo import Portal as Client

        client = Client(self.url, "")
        status, answer = client.call("POST", "/api/v1/auth/login/", {"username": "admin", "password": self.password})
        if status != 200:
            raise SystemExit(f"logging in to the API: {status} {answer}")
        client.token = answer["token"]
        return client


def fill(portal):
    """What `manage.py demo` makes, then a few VMs (one of them stopped) and a second offering."""
    portal.manage("demo", "--portal-url", portal.url)
    api = portal.api()
    api.ensure("instance-offerings", {"name": "demo-medium", "cpu_num": 2, "memory_size": 2 * GIB})
    image, offering, l3 = (api.find(kind, name) for kind, name in
                           (("images", "demo-blank"), ("instance-offerings", "demo-small"), ("l3-networks", "demo-l3")))
    vms = {}
    for name in VMS:
        vms[name], _ = api.ensure("vm-instances", {"name": name, "instance_offering_uuid": offering["uuid"],
                                                   "image_uuid": image["uuid"], "l3_network_uuids": [l3["uuid"]]})
    status, answer = api.call("POST", f"/api/v1/vm-instances/{vms['build-1']['uuid']}/stop/")
    if status == 202:
        api.wait(answer["job"]["uuid"], "stopping build-1")
    # a second zone with no VMs, whose delete plan lists what goes with it
    lab, _ = api.ensure("zones", {"name": "lab-zone"})
    cluster, _ = api.ensure("clusters", {"name": "lab-sim", "zone_uuid": lab["uuid"], "hypervisor_type": "Simulator"})
    api.ensure("hosts", {"name": "lab-sim-1", "cluster_uuid": cluster["uuid"], "hypervisor_type": "Simulator",
                         "cpu_num": 4, "memory_size": 8 * GIB})
    l2, _ = api.ensure("l2-networks", {"name": "lab-flat", "type": "NoVlan", "physical_interface": "cplab0",
                                       "zone_uuid": lab["uuid"]})
    api.ensure("l3-networks", {"name": "lab-l3", "l2_network_uuid": l2["uuid"]})
    return {"vm": vms["web-1"]["uuid"], "zone": lab["uuid"],
            "running": [vms[name]["uuid"] for name in VMS if name != "build-1"]}


def backfill_metrics(portal, made, minutes=55):
    """The last ``minutes`` of 10-second samples of the running VMs and their host, written in the
    portal's own process environment through the built-in store's write path (``backfill``)."""
    code = (f"import sys; sys.path.insert(0, {str(ROOT / 'docs')!r}); import screenshots; "
            f"screenshots.backfill({made['running']!r}, {minutes})")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**portal.env, "DJANGO_SETTINGS_MODULE":
                                                                   "cloudportal.settings"}, check=True)


def backfill(vm_uuids, minutes):
    """Each VM's figures as the simulator agent works them out (the same pattern, drawn from its
    uuid: the collector's newest samples carry the lines on), its host's CPU from its VMs' load."""
    import django

    django.setup()
    from apps.compute.models import VmInstance
    from apps.monitoring.collector import store
    from hostagent.backends.sim_metrics import _Pattern as Pattern

    vms = list(VmInstance.objects.filter(uuid__in=vm_uuids).select_related("host"))
    hosts = {vm.host.uuid: vm.host for vm in vms if vm.host}
    patterns = {str(uuid): Pattern(str(uuid)) for uuid in [vm.uuid for vm in vms] + list(hosts)}
    now = time.time()
    for ts in range(int(now - minutes * 60), int(now - 15), 10):
        readings, busy, committed = {}, {}, {}
        for vm in vms:
            pattern = patterns[str(vm.uuid)]
            cpu = pattern.cpu(ts)
            busy[vm.host_id] = busy.get(vm.host_id, 0.0) + cpu * vm.cpu_num / 100.0
            committed[vm.host_id] = committed.get(vm.host_id, 0) + vm.memory_size
            readings[("vm", str(vm.uuid))] = reading_of(
                "vm", vm.uuid, ts, pattern, cpu, int(vm.memory_size * pattern.memory_share * (0.9 + cpu / 500.0)))
        for host in hosts.values():
            cpu = min(100.0, 1.0 + 100.0 * busy.get(host.id, 0.0) / max(1, host.cpu_num))
            readings[("host", str(host.uuid))] = reading_of("host", host.uuid, ts, patterns[str(host.uuid)], cpu,
                                                           int(host.memory_size * 0.04) + committed.get(host.id, 0),
                                                           host.memory_size)
        store(readings, ts)


def reading_of(kind, uuid, ts, pattern, cpu, memory_used, memory_total=None):
    from apps.monitoring.scrape import Reading

    pattern.advance(ts, cpu)
    c = pattern.counters
    reading = Reading(kind, str(uuid), ts)
    reading.gauges = {"cpu_percent": cpu, "memory_used_bytes": memory_used}
    if memory_total:
        reading.gauges["memory_total_bytes"] = memory_total
    reading.counters = {"disk_read_bytes_total": c[0], "disk_write_bytes_total": c[1], "disk_read_ops_total": c[2],
                        "disk_write_ops_total": c[3], "network_rx_bytes_total": c[4], "network_tx_bytes_total": c[5],
                        "network_rx_packets_total": c[6], "network_tx_packets_total": c[7]}
    return reading


def kvm_host_form(page):
    page.fill("#f-name", "kvm-7")
    page.select_option("#f-hypervisor_type", "KVM")
    page.fill("#f-management_ip", "192.168.10.7")
    # the KVM inputs in view
    page.evaluate("document.querySelector('label[for=f-cluster_uuid]').scrollIntoView({behavior: 'instant'})")


def placement_checked(page):
    """The wizard filled in and its placement checked (the API's dry run), the answer in view."""
    page.fill("#f-name", "web-3")
    for select, name in (("#f-image_uuid", "demo-blank"), ("#f-instance_offering_uuid", "demo-medium")):
        page.select_option(select, page.locator(f"{select} option", has_text=name).first.get_attribute("value"))
    page.locator("#networks label", has_text="demo-l3").click()
    page.click("#check-placement")
    page.wait_for_selector("#placement")
    page.evaluate("document.querySelector('#vm-check').scrollIntoView({behavior: 'instant', block: 'start'})")


def jobs_running(portal, made):
    """The task panel following the jobs just started (the running VMs rebooted), the jobs behind."""
    def setup(page):
        page.wait_for_selector('body[data-live="ready"]', state="attached")   # the panel is listening
        api = portal.api()
        for uuid in made["running"]:
            api.call("POST", f"/api/v1/vm-instances/{uuid}/reboot/")
        page.wait_for_function("[...document.querySelectorAll('#tasks tr.task-row [data-slot=action]')]"
                               f".filter(a => a.textContent === 'reboot-vm').length >= {len(made['running'])}")
        page.wait_for_timeout(300)
    return setup


def charts_drawn(page):
    """The VM's charts in view once drawn (the canvas of each, after its first read)."""
    page.wait_for_function("document.querySelectorAll('#metric-charts canvas').length >= 4 && "
                           "+document.querySelector('#chart-cpu').dataset.points > 10", timeout=20000)
    page.evaluate("document.querySelector('#metric-charts').scrollIntoView({behavior: 'instant', block: 'start'})")
    page.wait_for_timeout(300)


def shots(made, portal=None):
    """(file name, page path, how the page is set up): the pages docs/console-ui.md shows."""
    return [
        ("dashboard", "/ui/", None),
        ("vm-list", "/ui/vm-instances/", None),
        ("vm-detail", f"/ui/vm-instances/{made['vm']}/", None),
        ("vm-charts", f"/ui/vm-instances/{made['vm']}/", charts_drawn),
        ("performance", "/ui/performance/", None),
        ("vm-create", "/ui/vm-instances/new/", placement_checked),
        ("task-panel", "/ui/jobs/?ordering=-created_at", jobs_running(portal, made)),
        ("host-list", "/ui/hosts/", None),
        ("host-add", "/ui/hosts/new/", kvm_host_form),
        ("image-list", "/ui/images/", None),
        ("zone-delete", f"/ui/zones/{made['zone']}/delete/", None),
        ("global-configs", "/ui/global-configs/", None),
    ]


def upload_in_progress(page, portal, out):
    """The upload form with its progress bar part way: Chromium's network emulation slows the
    upload down (the image is taken in afterwards; its job does not matter here)."""
    source = portal.workdir / "debian-12-generic.raw"
    with open(source, "wb") as fh:
        fh.truncate(24 * MIB)
    page.goto(portal.url + "/ui/images/upload/")
    page.fill("#f-name", "debian-12")
    page.set_input_files("#f-file", str(source))
    page.select_option("#f-backup_storage_uuids", label="demo-images")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": 4 * MIB})
    page.click("#save")
    try:
        page.wait_for_function("() => { const done = +document.querySelector('#upload-bar').getAttribute("
                               "'aria-valuenow'); return done >= 40 && done < 90; }", timeout=20000)
    except Exception:   # noqa: BLE001 - no throttled upload here: no picture of it
        print("  skipped image-upload: the upload was not slowed down")
        return None
    target = out / "image-upload.png"
    page.screenshot(path=str(target))
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": -1})
    page.wait_for_url("**/ui/images/*-*/")
    return target


def take(portal, made, out):
    from playwright.sync_api import sync_playwright

    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for scheme, language, only in (("light", "en", None), ("dark", "en", "dashboard"),
                                       ("light", "zh-hans", "host-list")):
            context = browser.new_context(viewport=VIEWPORT, color_scheme=scheme, locale="en-US",
                                          reduced_motion="reduce")
            context.add_cookies([{"name": "django_language", "value": language, "url": portal.url}])
            page = context.new_page()
            page.goto(portal.url + "/ui/login/")
            page.fill("#id_username", "admin")
            page.fill("#id_password", portal.password)
            page.click("#login-form button[type=submit]")
            page.wait_for_url(portal.url + "/ui/")
            for name, path, setup in shots(made, portal):
                if only is not None and name != only:
                    continue
                response = page.goto(portal.url + path)
                if response is None or response.status >= 400:
                    print(f"  skipped {name}: {path} answered {response.status if response else 'nothing'}")
                    continue
                page.wait_for_load_state("networkidle")
                if setup is not None:
                    setup(page)
                suffix = "" if only is None else f"-{scheme}" if scheme == "dark" else "-zh"
                target = out / f"{name}{suffix}.png"
                page.screenshot(path=str(target))
                written.append(target)
            if only is None:   # last: it adds an image
                written.append(upload_in_progress(page, portal, out))
            context.close()
        browser.close()
    return [path for path in written if path is not None]


def shrink(files):
    if not shutil.which("pngquant"):
        print("  pngquant is missing (apt-get install -y pngquant): the PNG files stay as Chromium wrote them")
        return
    for path in files:
        subprocess.run(["pngquant", "--force", "--skip-if-larger", "--speed", "1", "--quality", "70-95",
                        "--output", str(path), str(path)], check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="the portal's web port (default: a free one)")
    parser.add_argument("--sim-port", type=int, default=0, help="its simulator agent's port (default: a free one)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--keep", action="store_true", help="keep the portal's temporary directory (its log)")
    args = parser.parse_args()
    if not os.path.exists(CHROMIUM):
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    if shutil.which("fc-list") and not subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout:
        raise SystemExit("no Chinese font for the Chinese page: apt-get install -y fonts-wqy-microhei")
    args.out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="cp-shots-"))
    portal = Portal(args.port or free_port(), args.sim_port or free_port(), workdir)
    try:
        print(f"portal at {portal.url} (data in {workdir})")
        portal.start()
        made = fill(portal)
        backfill_metrics(portal, made)
        files = take(portal, made, args.out)
        shrink(files)
    finally:
        portal.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    total = sum(path.stat().st_size for path in files)
    for path in files:
        print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  {path.stat().st_size // 1024} KiB")
    print(f"{len(files)} screenshots, {total // 1024} KiB")


if __name__ == "__main__":
    main()
