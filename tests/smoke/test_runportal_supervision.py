"""runportal's children never outlive it, even when it is killed with SIGKILL."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.smoke


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """A zero-setup SQLite database migrated once for the module: each test's portal starts from a
    copy (migrating takes seconds and gives the same file every time; tests/smoke/test_make_run.py
    runs `make run`'s own migrate)."""
    data_dir = tmp_path_factory.mktemp("migrated")
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--no-input", "-v0"],
                   env=_zero_setup_env(data_dir), check=True, cwd=ROOT)
    return data_dir


def _migrate(env, migrated):
    """The test's data directory gets the migrated database (what `manage.py migrate` would leave)."""
    for path in migrated.glob("cloudportal.sqlite3*"):
        shutil.copy2(path, Path(env["CLOUDPORTAL_DATA_DIR"]) / path.name)


def test_children_stop_when_the_supervisor_is_killed(tmp_path, migrated):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_TASK_DEFAULT_QUEUE",
                        "ALIBABA_CLOUD_ENDPOINT")}
    env["CLOUDPORTAL_DATA_DIR"] = str(tmp_path)
    manage = [sys.executable, str(ROOT / "manage.py")]
    _migrate(env, migrated)
    port = _free_port()
    supervisor = subprocess.Popen(manage + ["runportal", "--port", str(port)], env=env, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    children = []
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/api/v1/", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.3)
        children = psutil.Process(supervisor.pid).children()
        assert len(children) == 5  # web, worker, beat, simulator agent, Alibaba Cloud emulator
        supervisor.send_signal(signal.SIGKILL)
        supervisor.wait(timeout=5)
        gone, alive = psutil.wait_procs(children, timeout=20)
        assert not alive, [p.cmdline() for p in alive]
    finally:
        for proc in children:  # each child leads its own process group
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if supervisor.poll() is None:
            supervisor.kill()


def _zero_setup_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_TASK_DEFAULT_QUEUE",
                        "SIM_AGENT_URL", "PORT", "PORTAL_URL", "ALIBABA_CLOUD_ENDPOINT",
                        "ALIBABA_CLOUD_DEMO_ACCESS_KEY_ID", "ALIBABA_CLOUD_DEMO_ACCESS_KEY_SECRET")}
    env["CLOUDPORTAL_DATA_DIR"] = str(tmp_path)
    env.update(extra)
    return env


def _listening(port):
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def _web_port_with_free_sim_port():
    """A free web port whose simulator port (7071 moved as far as the web port is from 8000) is free."""
    for _ in range(100):
        web_port = _free_port()
        sim_port = 7071 + web_port - 8000
        if 1024 <= sim_port <= 65535:
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", sim_port))
                    return web_port
                except OSError:
                    continue
    pytest.skip("no free pair of ports")


def test_the_simulator_agent_port_follows_the_web_port(monkeypatch):
    from apps.core.management.commands.runportal import sim_agent_address

    monkeypatch.delenv("SIM_AGENT_URL", raising=False)
    web_port = _web_port_with_free_sim_port()
    assert sim_agent_address(web_port) == ("127.0.0.1", 7071 + web_port - 8000)


def test_a_taken_simulator_agent_port_is_not_used(monkeypatch):
    from apps.core.management.commands.runportal import sim_agent_address

    monkeypatch.delenv("SIM_AGENT_URL", raising=False)
    taken = _listening(0)
    try:
        port = taken.getsockname()[1]
        host, chosen = sim_agent_address(port - 7071 + 8000)  # the web port whose sim port is taken
        assert chosen != port
        with socket.socket() as sock:
            sock.bind((host, chosen))  # free
    finally:
        taken.close()


