"""A bounded schemathesis run against a live portal: every operation of /api/schema/, a few
generated requests each, as a normal account and as an admin; no answer may be a server error.

The portal is the real web server (uvicorn, as ``make run`` starts it) on the test database,
holding a small simulated data centre (zone, cluster, two hosts, storage, an image, L2/L3
networks, an offering, a VM of each account) so that the stateful phase reaches real objects
through the API's links, not only 404s. Jobs the requests start are accepted and recorded, never
run: the broker is the web process's own memory and no worker reads it (the check is about the
API's answers; workers would compete with it for the machine's cores).

Kept lean for ``make test`` (well under three minutes): five examples per operation, phases
examples, fuzzing and stateful (the coverage phase adds a minute and once aborted on an internal
KeyError of schemathesis), one fixed seed so that CI runs the same cases (``SCHEMATHESIS_SEED``
chooses another).

What the run may not do, and why:
- ``POST /api/v1/auth/logout/`` is left out: it revokes the token the run authenticates with,
  and every later request would be a 401 that tests nothing.
- The normal account runs first: the admin's run may rename, re-password or delete that account
  and its users (it is allowed to), which would end the normal account's run. The admin cannot
  delete its own account or the user it is logged in as (409), and renaming or re-passwording
  its user keeps its token, so nothing else needs leaving out.
"""
import os
import re
import subprocess
import sys

import pytest

from apps.core.testing import client_for, make_account
from tests.compute.vm_env import Env
from tests.webserver import WebServer

MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "5")
PHASES = os.environ.get("SCHEMATHESIS_PHASES", "examples,fuzzing,stateful")
SEED = os.environ.get("SCHEMATHESIS_SEED", "20261206")
RUN_TIMEOUT = 300
EXCLUDED_PATHS = ["/api/v1/auth/logout/"]


@pytest.fixture
def alibaba(tmp_path):
    """The Alibaba Cloud emulator the hybrid endpoints call (the real service is neither reachable
    nor wanted from a test): a refused key is then the cloud's 400, not an unreachable endpoint's 503."""
    from tests.emulator.process import EmulatorProcess

    server = EmulatorProcess(tmp_path / "alibaba").start()
    yield server
    server.stop()


@pytest.fixture
def portal(transactional_db, sim_agent, alibaba, tmp_path):
    """A live web server on a test database with one of everything; its admin and normal users."""
    admin, tenant = make_account("st-admin", admin=True), make_account("st-tenant")
    env = Env(client_for(admin), None, tmp_path, hosts=2)
    from apps.storage.models import Image

    Image.objects.filter(uuid=env.image).update(public=True)  # the normal account may use it too
    env.create(name="admin-vm")
    from apps.hybrid.models import AlibabaAccessKey
    from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET

    for user in (admin, tenant):   # a key the emulator knows: the hybrid reads reach the cloud
        AlibabaAccessKey.objects.create(name="demo", account=user.account, access_key_id=DEMO_KEY_ID,
                                        access_key_secret=DEMO_KEY_SECRET, is_default=True)
    tenant_client = client_for(tenant)
    response = tenant_client.post("/api/v1/vm-instances/", env.body(name="tenant-vm"), format="json")
    assert response.status_code == 202, response.content
    server = WebServer(env={"CELERY_BROKER_URL": "memory://", "SIM_AGENT_URL": sim_agent.url,
                            "ALIBABA_CLOUD_ENDPOINT": alibaba.url, "LOG_LEVEL": "WARNING"}).start()
    try:
        yield server, {"admin": admin, "tenant": tenant}
    finally:
        server.stop()


def run_schemathesis(server, token, workdir):
    argv = [sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/api/schema/",
            "--checks", "not_a_server_error", "--max-examples", MAX_EXAMPLES, "--phases", PHASES,
            "--seed", SEED, "--header", f"Authorization: Token {token}", "--request-timeout", "30",
            "--no-color"]
    for path in EXCLUDED_PATHS:
        argv += ["--exclude-path", path]
    # its own directory: no schemathesis.toml of the project's is read, its reports stay there
    return subprocess.run(argv, cwd=workdir, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "120"})


def test_no_operation_answers_a_server_error(portal, tmp_path):
    from apps.accounts.models import ApiToken

    server, users = portal
    tokens = {who: ApiToken.issue(user) for who, user in users.items()}
    for who in ("tenant", "admin"):   # the normal account first: see the module's docstring
        result = run_schemathesis(server, tokens[who], tmp_path)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"schemathesis as {who} found failures:\n{output[-20000:]}"
        # every operation of the schema but the ones left out was tested
        selected, total = map(int, re.search(r"Selected: (\d+)/(\d+)", output).groups())
        assert selected == total - len(EXCLUDED_PATHS) > 100, output[-3000:]
        assert int(re.search(r"Tested: (\d+)", output).group(1)) == selected, output[-3000:]
    log = server.log()
    assert "Internal Server Error" not in log and "Traceback" not in log, log[-20000:]
