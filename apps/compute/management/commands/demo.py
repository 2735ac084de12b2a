"""`manage.py demo` (`make demo`): everything a first VM needs, through the running portal's API.

Creates (or finds, by name: running it twice changes nothing) a zone, a Simulator cluster with
two simulated hosts, an image store with a small blank qcow2 image, local primary storage, a
flat L2/L3 network with a range and an instance offering, then prints the one call that creates
a VM. It also adds the demo AccessKey (``demo_access_key``: the emulator's, which `make run`
starts) as the admin's default AccessKey and its region cn-hangzhou as a data centre
(docs/hybrid.md). With ``--kvm-password`` or ``--kvm-key`` it also adds this machine's libvirtd as a real
KVM host (the agent is deployed over SSH to 127.0.0.1) in a cluster of its own.
"""
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

GIB, MIB = 1 << 30, 1 << 20
ALREADY_ATTACHED = ("L2_NETWORK_ALREADY_ATTACHED",)  # storage attaches are idempotent already
DEMO_INTERFACE = "cpdemo0"  # the demo L2's interface (a veth made on this machine for a KVM host)


class Portal:
    """A tiny API client with the admin's token."""

    def __init__(self, url, token):
        self.url, self.token = url.rstrip("/"), token

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers={
            "Authorization": f"Token {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")
        except OSError as exc:
            raise CommandError(f"the portal at {self.url} does not answer ({exc}): start it with `make run`") from None

    def find(self, collection, name):
        status, page = self.call("GET", f"/api/v1/{collection}/?q=name={name}")
        if status != 200:
            raise CommandError(f"GET /api/v1/{collection}/: {status} {page}")
        return page["results"][0] if page["results"] else None

    def ensure(self, collection, body, after=None):
        """The resource named ``body['name']``, created (and its job waited for) when missing."""
        found = self.find(collection, body["name"])
        if found:
            return found, False
        status, answer = self.call("POST", f"/api/v1/{collection}/", body)
        if status == 202:
            self.wait(answer["job"]["uuid"], f"{collection} {body['name']}")
            return answer["resource"], True
        if status != 201:
            raise CommandError(f"POST /api/v1/{collection}/ {body['name']}: {status} {answer.get('message', answer)}")
        return answer, True

    def wait(self, job_uuid, what, timeout=900, fine=()):
        """Wait for a job; a failure whose code is in ``fine`` (e.g. already attached) is no error."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _, job = self.call("GET", f"/api/v1/jobs/{job_uuid}/")
            if job.get("state") == "succeeded":
                return job
            if job.get("state") in ("failed", "cancelled"):
                error = job.get("error") or {}
                if error.get("code") in fine:
                    return job
                raise CommandError(f"{what}: job {job_uuid} {job['state']}: {error.get('code')} {error.get('message')}")
            time.sleep(0.5)
        raise CommandError(f"{what}: job {job_uuid} did not finish within {timeout} s (is the worker running?)")

    def attach(self, path, body, what):
        """Attach, where being attached already (run twice) is fine."""
        status, answer = self.call("POST", path, body)
        code = answer.get("code", "")
        if status == 202:
            self.wait(answer["job"]["uuid"], what, fine=ALREADY_ATTACHED)
        elif status >= 400 and code not in ALREADY_ATTACHED:
            raise CommandError(f"{what}: {status} {answer.get('message', answer)}")


def demo_access_key():
    """(id, secret) of the AccessKey the demo adds: ALIBABA_CLOUD_DEMO_ACCESS_KEY_ID/_SECRET when set,
    else, with no ALIBABA_CLOUD_ENDPOINT (`make run` then starts the emulator, and `make demo` runs
    in a shell of its own that its variables do not reach), the emulator's demo key; else none."""
    if settings.ALIBABA_CLOUD_DEMO_ACCESS_KEY_ID and settings.ALIBABA_CLOUD_DEMO_ACCESS_KEY_SECRET:
        return settings.ALIBABA_CLOUD_DEMO_ACCESS_KEY_ID, settings.ALIBABA_CLOUD_DEMO_ACCESS_KEY_SECRET
    if not settings.ALIBABA_CLOUD_ENDPOINT:
        from apps.core.management.commands.runportal import (ALIBABA_DEMO_ACCESS_KEY_ID,
                                                             ALIBABA_DEMO_ACCESS_KEY_SECRET)

        return ALIBABA_DEMO_ACCESS_KEY_ID, ALIBABA_DEMO_ACCESS_KEY_SECRET
    return None, None


