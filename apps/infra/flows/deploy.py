"""Adding a KVM host over SSH: deploy the host agent, start it, connect.

ADD_KVM_HOST = RecordHost, CheckSsh, CheckLibvirt, CopyAgent, CreateVenv, WriteConfig,
InstallService, StartAgent, ConnectAgent, MarkConnected. Each step that changes the
remote machine records what it created in the flow context, and its rollback removes
exactly that (stops the agent, removes the unit or supervisor script, the config and
secret, the copied package and its virtualenv), so a failed add leaves no host row,
no agent running and no files.

Remote layout (roots from settings, for tests):
  KVM_AGENT_INSTALL_DIR (/opt/cloudportal-agent)/<version>/hostagent/   the package
                                                  /<version>/venv/       its virtualenv
                                                  supervise.sh, agent.pid, agent.log  (no systemd)
  KVM_AGENT_CONFIG_DIR  (/etc/cloudportal-agent)/agent.json, agent.secret (0600)
  KVM_AGENT_STATE_DIR   (/var/lib/cloudportal-agent)/  the agent's DHCP files and bridge records
  /etc/systemd/system/cloudportal-agent.service                          (systemd)
"""
import io
import ipaddress
import json
import logging
import tarfile
import time
from pathlib import Path

from django.conf import settings

import hostagent
from apps.core.errors import CloudPortalError
from apps.core.flows import DbStep, Flow, NoRollback, RemoteStep

from .. import agent
from ..models import Host
from ..ssh import SshSession, q, tail
from .hosts import ConnectAgent, MarkConnected, RecordHost, RunConnectHooks

log = logging.getLogger(__name__)

UNIT_NAME = "cloudportal-agent.service"
UNIT_PATH = f"/etc/systemd/system/{UNIT_NAME}"
DEFAULT_PIP_PACKAGES = ["aiohttp==3.14.5", "libvirt-python==12.8.0"]
# what the agent imports only for some paths (config drives: hostagent/backends/config_drive.py),
# installed on its own so that a host with the two above from its distribution builds nothing
OPTIONAL_PIP_PACKAGES = {"pycdlib": "pycdlib==1.22.0"}


def install_dir():
    return getattr(settings, "KVM_AGENT_INSTALL_DIR", "/opt/cloudportal-agent").rstrip("/")


def config_dir():
    return getattr(settings, "KVM_AGENT_CONFIG_DIR", "/etc/cloudportal-agent").rstrip("/")


def state_dir():
    return getattr(settings, "KVM_AGENT_STATE_DIR", "/var/lib/cloudportal-agent").rstrip("/")


def version_dir(version=None):
    return f"{install_dir()}/{version or hostagent.__version__}"


def _host(ctx):
    return Host.objects.get(uuid=ctx.args["host_uuid"])


def ssh_for(host):
    return SshSession(host.management_ip, host.ssh_port, host.username, password=host.password,
                      private_key=host.private_key)


def _mkdirs(ssh, paths):
    """Create the missing ones of ``paths`` (parents first); return those this call created."""
    created = []
    for path in paths:
        status, _ = ssh.run(f"test -d {q(path)}", check=False)
        if status != 0:
            ssh.run(f"mkdir -p {q(path)}", what=f"mkdir {path}", code="AGENT_INSTALL_FAILED")
            created.append(path)
    return created


def agent_tarball():
    """The portal's own ``hostagent`` package (what this portal speaks), as a tar.gz."""
    source = Path(hostagent.__file__).resolve().parent
    buf = io.BytesIO()

    def keep(info):
        name = info.name
        if "__pycache__" in name or name.endswith((".pyc", ".pyo")) or "/tests" in name:
            return None
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(str(source), arcname="hostagent", filter=keep)
    return buf.getvalue()


# --- checks --------------------------------------------------------------------------------


