"""The console's main path in Chromium (Playwright) on a real web server: log in, the dashboard,
create an instance offering through the form, find it in the list with q=, switch to Chinese;
no JavaScript error on any page. Skipped without Chromium or Playwright."""
import os

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from apps.core.testing import make_account
from tests.console.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.webserver import WebServer

PASSWORD = "pass-word-1"


@pytest.fixture(scope="module")
def chromium():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")
    # Playwright's sync API keeps an event loop on this thread (run in a greenlet, so the ORM calls
    # of the tests and of pytest-django's teardown are still safe): Django must not refuse them
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def portal(transactional_db):
    """The web server as `make run` starts it, on the test database (tests/webserver.py)."""
    server = WebServer().start()
    try:
        yield server.url
    finally:
        server.stop()


def test_log_in_create_an_offering_find_it_and_read_the_pages_in_chinese(chromium, portal):
    admin = make_account("ui-admin", admin=True)
    # the tests hash with MD5 (conftest); the web server knows only the production hashers
    hasher = PBKDF2PasswordHasher()
    admin.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    admin.save(update_fields=["password"])
    context = chromium.new_context(locale="en-US")
    page = context.new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(portal + "/")
    assert page.url == portal + "/ui/login/?next=/ui/"
    page.fill("#id_username", admin.username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(portal + "/ui/")
    assert page.text_content("h2.page-title") == "Dashboard"
    assert page.locator("#counts .card").count() >= 5

    page.click("text=Instance offerings")
    page.click("#create")
    page.fill("#f-name", "web-small")
    page.fill("#f-cpu_num", "0")   # refused by the API's serializer: its message beside the field
    page.fill("#f-memory_size", "1024")
    page.select_option("#f-memory_size-unit", label="MiB")
    page.click("#save")
    page.wait_for_selector('[data-error-for="cpu_num"]')
    assert "greater than or equal to 1" in page.text_content('[data-error-for="cpu_num"]')
    page.fill("#f-cpu_num", "2")
    page.click("#save")
    page.wait_for_url("**/ui/instance-offerings/*-*/")
    assert page.text_content("h2.page-title") == "web-small"
    assert "1 GiB" in page.text_content("#fields")

    page.goto(portal + "/ui/instance-offerings/")
    assert page.locator("#rows tbody tr[data-uuid]").count() == 1
    page.fill("#q", "cpu_num>=4")
    page.press("#q", "Enter")
    page.wait_for_selector("#rows tbody tr:not([data-uuid])")   # htmx swapped the rows: none match
    assert "q=cpu_num" in page.url
    page.fill("#q", "cpu_num>=2")
    page.press("#q", "Enter")
    page.wait_for_selector("#rows tbody tr[data-uuid]")
    assert "web-small" in page.text_content("#rows")
    page.fill("#q", "cpu_num>=x")
    page.press("#q", "Enter")
    page.wait_for_selector("#search-error")

    page.click("#theme-toggle")
    assert page.evaluate("localStorage.getItem('cloudportal-theme')") == "dark"
    page.select_option("#language", "zh-hans")
    page.wait_for_load_state("load")
    page.wait_for_selector("text=导出 CSV")
    assert page.evaluate("document.documentElement.dataset.bsTheme") == "dark"   # remembered across pages
    page.goto(portal + "/ui/")
    assert page.text_content("h2.page-title") == "仪表盘"
    assert errors == []
    context.close()