class Command(BaseCommand):
    help = ("Set up a zone, simulated hosts, an image, storage, a network and an offering through the "
            "running portal's API (idempotent), then print the call that creates a first VM.")

    def add_arguments(self, parser):
        parser.add_argument("--portal-url", default=settings.PORTAL_URL,
                            help=f"the running portal (default {settings.PORTAL_URL})")
        parser.add_argument("--kvm-password", help="also add this machine (127.0.0.1, root over SSH) as a KVM host")
        parser.add_argument("--kvm-key", help="like --kvm-password, with a private key file")
        parser.add_argument("--ssh-port", type=int, default=22)

    def handle(self, *args, portal_url, kvm_password, kvm_key, ssh_port, **options):
        from apps.accounts.models import ApiToken, User

        admin = User.objects.filter(username="admin").first()
        if admin is None:
            raise CommandError("no admin user: run `make run` (or manage.py ensure_admin) first")
        token = ApiToken.issue(admin)  # this run's own token, revoked at the end
        try:
            self._setup(Portal(portal_url, token), kvm_password, kvm_key, ssh_port)
        finally:
            ApiToken.revoke(token)

    def _setup(self, portal, kvm_password, kvm_key, ssh_port):
        say = self.stdout.write

        zone, _ = portal.ensure("zones", {"name": "demo-zone"})
        cluster, _ = portal.ensure("clusters", {"name": "demo-sim", "zone_uuid": zone["uuid"],
                                                "hypervisor_type": "Simulator"})
        for index in (1, 2):
            portal.ensure("hosts", {"name": f"demo-sim-{index}", "cluster_uuid": cluster["uuid"],
                                    "hypervisor_type": "Simulator", "cpu_num": 8, "memory_size": 32 * GIB})
        say(f"zone {zone['name']}, cluster {cluster['name']} with hosts demo-sim-1 and demo-sim-2")

        store_dir = Path(settings.DATA_DIR) / "demo" / "image-store"
        store, _ = portal.ensure("backup-storage", {"name": "demo-images", "type": "ImageStore", "url": str(store_dir)})
        portal.attach(f"/api/v1/backup-storage/{store['uuid']}/attach/", {"zone_uuid": zone["uuid"]},
                      "attaching the image store")
        image = portal.find("images", "demo-blank")
        if image is None:
            source = self._blank_image()
            image, _ = portal.ensure("images", {"name": "demo-blank", "url": f"file://{source}", "platform": "Linux",
                                                "backup_storage_uuids": [store["uuid"]]})
        say(f"image {image['name']} in image store {store['name']} ({store_dir})")

        clusters = [cluster]
        if kvm_password or kvm_key:
            clusters.append(self._kvm(portal, zone, kvm_password, kvm_key, ssh_port))

        ps, _ = portal.ensure("primary-storage", {"name": "demo-local", "type": "LocalStorage",
                                                  "url": "/var/lib/cloudportal/demo-local", "zone_uuid": zone["uuid"]})
        l2, _ = portal.ensure("l2-networks", {"name": "demo-flat", "type": "NoVlan", "physical_interface": DEMO_INTERFACE,
                                              "zone_uuid": zone["uuid"]})
        for each in clusters:
            portal.attach(f"/api/v1/primary-storage/{ps['uuid']}/attach/", {"cluster_uuid": each["uuid"]},
                          f"attaching primary storage to {each['name']}")
            portal.attach(f"/api/v1/l2-networks/{l2['uuid']}/attach/", {"cluster_uuid": each["uuid"]},
                          f"attaching the L2 network to {each['name']}")
        l3, created = portal.ensure("l3-networks", {"name": "demo-l3", "l2_network_uuid": l2["uuid"],
                                                    "dns": ["10.99.0.1"]})
        if created:
            status, answer = portal.call("POST", f"/api/v1/l3-networks/{l3['uuid']}/ip-ranges/", {
                "start_ip": "10.99.0.10", "end_ip": "10.99.0.250", "netmask": "255.255.255.0",
                "gateway": "10.99.0.1"})
            if status != 201:
                raise CommandError(f"adding the IP range: {status} {answer.get('message', answer)}")
        offering, _ = portal.ensure("instance-offerings", {"name": "demo-small", "cpu_num": 1,
                                                           "memory_size": 512 * MIB})
        say(f"primary storage {ps['name']}, network {l2['name']}/{l3['name']} (10.99.0.10-250), "
            f"offering {offering['name']} (1 CPU, 512 MiB)")
        self._alibaba(portal)
        body = {"name": "first-vm", "instance_offering_uuid": offering["uuid"], "image_uuid": image["uuid"],
                "l3_network_uuids": [l3["uuid"]]}
        say(self.style.SUCCESS("\nready. Log in as admin (the password `make run` printed, or "
                               "CLOUDPORTAL_ADMIN_PASSWORD) to get a token:\n"))
        say(f"TOKEN=$(curl -s -X POST {portal.url}/api/v1/auth/login/ -H 'Content-Type: application/json' \\\n"
            f"     -d '{{\"username\": \"admin\", \"password\": \"THE-PASSWORD\"}}' "
            f"| python3 -c 'import json, sys; print(json.load(sys.stdin)[\"token\"])')")
        say(self.style.SUCCESS("\nthen your first VM is one call away:\n"))
        say(f"curl -s -X POST {portal.url}/api/v1/vm-instances/ -H \"Authorization: Token $TOKEN\" "
            f"-H 'Content-Type: application/json' \\\n     -d '{json.dumps(body)}'")

    def _alibaba(self, portal):
        """The demo AccessKey as the admin's default key, and its cn-hangzhou region as a data centre,
        through the API as the rest (the hybrid app is above compute, which does not import it). A
        key or region the cloud refuses is said, not fatal: the rest of the demo stands."""
        key_id, secret = demo_access_key()
        if not key_id:
            return
        status, page = portal.call("GET", f"/api/v1/alibaba-access-keys/?q=access_key_id={key_id}")
        if status != 200:
            raise CommandError(f"GET /api/v1/alibaba-access-keys/: {status} {page}")
        if page["results"]:
            key = page["results"][0]
        else:
            status, key = portal.call("POST", "/api/v1/alibaba-access-keys/", {
                "name": "demo-alibaba", "access_key_id": key_id, "access_key_secret": secret, "is_default": True})
            if status != 201:
                self.stderr.write(f"the demo AccessKey {key_id} was not added: {key.get('message', key)}")
                return
        if not key["is_default"]:
            portal.call("POST", f"/api/v1/alibaba-access-keys/{key['uuid']}/set-default/")
        center = portal.find("alibaba-data-centers", "demo-hangzhou")
        if center is None:
            status, answer = portal.call("POST", "/api/v1/alibaba-data-centers/", {
                "name": "demo-hangzhou", "region_id": "cn-hangzhou", "access_key_uuid": key["uuid"]})
            if status != 202:
                self.stderr.write(f"cn-hangzhou was not added as a data centre: {answer.get('message', answer)}")
                return
            try:
                portal.wait(answer["job"]["uuid"], "the demo data centre's sync")
            except CommandError as exc:
                self.stderr.write(str(exc))
                return
        where = settings.ALIBABA_CLOUD_ENDPOINT or "the Alibaba Cloud emulator `make run` started"
        self.stdout.write(f"Alibaba Cloud ({where}): AccessKey {key_id} (the admin's default), data centre "
                          "demo-hangzhou (cn-hangzhou)")

    def _blank_image(self):
        source = Path(settings.DATA_DIR) / "demo" / "blank.qcow2"
        if not source.exists():
            if not shutil.which("qemu-img"):
                raise CommandError("qemu-img is needed to make the demo image: apt-get install -y qemu-utils")
            source.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(source), "64M"], check=True)
        return source

    def _kvm(self, portal, zone, password, key_file, ssh_port):
        """This machine as a KVM host. Its VMs' flat network is host-local: the L2's interface
        ``cpdemo0`` is one end of a veth pair made here, so no real NIC is bridged."""
        if subprocess.run(["ip", "link", "show", DEMO_INTERFACE], capture_output=True).returncode != 0:
            made = subprocess.run(["ip", "link", "add", DEMO_INTERFACE, "type", "veth", "peer", "name",
                                   DEMO_INTERFACE + "p"], capture_output=True, text=True)
            if made.returncode != 0:
                raise CommandError(f"making the demo interface {DEMO_INTERFACE} needs root: {made.stderr.strip()}")
            for name in (DEMO_INTERFACE, DEMO_INTERFACE + "p"):
                subprocess.run(["ip", "link", "set", name, "up"], check=True)
        cluster, _ = portal.ensure("clusters", {"name": "demo-kvm", "zone_uuid": zone["uuid"],
                                                "hypervisor_type": "KVM"})
        if password:
            credentials = {"password": password}
        else:
            try:
                credentials = {"private_key": Path(key_file).read_text()}
            except OSError as exc:
                raise CommandError(f"--kvm-key {key_file}: {exc.strerror}") from None
        host, _ = portal.ensure("hosts", {"name": "demo-local-kvm", "cluster_uuid": cluster["uuid"],
                                          "hypervisor_type": "KVM", "management_ip": "127.0.0.1",
                                          "ssh_port": ssh_port, "username": "root", **credentials})
        self.stdout.write(f"this machine is KVM host {host['name']} in cluster {cluster['name']}")
        return cluster
