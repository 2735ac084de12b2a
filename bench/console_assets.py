#!/usr/bin/env python
"""What a browser downloads on the first load of a console list page: CSS + JS bytes on the wire.

Starts the portal the way ``make run`` does (migrate, ensure_admin, ``runportal``) with nothing
configured (SQLite, a temporary data directory) on ``--port``, or measures one already running
(``--url`` with ``--password``). Logs in through the console's login form, loads
``/ui/vm-instances/`` and fetches every stylesheet and script it links, as a browser with an empty
cache does: once with ``Accept-Encoding: gzip, deflate, br`` (what browsers send) and once with
``identity``, and prints each file's bytes as sent (the body before any decompression) and its
``Content-Encoding``. Target: CSS + JS <= 400 KB compressed (issue 16).

    .venv/bin/python bench/console_assets.py                     # starts its own portal
    .venv/bin/python bench/console_assets.py --url http://127.0.0.1:8000 --password ...
"""
import http.cookiejar
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchlib import arg_parser, free_port  # noqa: E402  (bench/benchlib.py)

TARGET_KB = 400
PAGE = "/ui/vm-instances/"
BROWSER_ENCODINGS = "gzip, deflate, br"
CONFIGURED = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "STATIC_COLLECTED")


def parse_args():
    p = arg_parser(__doc__)
    p.add_argument("--url", default="", help="a running portal to measure (default: start one)")
    p.add_argument("--user", default="admin")
    p.add_argument("--password", default="", help="with --url: the user's password")
    p.add_argument("--port", type=int, default=0, help="port of the portal started here (default: a free one)")
    p.add_argument("--out", default=str(ROOT / "bench" / "results"))
    return p.parse_args()


def start_portal(port):
    work = Path(tempfile.mkdtemp(prefix="cp-assets-"))
    env = {k: v for k, v in os.environ.items() if k not in CONFIGURED}
    env.update(CLOUDPORTAL_DATA_DIR=str(work / "data"), PORT=str(port), LOG_LEVEL="WARNING",
               CLOUDPORTAL_ADMIN_PASSWORD=secrets.token_urlsafe(12), DJANGO_SETTINGS_MODULE="cloudportal.settings")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run(manage + ["migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(manage + ["ensure_admin"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    log = open(work / "portal.log", "w")
    began = time.monotonic()
    proc = subprocess.Popen(manage + ["runportal", "--port", str(port)], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"runportal exited: see {work / 'portal.log'}")
        try:
            urllib.request.urlopen(url + "/api/v1/", timeout=2).read()
            break
        except urllib.error.HTTPError:
            break
        except OSError:
            time.sleep(0.3)
    else:
        stop_portal(proc)
        sys.exit("the portal did not come up in 120 s")
    print(f"portal (runportal) up on {url} in {time.monotonic() - began:.1f} s; data {work / 'data'}")
    return proc, url, env["CLOUDPORTAL_ADMIN_PASSWORD"], work


def stop_portal(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def log_in(url, user, password):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    form = opener.open(url + "/ui/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": user, "password": password}).encode()
    request = urllib.request.Request(url + "/ui/login/", data=body, headers={"Referer": url + "/ui/login/"})
    try:
        opener.open(request)
        sys.exit("login failed: the form came back")
    except urllib.error.HTTPError as exc:   # the 302 to the dashboard (not followed)
        if exc.code != 302:
            raise
    return opener


def fetch(opener, url, encoding):
    """(bytes as sent, Content-Encoding, seconds) of ``url`` asked with ``Accept-Encoding: encoding``."""
    began = time.perf_counter()
    with opener.open(urllib.request.Request(url, headers={"Accept-Encoding": encoding})) as response:
        body = response.read()   # urllib does not decompress: these are the bytes on the wire
        return len(body), response.headers.get("Content-Encoding", ""), time.perf_counter() - began


def main():
    args = parse_args()
    proc = work = None
    url, password = args.url.rstrip("/"), args.password
    if not url:
        proc, url, password, work = start_portal(args.port or free_port())
    try:
        opener = log_in(url, args.user, password)
        page = opener.open(urllib.request.Request(url + PAGE, headers={"Accept-Encoding": BROWSER_ENCODINGS}))
        html = page.read()
        text = html.decode()
        styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', text)
        scripts = re.findall(r'<script src="([^"]+)"', text)
        assets = [("css", urllib.parse.urljoin(url + PAGE, s)) for s in styles] + [
            ("js", urllib.parse.urljoin(url + PAGE, s)) for s in scripts]
        rows, totals = [], {"css": [0, 0], "js": [0, 0]}
        for kind, asset in assets:
            sent, encoding, _ = fetch(opener, asset, BROWSER_ENCODINGS)
            plain, _, _ = fetch(opener, asset, "identity")
            totals[kind][0] += sent
            totals[kind][1] += plain
            rows.append({"kind": kind, "url": asset[len(url):], "bytes_sent": sent, "content_encoding": encoding,
                         "bytes_identity": plain})
            print(f"{kind:<4} {asset[len(url):]:<40} {sent / 1000:8.1f} kB sent ({encoding or 'not compressed'}), "
                  f"{plain / 1000:8.1f} kB uncompressed")
        sent = totals["css"][0] + totals["js"][0]
        plain = totals["css"][1] + totals["js"][1]
        verdict = "ok" if sent <= TARGET_KB * 1000 else f"> {TARGET_KB} kB"
        print(f"CSS {totals['css'][0] / 1000:.1f} kB + JS {totals['js'][0] / 1000:.1f} kB = {sent / 1000:.1f} kB "
              f"on the wire ({verdict}); {plain / 1000:.1f} kB uncompressed; "
              f"the page itself {len(html) / 1000:.1f} kB ({page.headers.get('Content-Encoding') or 'not compressed'})")
        result = {"url": url, "page": PAGE, "started_here": proc is not None, "assets": rows,
                  "css_js_bytes_sent": sent, "css_js_bytes_identity": plain, "page_bytes": len(html),
                  "page_content_encoding": page.headers.get("Content-Encoding", ""), "target_kb": TARGET_KB,
                  "date": datetime.now().isoformat(timespec="seconds"), "loadavg": os.getloadavg()}
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"console_assets-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
        path.write_text(json.dumps(result, indent=2))
        print(f"results: {path}")
    finally:
        if proc is not None:
            stop_portal(proc)


if __name__ == "__main__":
    main()
