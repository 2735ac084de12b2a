"""Fixtures for KVM hosts added over SSH: a real sshd (its own host key, a generated client key and a
root password that exists only in sshd's mount namespace) and per-test agent install roots."""
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from apps.infra.flows.deploy import stop_daemon_command
from tests.hostagent.conftest import free_port

SSHD = "/usr/sbin/sshd"


def _libvirtd_up():
    if not shutil.which("virsh"):
        return False
    try:
        return subprocess.run(["virsh", "-c", "qemu:///system", "version"], capture_output=True,
                              timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


needs_libvirtd = pytest.mark.skipif(not _libvirtd_up(),
                                    reason="libvirtd is not running (virsh -c qemu:///system version)")


class Sshd:
    """A real sshd on a free port that takes the generated client key and, for root, ``PASSWORD``.

    The password lives only inside sshd's own mount namespace: sshd runs under
    ``unshare --mount`` with a private copy of /etc/shadow bind-mounted over the real one, so the
    machine's root account is never changed.
    """

    PASSWORD = "cloudportal-test-password"

    def __init__(self, workdir):
        self.dir = Path(workdir)
        self.port = free_port()
        self.proc = None

    def _shadow_with_test_password(self):
        hashed = subprocess.run(["openssl", "passwd", "-6", self.PASSWORD], check=True,
                                capture_output=True, text=True).stdout.strip()
        lines = []
        for line in Path("/etc/shadow").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == "root":
                fields[1] = hashed
            lines.append(":".join(fields))
        shadow = self.dir / "shadow"
        shadow.write_text("\n".join(lines) + "\n")
        shadow.chmod(0o600)
        return shadow

    def start(self):
        d = self.dir
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "host_key")], check=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "cloudportal-test",
                        "-f", str(d / "client_key")], check=True)
        shutil.copy(d / "client_key.pub", d / "authorized_keys")
        (d / "sshd_config").write_text(f"""\
Port {self.port}
ListenAddress 127.0.0.1
HostKey {d}/host_key
PidFile {d}/sshd.pid
PermitRootLogin yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile {d}/authorized_keys
StrictModes no
UsePAM no
Subsystem sftp internal-sftp
LogLevel ERROR
""")
        os.makedirs("/run/sshd", exist_ok=True)  # privilege separation directory
        self.log = open(d / "sshd.log", "wb")
        shadow = self._shadow_with_test_password()
        command = [SSHD, "-D", "-e", "-f", str(d / "sshd_config")]
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount --bind "$0" /etc/shadow && exec "$@"', str(shadow), *command],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {(d / 'sshd.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sshd did not listen")

    @property
    def private_key(self):
        return (self.dir / "client_key").read_text()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.log.close()


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    if not (os.path.exists(SSHD) and shutil.which("ssh-keygen") and shutil.which("openssl")
            and shutil.which("unshare")) or os.geteuid() != 0:
        pytest.skip("needs openssh-server (/usr/sbin/sshd), ssh-keygen, openssl, unshare and root")
    server = Sshd(tmp_path_factory.mktemp("sshd")).start()
    yield server
    server.stop()


@pytest.fixture
def agent_roots(tmp_path, settings):
    """Per-test install/config roots; whatever agent a test started there is stopped afterwards."""
    settings.KVM_AGENT_INSTALL_DIR = str(tmp_path / "opt" / "cloudportal-agent")
    settings.KVM_AGENT_CONFIG_DIR = str(tmp_path / "etc" / "cloudportal-agent")
    settings.KVM_AGENT_STATE_DIR = str(tmp_path / "var" / "cloudportal-agent")
    yield Path(settings.KVM_AGENT_INSTALL_DIR), Path(settings.KVM_AGENT_CONFIG_DIR)
    subprocess.run(["sh", "-c", stop_daemon_command()], timeout=30)
