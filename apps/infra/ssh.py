"""SSH to KVM hosts (paramiko), for deploying the host agent.

Failures become CloudPortalErrors with a code a program can switch on and a message
naming ``user@host:port``: ``SSH_AUTH_FAILED`` (the host answered, the credentials
were refused), ``SSH_UNREACHABLE`` (nothing answered, or not an SSH server),
``SSH_COMMAND_FAILED`` (a remote command exited non-zero). Passwords and keys are
never put in messages or logs.
"""
import io
import logging
import shlex
import socket

from apps.core.errors import CloudPortalError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0


class SshError(CloudPortalError):
    status = 409
    code = "SSH_ERROR"


def load_private_key(text):
    """A paramiko key from PEM/OpenSSH text (RSA, ECDSA or Ed25519); ValueError if it is not one."""
    import paramiko

    text = (text or "").strip() + "\n"
    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return kind.from_private_key(io.StringIO(text))
        except paramiko.PasswordRequiredException:
            raise ValueError("the private key is encrypted; give an unencrypted key") from None
        except (paramiko.SSHException, ValueError, TypeError, IndexError, AssertionError):
            continue
    raise ValueError("not a usable private key (RSA, ECDSA or Ed25519, PEM or OpenSSH format)")


class SshSession:
    """One SSH connection: ``run`` commands, ``put`` files (sftp)."""

    def __init__(self, hostname, port=22, username="root", password="", private_key="", timeout=CONNECT_TIMEOUT):
        self.hostname, self.port, self.username = hostname, int(port), username or "root"
        self.where = f"{self.username}@{hostname}:{self.port}"
        self._password, self._private_key, self.timeout = password, private_key, timeout
        self.client = None

    def __enter__(self):
        return self.connect()

    def __exit__(self, *exc):
        self.close()

    def connect(self):
        import paramiko

        client = paramiko.SSHClient()
        # Trust on first use: the operator names the host by address; its key is recorded in the facts.
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        kwargs = {"hostname": self.hostname, "port": self.port, "username": self.username,
                  "timeout": self.timeout, "banner_timeout": self.timeout, "auth_timeout": self.timeout,
                  "allow_agent": False, "look_for_keys": False}
        if self._private_key:
            try:
                kwargs["pkey"] = load_private_key(self._private_key)
            except ValueError as exc:
                raise SshError(f"SSH to {self.where}: {exc}", code="SSH_AUTH_FAILED") from None
        else:
            kwargs["password"] = self._password
        try:
            client.connect(**kwargs)
        except paramiko.AuthenticationException:
            client.close()
            how = "private key" if self._private_key else "password"
            raise SshError(f"SSH to {self.where} refused the {how} for user {self.username}",
                           code="SSH_AUTH_FAILED", details={"host": self.hostname, "port": self.port}) from None
        except (OSError, socket.timeout, paramiko.SSHException, EOFError) as exc:
            client.close()
            reason = str(exc) or type(exc).__name__
            raise SshError(f"cannot reach SSH at {self.hostname}:{self.port}: {reason}", code="SSH_UNREACHABLE",
                           details={"host": self.hostname, "port": self.port}) from None
        self.client = client
        return self

    def close(self):
        if self.client is not None:
            self.client.close()
            self.client = None

    def run(self, command, *, timeout=120, check=True, code="SSH_COMMAND_FAILED", what=None, stdin=None):
        """Run ``command`` with /bin/sh; returns ``(exit_status, output)`` (stdout+stderr).
        With ``check``, a non-zero exit raises ``code`` with the tail of the output."""
        try:
            chan = self.client.get_transport().open_session(timeout=self.timeout)
            chan.settimeout(timeout)
            chan.set_combine_stderr(True)
            chan.exec_command(command)
            if stdin is not None:
                chan.sendall(stdin.encode() if isinstance(stdin, str) else stdin)
                chan.shutdown_write()
            chunks = []
            while True:
                data = chan.recv(65536)
                if not data:
                    break
                chunks.append(data)
            status = chan.recv_exit_status()
            chan.close()
        except (OSError, socket.timeout, EOFError) as exc:
            raise SshError(f"{what or 'a command'} on {self.where} did not finish: {exc or type(exc).__name__}",
                           code=code) from None
        output = b"".join(chunks).decode(errors="replace")
        if check and status != 0:
            raise SshError(f"{what or 'a command'} failed on {self.where} (exit {status}): {tail(output)}",
                           code=code, details={"exit_status": status, "output_tail": tail(output, 2000)})
        return status, output

    def put(self, data, remote_path, mode=0o644):
        """Write ``data`` (bytes) to ``remote_path`` with ``mode``, created with that mode (no window
        where a secret is readable by others)."""
        sftp = self.client.open_sftp()
        try:
            tmp = remote_path + ".part"
            with sftp.open(tmp, "wb") as fh:
                sftp.chmod(tmp, mode)
                fh.write(data)
            sftp.posix_rename(tmp, remote_path)
        finally:
            sftp.close()


def tail(text, limit=800):
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-limit:]


def q(value):
    return shlex.quote(str(value))
