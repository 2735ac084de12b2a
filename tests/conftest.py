"""Shared fixtures. Tests run on whatever DATABASE_URL/REDIS_URL point at: MariaDB
and Redis in CI, SQLite and the filesystem broker on a zero-setup machine."""
import pytest

from apps.core.testing import client_for, make_account  # noqa: F401  (re-exported for tests)
from cloudportal.celery import app as celery_app
# Declared here, once: a session fixture imported into several modules is one fixture per module,
# and each started its own pair of libvirtds and agents (and kept it to the end of the run).
from tests.two_hosts import two_hosts, two_kvm_hosts  # noqa: F401


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """PBKDF2 at full strength costs ~0.3 s per user; tests create many."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True, scope="session")
def _check_prepared_queries():
    """Every prepared query (apps.core.prepared) is also built and its SQL compared with the kept
    one: a shape whose key misses something fails here instead of running the wrong SQL. Worker
    processes the tests start inherit it through the environment."""
    import os

    from django.conf import settings

    os.environ["PREPARED_QUERIES_CHECK"] = "1"
    settings.PREPARED_QUERIES_CHECK = True


@pytest.fixture(autouse=True)
def _fresh_global_configs():
    """Global config values and overrides are cached for a second per process; a test's change,
    rolled back with its transaction (no signal clears the cache then), must not leak into the next."""
    from apps.core.globalconfig.registry import clear_cache

    clear_cache()
    yield
    clear_cache()


@pytest.fixture(autouse=True)
def _fresh_token_cache():
    """API tokens read in the last second are trusted without a read (apps.accounts.authentication):
    a change a test made without a signal (bulk update, rolled back) must not leak into the next."""
    from apps.accounts.authentication import recent_tokens

    recent_tokens.clear()
    yield
    recent_tokens.clear()


@pytest.fixture(autouse=True)
def _fresh_row_cache():
    """Configuration rows flows read are kept a second (apps.core.rowcache); a test's rows, rolled
    back with its transaction (no signal), must not leak into the next."""
    from apps.core import rowcache

    rowcache.forget()
    yield
    rowcache.forget()


@pytest.fixture(autouse=True)
def _fresh_login_throttle(settings):
    """Failed logins are counted in the cache (apps.accounts.throttle), Redis in CI: each test
    counts under its own key prefix, so one test's failures never refuse another's logins."""
    import uuid

    settings.LOGIN_THROTTLE_PREFIX = f"cp:login-test:{uuid.uuid4().hex}"


@pytest.fixture(autouse=True)
def _eager_jobs():
    """Jobs started by API calls run in-process (real engine, same transaction)
    unless a test starts real workers (see tests/workers.py)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def admin_user(db):
    return make_account("root-admin", admin=True)


@pytest.fixture
def admin_client(admin_user):
    return client_for(admin_user)


@pytest.fixture
def tenant_user(db):
    return make_account("tenant-a")


@pytest.fixture
def tenant_client(tenant_user):
    return client_for(tenant_user)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so a fixture can see in its teardown
    whether the test failed (``item.rep_call``)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def celery_workers(transactional_db, request):
    """Two real Celery worker processes (solo pool) on a private queue; jobs
    started by the test go to them instead of running in-process. When the test
    fails, the workers' logs are printed (pytest shows them under the failure)."""
    from tests.workers import Workers

    workers = Workers(count=2).start()
    previous = (celery_app.conf.task_always_eager, celery_app.conf.task_default_queue)
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = workers.queue
    try:
        yield workers
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = previous
        workers.stop()
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print(f"celery worker logs:\n{workers.logs()}")


@pytest.fixture(scope="module")
def sim_agent_process():
    """One simulator agent process per test module (tests/hostagent/conftest.py AgentProcess)."""
    from tests.hostagent.conftest import ADMIN_TOKEN, AgentProcess

    agent = AgentProcess("--backend", "sim", "--admin-token", ADMIN_TOKEN).start()
    yield agent
    agent.stop()


@pytest.fixture
def sim_agent(sim_agent_process, settings):
    """The portal talks to the module's simulator agent; faults injected by a test are cleared after it."""
    from tests.hostagent.conftest import ADMIN_TOKEN

    settings.SIM_AGENT_URL = sim_agent_process.url
    settings.SIM_AGENT_TOKEN = ADMIN_TOKEN
    yield sim_agent_process
    sim_agent_process.admin("DELETE", "/sim/faults")