class CheckSsh(RemoteStep, NoRollback):
    """Log in with the password or key (SSH_AUTH_FAILED / SSH_UNREACHABLE) and look for python3."""

    def run(self, ctx):
        host = _host(ctx)
        with ssh_for(host) as ssh:
            _, out = ssh.run("uname -sm; command -v python3 || echo NO-PYTHON3", check=False)
        if "NO-PYTHON3" in out:
            raise CloudPortalError(f"python3 is not installed on {host.management_ip}: install python3 "
                                   "(and python3-venv) first", code="AGENT_INSTALL_FAILED", status=409)
        ctx.remote_system = out.splitlines()[0] if out else ""


class CheckLibvirt(RemoteStep, NoRollback):
    """libvirtd must run there: ``virsh -c qemu:///system version``, or its socket without virsh."""

    def run(self, ctx):
        host = _host(ctx)
        command = ("if command -v virsh >/dev/null 2>&1; then virsh -c qemu:///system version; "
                   "else test -S /run/libvirt/libvirt-sock || test -S /var/run/libvirt/libvirt-sock "
                   "|| { echo 'no virsh and no libvirtd socket'; exit 1; }; fi")
        with ssh_for(host) as ssh:
            status, out = ssh.run(command, check=False, timeout=60)
        if status != 0:
            raise CloudPortalError(
                f"libvirt is missing or libvirtd is not running on {host.management_ip}: {tail(out, 400)} "
                "(install libvirt-daemon-system and qemu-system-x86 and start libvirtd)",
                code="LIBVIRT_MISSING", status=409, details={"output_tail": tail(out, 2000)})


# --- install ---------------------------------------------------------------------------------


class CopyAgent(RemoteStep):
    """sftp the package to <install>/<version>/ (what this call created is removed on rollback)."""

    def run(self, ctx):
        host = _host(ctx)
        target = version_dir()
        with ssh_for(host) as ssh:
            ctx.created_install_dirs = ctx.get("created_install_dirs", []) + _mkdirs(ssh, [install_dir(), target])
            ssh.run(f"rm -rf {q(target + '/hostagent')}", what="removing an old copy", code="AGENT_INSTALL_FAILED")
            ssh.put(agent_tarball(), f"{target}/hostagent.tar.gz", mode=0o644)
            ssh.run(f"cd {q(target)} && tar -xzf hostagent.tar.gz && rm -f hostagent.tar.gz",
                    what="unpacking the agent", code="AGENT_INSTALL_FAILED")
        ctx.agent_dir = target

    def rollback(self, ctx):
        created = ctx.get("created_install_dirs", [])
        if not created:
            target = ctx.get("agent_dir")
            if target:  # the version dir was there before (another install): remove only the package
                with ssh_for(_host(ctx)) as ssh:
                    ssh.run(f"rm -rf {q(target + '/hostagent')} {q(target + '/hostagent.tar.gz')}")
            return
        with ssh_for(_host(ctx)) as ssh:
            for path in reversed(created):
                ssh.run(f"rm -rf {q(path)}")


