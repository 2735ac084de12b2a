"""The console in a real browser: Chromium (Playwright) opens the API's console_url on a
real web server (uvicorn, as `make run` starts it), noVNC connects through the websocket proxy to
the running QEMU domain and authenticates with the VM's password (its 'connect' event fires, the canvas has a size).

Skipped when Chromium (apt-get install -y chromium), Playwright (requirements-dev.txt),
libvirt-python or libvirtd are missing.
"""
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from apps.core.testing import client_for
from cloudportal import webserver

from .conftest import VNC_PASSWORD

pytestmark = pytest.mark.libvirt

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _database_url(settings_dict):
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    if settings_dict["ENGINE"].endswith("mysql"):
        auth = quote(settings_dict["USER"] or "", safe="")
        if settings_dict.get("PASSWORD"):
            auth += ":" + quote(settings_dict["PASSWORD"], safe="")
        return (f"mysql://{auth}@{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 3306}/"
                f"{settings_dict['NAME']}")
    pytest.skip(f"no web server fixture for {settings_dict['ENGINE']}")


@pytest.fixture
def web_server(transactional_db):
    """The web server (cloudportal.webserver) serving cloudportal.asgi on a free port, on the test
    database (pytest-django's live_server speaks no websockets)."""
    from django.db import connection

    from tests.hostagent.conftest import free_port

    port = free_port()
    env = dict(os.environ, DATABASE_URL=_database_url(connection.settings_dict), PYTHONPATH=str(ROOT))
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"console-web-{port}.log"
    with open(log_path, "wb") as log:   # with access lines: the VNC password must not be in them either
        proc = subprocess.Popen(webserver.command("127.0.0.1", port, "info"), cwd=ROOT,
                                env={**env, "WEB_ACCESS_LOG": "1"}, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the web server exited with {proc.returncode}:\n{log_path.read_text()}")
            try:
                urllib.request.urlopen(url + "/api/v1/", timeout=2)
                break
            except urllib.error.HTTPError:
                break   # answering (401): up
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the web server did not answer within 60 s:\n{log_path.read_text()}")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log_text = log_path.read_text(errors="replace")
        log_path.unlink(missing_ok=True)
        assert VNC_PASSWORD not in log_text   # never in a log
        # nor the console tokens (the websocket's path, the page's query): the lines are there, redacted
        assert '"WebSocket /ws/console/[redacted]/" [accepted]' in log_text, log_text[-3000:]
        for token in issued_tokens:
            assert token not in log_text


issued_tokens = []


def test_novnc_connects_to_the_running_vm_in_chromium(console_vm, web_server):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")
    from django.conf import settings
    from django.test import Client

    user, vm = console_vm
    body = client_for(user).post(f"/api/v1/vm-instances/{vm.uuid}/console/").json()
    issued_tokens.append(body["token"])
    console_url = web_server + body["console_url"].removeprefix("http://testserver")
    session = Client()
    session.force_login(user)   # the page is served to the token's user, logged in

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            anonymous = context.new_page()   # a link alone does not open the console: log in first
            anonymous.goto(console_url)
            assert "/ui/login/" in anonymous.url and body["token"] not in anonymous.url
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": web_server,
                                  "value": session.cookies[settings.SESSION_COOKIE_NAME].value}])
            page = context.new_page()
            page.goto(console_url)
            page.wait_for_function("['connected', 'failed', 'disconnected'].includes(document.body.dataset.console)",
                                   timeout=60_000)
            status = page.text_content("#status")
            assert page.evaluate("document.body.dataset.console") == "connected", status
            assert status == "Connected"
            width, height = page.evaluate(
                "(() => { const c = document.querySelector('#screen canvas'); return [c.width, c.height]; })()")
            assert width > 0 and height > 0
            page.wait_for_function(f"document.title.includes('{vm.uuid}')", timeout=10_000)   # desktop name

            # the link worked once: opening it again is refused, and the page says why
            again = context.new_page()
            response = again.goto(console_url)
            assert response.status == 403
            assert "used already" in again.text_content("#error")
        finally:
            browser.close()
