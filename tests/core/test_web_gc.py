"""The web process keeps its startup heap out of the garbage collector's full passes (cloudportal.asgi):
a page of a list leaves cyclic garbage, and each full pass walked every object of the process."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, json, sys, time
import cloudportal.asgi
started = time.perf_counter()
gc.collect()
print(json.dumps({"frozen": gc.get_freeze_count(), "tracked": len(gc.get_objects()),
                  "views_loaded": "apps.compute.views" in sys.modules,
                  "full_pass_ms": 1000 * (time.perf_counter() - started)}))
"""


def test_the_web_process_freezes_what_it_holds_once_started():
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE",)}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True, timeout=120).stdout
    probe = json.loads(out.strip().splitlines()[-1])
    assert probe["views_loaded"]  # the URLconf and what it names were imported before the freeze
    assert probe["frozen"] > 50_000
    # a full pass now walks only what was made after startup
    assert probe["tracked"] < probe["frozen"] / 10, probe