class CreateVenv(RemoteStep):
    """python3 -m venv --system-site-packages (a distribution's python3-libvirt is then usable);
    pip installs aiohttp / libvirt-python only when the venv cannot import them."""

    def run(self, ctx):
        host = _host(ctx)
        venv = f"{version_dir()}/venv"
        packages = getattr(settings, "KVM_AGENT_PIP_PACKAGES", DEFAULT_PIP_PACKAGES)
        check = f"{q(venv + '/bin/python')} -c 'import aiohttp, libvirt'"
        started = time.monotonic()
        with ssh_for(host) as ssh:
            status, _ = ssh.run(f"test -x {q(venv + '/bin/python')}", check=False)
            if status != 0:
                ctx.created_venv = venv
                ssh.run(f"python3 -m venv --system-site-packages {q(venv)}", timeout=300,
                        what="creating the agent's virtualenv (python3 -m venv; is python3-venv installed?)",
                        code="AGENT_INSTALL_FAILED")
            status, _ = ssh.run(check, check=False)
            if status != 0:
                ssh.run(f"{q(venv + '/bin/pip')} install --disable-pip-version-check --no-input -q "
                        + " ".join(q(p) for p in packages), timeout=900,
                        what=f"pip install {' '.join(packages)}", code="AGENT_INSTALL_FAILED")
                ssh.run(check, what="importing aiohttp and libvirt in the agent's virtualenv",
                        code="AGENT_INSTALL_FAILED")
            for module, package in OPTIONAL_PIP_PACKAGES.items():
                if ssh.run(f"{q(venv + '/bin/python')} -c 'import {module}'", check=False)[0] != 0:
                    ssh.run(f"{q(venv + '/bin/pip')} install --disable-pip-version-check --no-input -q {q(package)}",
                            timeout=300, what=f"pip install {package}", code="AGENT_INSTALL_FAILED")
        ctx.venv_seconds = round(time.monotonic() - started, 1)

    def rollback(self, ctx):
        venv = ctx.get("created_venv")
        if venv:
            with ssh_for(_host(ctx)) as ssh:
                ssh.run(f"rm -rf {q(venv)}")


class WriteConfig(RemoteStep):
    """agent.json (libvirt backend, this host's uuid, port) and agent.secret, both 0600."""

    def run(self, ctx):
        host = _host(ctx)
        cdir = config_dir()
        try:
            ipaddress.ip_address(host.management_ip)
            listen = host.management_ip
        except ValueError:
            listen = "0.0.0.0"
        config = {"backend": "libvirt", "listen": listen, "port": host.agent_port, "host_uuid": str(host.uuid),
                  "secret_file": f"{cdir}/agent.secret", "portal_url": settings.PORTAL_URL,
                  "libvirt_uri": "qemu:///system", "state_dir": state_dir()}
        with ssh_for(host) as ssh:
            ctx.created_config_dirs = ctx.get("created_config_dirs", []) + _mkdirs(ssh, [cdir])
            ctx.config_files = [f"{cdir}/agent.secret", f"{cdir}/agent.json"]
            ssh.put(host.agent_secret.encode(), f"{cdir}/agent.secret", mode=0o600)
            ssh.put(json.dumps(config, indent=2).encode(), f"{cdir}/agent.json", mode=0o600)

    def rollback(self, ctx):
        files = ctx.get("config_files", [])
        dirs = ctx.get("created_config_dirs", [])
        if files or dirs:
            with ssh_for(_host(ctx)) as ssh:
                ssh.run("rm -f " + " ".join(q(f) for f in files + [f + ".part" for f in files]))
                for path in reversed(dirs):
                    ssh.run(f"rm -rf {q(path)}")


def supervisor_script(vdir):
    root, cdir = install_dir(), config_dir()
    return f"""#!/bin/sh
# CloudPortal host agent supervisor (no systemd here): restarts the agent when it exits;
# SIGTERM stops both. Written by the portal's add-host flow.
PIDFILE={q(root + '/agent.pid')}
CHILDFILE={q(root + '/agent-child.pid')}
echo $$ > "$PIDFILE"
child=
stop() {{
  [ -n "$child" ] && kill -TERM "$child" 2>/dev/null && wait "$child" 2>/dev/null
  rm -f "$PIDFILE" "$CHILDFILE"
  exit 0
}}
trap stop TERM INT
while :; do
  PYTHONPATH={q(vdir)} {q(vdir + '/venv/bin/python')} -m hostagent --config {q(cdir + '/agent.json')} \\
      >> {q(root + '/agent.log')} 2>&1 &
  child=$!
  echo "$child" > "$CHILDFILE"
  wait "$child"
  sleep 2 &
  wait $!
done
"""


