"""Static files (the console's CSS and JS, noVNC) served compressed.

WhiteNoise serves a file's ``.gz`` (or ``.br``) beside it to a browser that accepts it, but only
for files it finds collected in ``STATIC_ROOT``: in finders mode (``WHITENOISE_USE_FINDERS``, the
default without a collect) it serves the npm and app files as they are. ``make run``
(``runportal``) collects them at start (``collect()``) into ``STATIC_ROOT`` with ``.gz`` copies and
tells the web server to serve from there (``STATIC_COLLECTED=1``): a list page's Tabler, htmx and
console files go out at a fifth of their size (docs/benchmarks.md).
"""
import os

from whitenoise.storage import CompressedStaticFilesStorage

COLLECTED_ENV = "STATIC_COLLECTED"


class CompressedStaticFiles(CompressedStaticFilesStorage):
    """WhiteNoise's compressing storage that compresses only the files changed since the last
    collect (a ``.gz`` carries its source's modification time): a restart does not gzip the
    27 MB of static files again."""

    def post_process(self, paths, dry_run=False, **options):
        changed = {path: found for path, found in paths.items() if self.changed_since_compressed(path)}
        yield from super().post_process(changed, dry_run=dry_run, **options)

    def changed_since_compressed(self, path):
        source = self.path(path)
        try:
            return os.stat(source + ".gz").st_mtime != os.stat(source).st_mtime
        except FileNotFoundError:
            return True


def collect():
    """Collect the static files into ``STATIC_ROOT`` (copying and compressing what changed); the
    environment a web server then needs to serve them from there."""
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    return {COLLECTED_ENV: "1"}
