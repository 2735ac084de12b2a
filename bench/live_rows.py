#!/usr/bin/env python
"""How long a state change takes to reach an open list page (issue 16: "≤ 1 s, measured from the
event published to the DOM updated, with 100 VMs changing at once").

Creates its own MariaDB database (default ``cloudportal_bench_live``; the name must contain
"bench"), makes ``--rows`` zones, runs the web server as ``make run`` does and opens the zones list
(all rows on one page) in headless Chromium (Playwright), logged in as an admin. Then ``--rounds``
times: every zone is disabled (or enabled again) in one transaction, as a burst of flows finishing
together would, and the script measures from the commit (when the events are published) to the
moment every row on the page shows the new state (a MutationObserver in the page), and when the
first and last events reached the browser (its websocket frames). Zones stand for VMs: a list row
is a list row, and zones need no hosts or flows to change state.

    .venv/bin/python bench/live_rows.py                    # 100 rows, 5 rounds
    .venv/bin/python bench/live_rows.py --rows 50 --rounds 10
    .venv/bin/python bench/live_rows.py --zero-setup       # SQLite, no Redis: the database relay
"""
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from benchlib import arg_parser, free_port, speed_probe  # noqa: E402  (bench/benchlib.py)

DEFAULT_URL = "mysql://root@127.0.0.1:3306/cloudportal_bench_live"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "bench-pass-word-1"
# set window.doneAt when every row shows ``want``
WATCH = """want => { window.doneAt = null;
  const rows = () => [...document.querySelectorAll('#rows tr[data-live-uuid] td[data-field="state"]')];
  const check = () => {
    if (rows().every(cell => cell.textContent.includes(want))) { window.doneAt = Date.now(); observer.disconnect(); } };
  const observer = new MutationObserver(check);
  observer.observe(document.querySelector('#rows'), {subtree: true, childList: true, characterData: true}); }"""


def parse_args():
    p = arg_parser(__doc__)
    p.add_argument("--rows", type=int, default=100)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    p.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    p.add_argument("--zero-setup", action="store_true",
                   help="as `make run` with nothing installed: SQLite in the work directory, no Redis (events "
                        "through the database relay); --database-url and --redis are ignored")
    return p.parse_args()


def main():
    from vm_create import fresh_database

    args = parse_args()
    workdir = Path(f"/tmp/cp-bench-live-{uuid.uuid4().hex[:8]}")
    env = dict(os.environ, LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="cloudportal.settings",
               CLOUDPORTAL_DATA_DIR=str(workdir / "data"))
    if args.zero_setup:   # the settings' defaults: a fresh SQLite file in the data directory
        for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
            env.pop(name, None)
            os.environ.pop(name, None)
    else:
        fresh_database(args.database_url)
        env.update(DATABASE_URL=args.database_url, REDIS_URL=args.redis, CELERY_BROKER_URL=args.redis)
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    import django

    django.setup()
    from django.db import transaction

    from apps.core.testing import make_account
    from apps.infra.models import Zone
    from cloudportal import webserver

    admin = make_account("bench-admin", admin=True, password=PASSWORD)
    zones = [Zone.objects.create(name=f"zone-{i:04d}") for i in range(args.rows)]
    port = free_port()
    server = subprocess.Popen(webserver.command("127.0.0.1", port, "warning"), cwd=ROOT, env=env)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread (its calls run in a greenlet), which
    # Django takes for an async context: the ORM calls between them are safe
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"

    rounds = []
    probe = speed_probe()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    page.goto(base + "/ui/login/")
                    break
                except Exception:  # noqa: BLE001 - not up yet
                    time.sleep(0.2)
            page.fill("#id_username", admin.username)
            page.fill("#id_password", PASSWORD)
            page.click("#login-form button[type=submit]")
            page.wait_for_url(base + "/ui/")
            frames = []
            page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(time.time())))
            page.goto(f"{base}/ui/zones/?limit={args.rows}")
            page.wait_for_selector('body[data-live="ready"]', state="attached")   # subscribed to the rows
            for index in range(args.rounds):
                state = "Disabled" if index % 2 == 0 else "Enabled"
                page.evaluate(WATCH, state)
                frames.clear()
                with transaction.atomic():
                    for zone in zones:
                        zone.state = state
                        zone.save()
                committed = time.time()
                page.wait_for_function("window.doneAt !== null", timeout=30_000)
                done = page.evaluate("window.doneAt") / 1000
                page.wait_for_timeout(500)   # the rows' fetches settle before the next round
                rounds.append({"state": state, "dom_ms": round(1000 * (done - committed)),
                               "first_event_ms": round(1000 * (frames[0] - committed)) if frames else None,
                               "last_event_ms": round(1000 * (frames[-1] - committed)) if frames else None})
                print(f"round {index}: {args.rows} rows {state}: all shown {rounds[-1]['dom_ms']} ms after the commit "
                      f"(events reached the browser {rounds[-1]['first_event_ms']}-{rounds[-1]['last_event_ms']} ms)")
            browser.close()
    finally:
        server.terminate()
        server.wait(20)
    dom = [r["dom_ms"] for r in rounds]
    print(f"{args.rows} rows, {len(dom)} rounds: median {statistics.median(dom)} ms, worst {max(dom)} ms "
          f"(speed probe {probe:.0f} ms, load {os.getloadavg()[0]:.1f})")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"live_rows-{int(time.time())}.json").write_text(json.dumps({
        "machine": {"cpus": os.cpu_count(), "load": os.getloadavg(), "speed_probe_ms": probe},
        "rows": args.rows, "rounds": rounds}, indent=2))


if __name__ == "__main__":
    main()