def systemd_unit(vdir):
    return f"""[Unit]
Description=CloudPortal host agent
After=network-online.target libvirtd.service
Wants=libvirtd.service

[Service]
Environment=PYTHONPATH={vdir}
ExecStart={vdir}/venv/bin/python -m hostagent --config {config_dir()}/agent.json
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
"""


def stop_daemon_command():
    root = install_dir()
    pidfile, childfile = q(root + "/agent.pid"), q(root + "/agent-child.pid")
    return (f"for f in {pidfile} {childfile}; do [ -f $f ] || continue; pid=$(cat $f); "
            "kill -TERM $pid 2>/dev/null; i=0; while kill -0 $pid 2>/dev/null && [ $i -lt 50 ]; do "
            "sleep 0.2; i=$((i+1)); done; kill -KILL $pid 2>/dev/null; done; "
            f"rm -f {pidfile} {childfile}; true")


def uses_systemd(ssh):
    status, _ = ssh.run("test -d /run/systemd/system && command -v systemctl >/dev/null", check=False)
    return status == 0


class InstallService(RemoteStep):
    """A systemd unit where systemd runs, else a supervisor script started with setsid/nohup."""

    def run(self, ctx):
        host = _host(ctx)
        vdir = version_dir()
        with ssh_for(host) as ssh:
            if uses_systemd(ssh):
                ctx.service = "systemd"
                ssh.put(systemd_unit(vdir).encode(), UNIT_PATH, mode=0o644)
                ssh.run(f"systemctl daemon-reload && systemctl enable {UNIT_NAME}", what="enabling the unit",
                        code="AGENT_INSTALL_FAILED")
            else:
                ctx.service = "daemon"
                ssh.put(supervisor_script(vdir).encode(), f"{install_dir()}/supervise.sh", mode=0o755)

    def rollback(self, ctx):
        service = ctx.get("service")
        if not service:
            return
        with ssh_for(_host(ctx)) as ssh:
            if service == "systemd":
                ssh.run(f"systemctl disable --now {UNIT_NAME}; rm -f {UNIT_PATH}; systemctl daemon-reload; true")
            else:
                ssh.run(stop_daemon_command())
                ssh.run(f"rm -f {q(install_dir() + '/supervise.sh')} {q(install_dir() + '/agent.log')}")


def stop_agent(ssh, service):
    if service == "systemd":
        ssh.run(f"systemctl stop {UNIT_NAME}; true")
    else:
        ssh.run(stop_daemon_command())


class StartAgent(RemoteStep):
    """Start the service, then wait until the agent answers a signed ping (AGENT_START_FAILED)."""

    timeout = 90.0

    def run(self, ctx):
        host = _host(ctx)
        root = install_dir()
        with ssh_for(host) as ssh:
            ctx.started = True
            if ctx.service == "systemd":
                ssh.run(f"systemctl restart {UNIT_NAME}", what="starting the agent", code="AGENT_START_FAILED")
            else:
                stop_agent(ssh, "daemon")
                ssh.run(f"setsid nohup /bin/sh {q(root + '/supervise.sh')} >/dev/null 2>&1 </dev/null &",
                        what="starting the agent", code="AGENT_START_FAILED")
            deadline = time.monotonic() + self.timeout
            last = None
            while time.monotonic() < deadline:
                try:
                    agent.call(host, "/v1/host/ping", timeout=3)
                    return
                except CloudPortalError as exc:
                    last = exc.message
                time.sleep(0.5)
            if ctx.service == "systemd":
                _, logs = ssh.run(f"journalctl -u {UNIT_NAME} -n 30 --no-pager", check=False)
            else:
                _, logs = ssh.run(f"tail -n 30 {q(root + '/agent.log')}", check=False)
        raise CloudPortalError(
            f"the agent on {host.management_ip}:{host.agent_port} did not answer within {self.timeout:.0f}s "
            f"({last}); its log ends with: {tail(logs, 600)}", code="AGENT_START_FAILED", status=409)

    def rollback(self, ctx):
        if ctx.get("started"):
            with ssh_for(_host(ctx)) as ssh:
                stop_agent(ssh, ctx.get("service"))


