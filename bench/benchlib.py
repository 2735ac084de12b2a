"""What the benchmark scripts share (each runs as ``python bench/<name>.py``, so this directory is
on ``sys.path``)."""
import argparse
import socket
import sys
import time


def arg_parser(doc):
    """A parser whose description is the script's docstring's first paragraph and whose epilog is
    the rest (the usage examples and targets)."""
    return argparse.ArgumentParser(description=doc.split("\n\n")[0], epilog=doc.split("\n\n", 1)[1],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def speed_probe(rounds=3):
    """CPU ms of a fixed pure-Python workload (best of ``rounds``): this machine's speed now. The
    machines these benchmarks run on change speed by a fifth from one run to the next with nothing
    else running; a run's figures are comparable with another's only next to this."""
    import time

    best = None
    for _ in range(rounds):
        started = time.process_time()
        table = {}
        for i in range(300_000):
            table[i % 1000] = table.get(i % 1000, 0) + len(str(i))
        spent = 1000 * (time.process_time() - started)
        best = spent if best is None else min(best, spent)
    return best


def interpreter():
    """This Python's version and the interpreter behind its virtualenv: builds differ in speed
    (a distribution's, compiled with profile-guided optimisation, ran the portal ≈ 10 % faster
    than a default pyenv build on the same machine; docs/benchmarks.md)."""
    import platform
    import sys

    return f"{platform.python_version()} ({getattr(sys, '_base_executable', sys.executable)})"


def free_port():
    """A TCP port nothing on 127.0.0.1 listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def django_for_bench(name, database_url, zero_setup, redis_url=None):
    """Django set up in this process on a database of the bench's own, migrated: SQLite in a fresh
    temporary data directory (``zero_setup``), else ``database_url`` (MariaDB, dropped and made
    again); Redis (live events, cache) only when ``redis_url`` is given. Returns the data directory."""
    import os
    import subprocess
    import sys
    import uuid
    from pathlib import Path

    from vm_create import fresh_database

    root = Path(__file__).resolve().parent.parent
    workdir = Path(f"/tmp/cp-bench-{name}-{uuid.uuid4().hex[:8]}")
    env = dict(os.environ, LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="cloudportal.settings",
               CLOUDPORTAL_DATA_DIR=str(workdir / "data"))
    for variable in ("REDIS_URL", "CELERY_BROKER_URL"):
        env.pop(variable, None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    if zero_setup:
        env.pop("DATABASE_URL", None)
    else:
        fresh_database(database_url)
        env["DATABASE_URL"] = database_url
    os.environ.clear()
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=root, env=env, check=True)
    import django

    django.setup()
    return workdir / "data"


def wait_for_workers(queue, count, timeout=120):
    """Until the ``count`` Celery workers named ``<queue>-<i>@<host>`` answer a ping: their start-up
    (imports, Django's checks) must not be counted in the CPU a benchmark measures from then on."""
    from cloudportal.celery import app

    names = [f"{queue}-{i}@{socket.gethostname()}" for i in range(count)]
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(app.control.ping(destination=names, timeout=1.0)) >= count:
            return
    sys.exit(f"the {count} Celery workers did not answer within {timeout} s")
