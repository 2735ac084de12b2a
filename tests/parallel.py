"""Per-worker resources under pytest-xdist: ``make test`` runs ``-p tests.parallel -n 2 --dist
loadgroup`` from the project's directory (``-p`` loads it before Django reads its settings; pass
it too when running pytest with ``-n`` by hand).

pytest-django gives each xdist worker a test database of its own (``test_<name>_gw0``, ``_gw1``);
everything else a worker shares with the others would mix their tests' state, so here each one
gets its own before the settings are read (the Celery workers, web servers and agents the tests
start inherit the environment):
- Redis: worker N uses the databases of ``REDIS_URL`` and ``CELERY_BROKER_URL`` plus 2N (gw0 keeps
  them), so caches, channel groups and queues keyed by the test database's ids never meet another
  worker's rows (two databases each; from 0/1 that is 2/3 for gw1);
- the portal's Prometheus multi-process files: a directory of its own, so one worker's web servers
  never count in another's ``/metrics``.

Without xdist (``-n 0`` or not installed) this does nothing.
"""
import atexit
import os
import re
import shutil
import tempfile

import pytest

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _shifted(url, by):
    """``url`` (redis://host:port/N) with its database number plus ``by``; other URLs unchanged."""
    match = re.fullmatch(r"(rediss?://[^/]*)(?:/(\d*))?", url)
    if not match or not by:
        return url
    database = int(match.group(2) or 0) + by
    if database > 15:
        raise RuntimeError(f"xdist worker {WORKER}: Redis database {database} of {url} is past 15 (Redis's default"
                           " count); use lower database numbers or fewer workers")
    return f"{match.group(1)}/{database}"


if WORKER.startswith("gw"):
    number = int(WORKER[2:])
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        if os.environ.get(name):
            os.environ[name] = _shifted(os.environ[name], 2 * number)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=f"cp-portal-metrics-{WORKER}-")
    atexit.register(shutil.rmtree, os.environ["PROMETHEUS_MULTIPROC_DIR"], True)


@pytest.hookimpl(tryfirst=True)   # before xdist's own, which turns the groups into node ids
def pytest_collection_modifyitems(config, items):
    """With ``--dist loadgroup`` a group runs on one worker. A module is one group, so its
    module-scoped servers (agents, browsers, web servers) start once; the tests on the two libvirt
    hosts (tests/two_hosts.py, a session fixture of two libvirtds) are one group across modules,
    so only one worker starts them. A test that names its own group keeps it."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        group = "two_hosts" if "two_hosts" in getattr(item, "fixturenames", ()) else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))
