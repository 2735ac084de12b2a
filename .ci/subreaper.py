#!/usr/bin/env python3
"""Run a command as a child subreaper: orphaned descendants are reparented to this
process, which reaps them at once.

Why: on this machine kind PID 1 reaps exited processes slowly, and libvirtd waits
for every QEMU it spawns (capability probes, destroyed domains) to be reaped; under
a subreaper `virsh capabilities` and `destroy()` take milliseconds instead of
seconds (TESTBED.md). Used by .ci/run to start libvirtd in the foreground:

    setsid python3 .ci/subreaper.py libvirtd >/var/log/libvirtd-ci.log 2>&1 &
"""
import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit(f"prctl(PR_SET_CHILD_SUBREAPER) failed: errno {ctypes.get_errno()}")
    child = os.fork()
    if child == 0:
        os.execvp(sys.argv[1], sys.argv[1:])
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signum, _frame: os.kill(child, signum))
    status = 0
    while True:
        try:
            pid, wait_status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid == child:
            status = os.waitstatus_to_exitcode(wait_status)
    sys.exit(status if status >= 0 else 128 - status)


if __name__ == "__main__":
    main()