class UpgradeAgentIfStale(RemoteStep):
    """Reconnect: a KVM host whose agent reports another version than the portal's ``hostagent``
    gets this one deployed in place (new <version>/ dir, venv, config, service restarted), then
    connected again. A part that fails is undone by the rollback (the reconnect then fails: host
    Disconnected); a finished upgrade stays."""

    PARTS = (CopyAgent, CreateVenv, WriteConfig, InstallService, StartAgent)

    def run(self, ctx):
        host = _host(ctx)
        if host.hypervisor_type != "KVM" or host.agent_version == hostagent.__version__:
            return
        old = host.agent_version
        for part in self.PARTS:
            ctx.upgrading = part.step_name()
            part().run(ctx)
        del ctx.upgrading
        ConnectAgent().run(ctx)
        ctx.upgraded = {"from": old, "to": hostagent.__version__}

    def rollback(self, ctx):
        part = next((p for p in self.PARTS if p.step_name() == ctx.get("upgrading")), None)
        if part is not None:
            part().rollback(ctx)


def undeploy_agent(host):
    """Stop a KVM host's agent and remove its unit or supervisor, config, secret, package and
    virtualenv, and its state directory once empty (the network clean-up before it empties it;
    what it could not remove is recorded there and stays, ``state_dir_kept``). Best effort:
    answers what happened (``{"removed": bool, ...}``), never raises for an unreachable host."""
    try:
        with ssh_for(host) as ssh:
            if uses_systemd(ssh):
                ssh.run(f"systemctl disable --now {UNIT_NAME}; rm -f {UNIT_PATH}; systemctl daemon-reload; true")
            else:
                ssh.run(stop_daemon_command())
            ssh.run(f"rm -rf {q(install_dir())} {q(config_dir())}", what="removing the agent's files")
            state = state_dir()
            status, _ = ssh.run(f"rmdir {q(state + '/dhcp')} 2>/dev/null; rmdir {q(state)} 2>/dev/null; "
                                f"test ! -e {q(state)}", check=False)
        if status != 0:
            return {"removed": True, "state_dir_kept": state}
        return {"removed": True}
    except CloudPortalError as exc:
        log.warning("host %s: the agent could not be removed: %s", host.uuid, exc.message)
        return {"removed": False, "code": exc.code, "message": exc.message}


class UndeployAgent(RemoteStep, NoRollback):
    """Deleting a KVM host: undeploy its agent (best effort: a host that cannot be reached is
    deleted anyway, and the job's result says what was left, ``undeploy``)."""

    def run(self, ctx):
        from apps.core.cascade import clean_up_root

        # the host's clean-up (other apps' hooks, which may still need the agent, then the undeploy
        # registered last in compute/cascade.py) before its children go
        outcome = clean_up_root(ctx) or {}
        if "undeploy" in outcome:
            ctx.undeploy = outcome["undeploy"]


ADD_KVM_HOST = Flow("add-kvm-host", [RecordHost, CheckSsh, CheckLibvirt, CopyAgent, CreateVenv, WriteConfig,
                                     InstallService, StartAgent, ConnectAgent, RunConnectHooks, MarkConnected],
                    action="add-host", timeout=3600)


def _delete_kvm_host_flow():
    from apps.core.cascade import ClaimChildren, DeleteChildren, DeleteResource

    class ReportUndeploy(DbStep, NoRollback):
        def run(self, ctx):
            if ctx.get("undeploy") is not None:
                ctx.result = {**(ctx.get("result") or {}), "undeploy": ctx.undeploy}

    return Flow("delete-kvm-host", [ClaimChildren, UndeployAgent, DeleteChildren, DeleteResource, ReportUndeploy],
                action="delete")


DELETE_KVM_HOST = _delete_kvm_host_flow()
