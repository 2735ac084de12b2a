"""A real NFS server for tests: nfs-ganesha (userspace, FSAL_VFS, NFSv4 only) serving a fresh
directory on 127.0.0.1 at a free port, started and stopped by the test (no systemd here).

Debian's kernel server (nfs-kernel-server) cannot run in this container: the kernel has no nfsd
(/proc/filesystems lists neither nfsd nor nfs). The kernel NFS *client* is missing the same way,
so mount.nfs answers "mount.nfs: No such device": ``kernel_nfs_client()`` says which case a test
is in. libnfs-utils (nfs-ls, nfs-cat: a userspace client) checks what the server serves."""
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from tests.hostagent.conftest import free_port

CONFIG = """NFS_CORE_PARAM {{
    Protocols = 4;
    NFS_Port = {port};
    Bind_addr = 127.0.0.1;
    Enable_NLM = false;
    Enable_RQUOTA = false;
}}
NFSV4 {{ Graceless = true; }}
EXPORT {{
    Export_Id = 1;
    Path = {export};
    Pseudo = /export;
    Access_Type = RW;
    Squash = No_Root_Squash;
    Protocols = 4;
    SecType = sys;
    FSAL {{ Name = VFS; }}
}}
LOG {{ Default_Log_Level = WARN; }}
"""


def kernel_nfs_client():
    """True when this kernel can mount NFS (an nfs filesystem is registered)."""
    try:
        with open("/proc/filesystems") as filesystems:
            return any(line.split()[-1] in ("nfs", "nfs4") for line in filesystems if line.strip())
    except OSError:
        return False


class NfsServer:
    def __init__(self):
        if not shutil.which("ganesha.nfsd"):
            pytest.skip("nfs-ganesha is not installed (apt-get install nfs-ganesha nfs-ganesha-vfs)")
        self.dir = tempfile.mkdtemp(prefix="cp-nfs-")
        self.export = os.path.join(self.dir, "export")
        os.mkdir(self.export)
        os.chmod(self.dir, 0o755)
        os.chmod(self.export, 0o777)
        self.port = free_port()
        self.config = os.path.join(self.dir, "ganesha.conf")
        with open(self.config, "w") as config:
            config.write(CONFIG.format(port=self.port, export=self.export))
        self.log = os.path.join(self.dir, "ganesha.log")
        # -F: in the foreground, so the test owns the process and ends it by its pid
        self.process = subprocess.Popen(
            ["ganesha.nfsd", "-F", "-f", self.config, "-L", self.log, "-p", os.path.join(self.dir, "pid"),
             "-N", "NIV_WARN"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        log = open(self.log).read()[-2000:] if os.path.exists(self.log) else ""
        self.stop()
        pytest.fail(f"nfs-ganesha did not listen on {self.port}: {log}")

    @property
    def url(self):
        return "nfs://127.0.0.1/export"

    @property
    def mount_options(self):
        return f"vers=4.1,proto=tcp,port={self.port}"

    def listing(self, path=""):
        """Names under the export as an NFS client sees them (libnfs's nfs-ls), or None without it."""
        if not shutil.which("nfs-ls"):
            return None
        result = subprocess.run(["nfs-ls", f"nfs://127.0.0.1/export{path}?version=4&nfsport={self.port}"],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        return sorted(line.split()[-1] for line in result.stdout.splitlines() if line.strip())

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def nfs_server():
    server = NfsServer()
    yield server
    server.stop()
