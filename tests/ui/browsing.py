"""What the browser tests that walk the console share: logging in, the JavaScript errors a page
logs, the check that every form input has a label, and waiting for a page to show a change
(live where the page follows its objects, reloaded where it does not)."""
import time

from django.contrib.auth.hashers import PBKDF2PasswordHasher

PASSWORD = "pass-word-1"

# inputs shown to the user (not type=hidden, not inside something hidden) that no label names: no
# <label for>, no wrapping <label> (both are in .labels), no aria-label, no aria-labelledby
UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter(e => e.checkVisibility() && !e.labels.length && !(e.getAttribute('aria-label') || '').trim()
                 && !e.getAttribute('aria-labelledby'))
    .map(e => e.outerHTML.slice(0, 160))"""


def with_password(user):
    """The user with PASSWORD hashed as the web server checks it (the tests hash with MD5; the
    server knows only the production hashers)."""
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    user.save(update_fields=["password"])
    return user


class Browsing:
    """One user's tab on the portal: every page it opens is checked for unlabelled inputs
    (``look``), and every JavaScript error it logs (console errors, uncaught exceptions) is kept
    in ``errors`` with the page it happened on."""

    def __init__(self, chromium, portal, user):
        self.portal = portal
        self.context = chromium.new_context(locale="en-US")
        self.page = self.context.new_page()
        self.errors, self.visited, self.unlabelled = [], [], []
        self.watch(self.page)
        self.goto("/ui/login/")
        self.page.fill("#id_username", with_password(user).username)
        self.page.fill("#id_password", PASSWORD)
        self.page.click("#login-form button[type=submit]")
        self.page.wait_for_url(portal + "/ui/")
        self.look()

    def watch(self, page):
        """Keep the JavaScript errors ``page`` logs (a tab the user opened, too)."""
        page.on("console", lambda message: self.errors.append(f"{page.url}: {message.text}")
                if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        return page

    def goto(self, path):
        self.page.goto(self.portal + path)
        return self.look()

    def click_to(self, selector, url_pattern):
        """Click something that opens another page, and look at that page."""
        self.page.click(selector)
        self.page.wait_for_url(url_pattern)
        return self.look()

    def look(self):
        """Note the page open now and any input of it without a label."""
        self.page.wait_for_load_state("load")
        self.visited.append(self.page.url)
        missing = self.page.evaluate(UNLABELLED)
        self.unlabelled += [f"{self.page.url}: {html}" for html in missing]
        return self.page

    def until(self, condition, timeout=60, what=""):
        """Wait until the JavaScript expression ``condition`` holds on the open page. A page that
        follows its objects live (``data-live-uuid``, the console's live updates) must get there
        without a reload; one that does not (records such as audit logs, which never change) is
        reloaded every half second."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        page = self.page
        if page.locator("[data-live-uuid]").count():
            page.evaluate("window.notReloaded = true")
            try:
                page.wait_for_function(condition, timeout=timeout * 1000)
            except PlaywrightTimeout:
                raise AssertionError(f"timed out after {timeout}s waiting for {what or condition} on {page.url} "
                                     f"(live: {page.evaluate('document.body.dataset.live')}); it shows:\n"
                                     f"{page.inner_text('.page-body')[:2000]}") from None
            assert page.evaluate("window.notReloaded") is True, "the page was reloaded"
            return
        deadline = time.monotonic() + timeout
        while not page.evaluate(condition):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what or condition} on {page.url}")
            time.sleep(0.5)
            page.reload()
        self.look()

    def close(self):
        self.context.close()
