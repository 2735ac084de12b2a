"""The web server command: uvicorn serving ``cloudportal.asgi`` (HTTP and websockets).

One place for it: ``manage.py runportal`` (``make run``), the container's ``web`` mode, the
benchmarks and the browser test all start the server this way.

uvicorn with httptools and uvloop (pinned in requirements.txt; uvicorn picks them up) replaced daphne on 3 Dec 2026: in
``bench/vm_create.py`` Twisted's HTTP handling was 41 % of daphne's CPU samples, and the same
run with uvicorn took 20.1 -> 16.8 ms of web CPU per VM create and 25.5 -> 30.2 VMs/s
(docs/benchmarks.md). Channels runs unchanged on it (websockets through the ``websockets``
package). ``daphne`` stays installed for ``manage.py runserver``.

Access lines are off unless ``WEB_ACCESS_LOG=1``: the audit log (docs/api.md) already records
every change with its user, and a line per request costs CPU on a busy portal.
"""
import os
import sys
from pathlib import Path

APPLICATION = "cloudportal.asgi:application"
GRACEFUL_SHUTDOWN_SECONDS = 5  # open websockets (consoles, events) are closed after this


def command(host, port, log_level=None, extra=()):
    """argv for the web server on ``host``:``port`` with this Python's environment."""
    level = (log_level or os.environ.get("LOG_LEVEL", "INFO")).lower()
    argv = [str(Path(sys.executable).with_name("uvicorn")), APPLICATION, "--host", host, "--port", str(port),
            "--lifespan", "off", "--log-level", level,
            "--timeout-graceful-shutdown", str(GRACEFUL_SHUTDOWN_SECONDS)]
    if os.environ.get("WEB_ACCESS_LOG", "0") != "1":
        argv.append("--no-access-log")
    return argv + list(extra)
