"""The console's CSS and JS go out compressed once collected (what ``make run`` does at start,
cloudportal/staticfiles.py): a browser that accepts gzip gets the .gz, one that does not gets the
file as it is, and a second collect compresses only what changed."""
import gzip
import os

from django.conf import settings
from django.core.management import call_command
from django.test import Client

from cloudportal import staticfiles

CONSOLE_STATIC = settings.BASE_DIR / "apps" / "console" / "static"


def collect_console_files(settings, root):
    settings.STATIC_ROOT = root
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    settings.STATICFILES_DIRS = [CONSOLE_STATIC]
    settings.WHITENOISE_USE_FINDERS = False   # as runportal's web server, told STATIC_COLLECTED=1
    assert staticfiles.collect() == {"STATIC_COLLECTED": "1"}


def body(response):
    return b"".join(response.streaming_content)


def test_a_collected_script_is_answered_gzip_compressed_to_a_browser_that_accepts_it(settings, tmp_path):
    collect_console_files(settings, tmp_path / "static")
    original = (CONSOLE_STATIC / "console" / "console.js").read_bytes()
    client = Client()   # a new client: WhiteNoise reads STATIC_ROOT as its middleware is made

    compressed = client.get("/static/console/console.js", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert compressed.status_code == 200 and compressed["Content-Encoding"] == "gzip"
    sent = body(compressed)
    assert len(sent) < len(original) / 2 and gzip.decompress(sent) == original
    assert "Accept-Encoding" in compressed["Vary"]

    plain = client.get("/static/console/console.js")
    assert plain.status_code == 200 and not plain.has_header("Content-Encoding") and body(plain) == original


def test_a_second_collect_compresses_only_the_files_that_changed(settings, tmp_path):
    collect_console_files(settings, tmp_path / "static")
    script = tmp_path / "static" / "console" / "console.js.gz"
    style = tmp_path / "static" / "console" / "console.css.gz"
    for gz in (script, style):   # mark the .gz files to see which ones a collect writes again
        gz.write_bytes(b"kept")
        os.utime(gz, (os.stat(str(gz)[:-3]).st_atime, os.stat(str(gz)[:-3]).st_mtime))
    source = tmp_path / "static" / "console" / "console.css"
    os.utime(source, (source.stat().st_atime, source.stat().st_mtime - 60))   # older than what is collected

    staticfiles.collect()
    assert script.read_bytes() == b"kept"
    assert gzip.decompress(style.read_bytes()) == (CONSOLE_STATIC / "console" / "console.css").read_bytes()


def test_without_a_collect_the_portal_serves_the_files_where_the_finders_find_them(client):
    response = client.get("/static/console/console.js", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200 and settings.WHITENOISE_USE_FINDERS
    assert body(response) == (CONSOLE_STATIC / "console" / "console.js").read_bytes()