def test_a_taken_web_port_is_reported_by_number(tmp_path, migrated):
    env = _zero_setup_env(tmp_path)
    _migrate(env, migrated)
    taken = _listening(0)
    port = taken.getsockname()[1]
    try:
        done = subprocess.run([sys.executable, str(ROOT / "manage.py"), "runportal", "--port", str(port)], env=env,
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
    finally:
        taken.close()
    assert done.returncode != 0
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr
    assert "started" not in done.stdout  # nothing was started


def test_a_taken_simulator_agent_url_is_reported_by_number(tmp_path, migrated):
    taken = _listening(0)
    port = taken.getsockname()[1]
    env = _zero_setup_env(tmp_path, SIM_AGENT_URL=f"http://127.0.0.1:{port}")
    _migrate(env, migrated)
    try:
        done = subprocess.run([sys.executable, str(ROOT / "manage.py"), "runportal", "--port", str(_free_port())],
                              env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    finally:
        taken.close()
    assert done.returncode != 0
    assert f"port {port} of the simulator agent" in done.stderr and "already in use" in done.stderr
    assert "started" not in done.stdout


def test_a_second_portal_runs_beside_one_holding_its_simulator_port(tmp_path, migrated):
    """PORT=8001 beside a portal on 8000: the port the second portal's simulator agent would take
    is held by another process; it takes another one and runs."""
    web_port = _web_port_with_free_sim_port()
    held = _listening(7071 + web_port - 8000)
    env = _zero_setup_env(tmp_path, PORT=str(web_port))
    manage = [sys.executable, str(ROOT / "manage.py")]
    supervisor = None
    try:
        _migrate(env, migrated)
        supervisor = subprocess.Popen(manage + ["runportal"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 60
        ready = False
        while time.time() < deadline and supervisor.poll() is None and not ready:
            try:
                ready = requests.get(f"http://127.0.0.1:{web_port}/api/v1/", timeout=2).status_code == 200
            except requests.ConnectionError:
                time.sleep(0.3)
        assert ready, "the second portal did not come up"
        time.sleep(2)  # a simulator agent that could not bind its port would have exited by now
        assert supervisor.poll() is None
        children = psutil.Process(supervisor.pid).children()
        assert len(children) == 5
        agent = next(c for c in children if "hostagent" in c.cmdline())
        listening = {c.laddr.port for c in agent.net_connections() if c.status == psutil.CONN_LISTEN}
        assert listening and held.getsockname()[1] not in listening
    finally:
        held.close()
        if supervisor is not None:
            supervisor.send_signal(signal.SIGTERM)
            try:
                supervisor.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(supervisor.pid, signal.SIGKILL)


def test_the_alibaba_emulator_port_follows_the_web_port_unless_taken():
    from apps.core.management.commands.runportal import alibaba_emulator_port

    taken = _listening(0)
    try:
        port = taken.getsockname()[1]
        assert alibaba_emulator_port(port - 7090 + 8000) == 0   # taken: the emulator picks a free one
    finally:
        taken.close()
    for _ in range(100):
        web_port = _free_port()
        if 1024 <= 7090 + web_port - 8000 <= 65535 and alibaba_emulator_port(web_port):
            assert alibaba_emulator_port(web_port) == 7090 + web_port - 8000
            return
    pytest.skip("no free pair of ports")


def _run_portal(env, web_port, migrated):
    manage = [sys.executable, str(ROOT / "manage.py")]
    _migrate(env, migrated)
    supervisor = subprocess.Popen(manage + ["runportal", "--port", str(web_port)], env=env, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and supervisor.poll() is None:
        try:
            if requests.get(f"http://127.0.0.1:{web_port}/api/v1/", timeout=2).status_code == 200:
                return supervisor
        except requests.ConnectionError:
            time.sleep(0.3)
    supervisor.kill()
    raise AssertionError("the portal did not come up")


def _stop_portal(supervisor):
    supervisor.send_signal(signal.SIGTERM)
    try:
        supervisor.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(supervisor.pid, signal.SIGKILL)


def test_run_starts_the_alibaba_emulator_and_points_the_portal_at_it(tmp_path, migrated):
    """The hybrid pages work out of the box: web, worker and beat get ALIBABA_CLOUD_ENDPOINT and the
    demo key, and the real SDK signed with that key is answered by the emulator."""
    from alibabacloud_ecs20140526 import models as ecs_models
    from alibabacloud_ecs20140526.client import Client as EcsClient
    from alibabacloud_tea_openapi import models as open_api_models

    supervisor = _run_portal(_zero_setup_env(tmp_path), _free_port(), migrated)
    try:
        children = psutil.Process(supervisor.pid).children()
        emulator = next(c for c in children if "alibaba_emulator" in c.cmdline())
        web = next(c for c in children if "alibaba_emulator" not in c.cmdline() and "hostagent" not in c.cmdline()
                   and "celery" not in " ".join(c.cmdline()))
        environ = web.environ()
        endpoint = environ["ALIBABA_CLOUD_ENDPOINT"]
        assert endpoint.startswith("http://127.0.0.1:")
        assert str(tmp_path / "alibaba-emulator") in emulator.cmdline()
        assert environ["ALIBABA_CLOUD_DEMO_ACCESS_KEY_SECRET"] not in " ".join(emulator.cmdline())
        client = EcsClient(open_api_models.Config(
            access_key_id=environ["ALIBABA_CLOUD_DEMO_ACCESS_KEY_ID"],
            access_key_secret=environ["ALIBABA_CLOUD_DEMO_ACCESS_KEY_SECRET"],
            endpoint=endpoint.removeprefix("http://"), protocol="http"))
        regions = client.describe_regions(ecs_models.DescribeRegionsRequest()).body.regions.region
        assert "cn-hangzhou" in {r.region_id for r in regions}
    finally:
        _stop_portal(supervisor)
    assert (tmp_path / "alibaba-emulator" / "state.json").exists()


def test_run_leaves_the_emulator_out_when_an_endpoint_is_set(tmp_path, migrated):
    supervisor = _run_portal(_zero_setup_env(tmp_path, ALIBABA_CLOUD_ENDPOINT="https://ecs.aliyuncs.com"), _free_port(),
                             migrated)
    try:
        children = psutil.Process(supervisor.pid).children()
        assert len(children) == 4
        assert not any("alibaba_emulator" in c.cmdline() for c in children)
    finally:
        _stop_portal(supervisor)
