#!/bin/sh
# Container entry point: `entrypoint.sh web|worker|beat|migrate|init|all|manage ARGS...`.
# Anything else is executed as given (e.g. `sh`). Extra arguments go to the process.
set -e
cd "$(dirname "$0")/.."

mode="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$mode" in
    web)
        # the console's CSS and JS served gzip-compressed from STATIC_ROOT (cloudportal/staticfiles.py)
        python manage.py collectstatic --no-input -v0
        export STATIC_COLLECTED=1
        exec python -c 'import os, sys; from cloudportal import webserver; argv = webserver.command("0.0.0.0", os.environ.get("PORT", "8000"), extra=sys.argv[1:]); os.execv(argv[0], argv)' "$@"
        ;;
    worker)
        exec celery -A cloudportal worker -l "${LOG_LEVEL:-INFO}" \
            --concurrency "${WORKER_CONCURRENCY:-2}" "$@"
        ;;
    beat)
        # The schedule lives in the database (django-celery-beat): no local state file.
        exec celery -A cloudportal beat -l "${LOG_LEVEL:-INFO}" --pidfile= -s /dev/null "$@"
        ;;
    migrate)
        exec python manage.py migrate --no-input "$@"
        ;;
    init)
        python manage.py migrate --no-input
        exec python manage.py ensure_admin "$@"
        ;;
    all)
        python manage.py migrate --no-input
        python manage.py ensure_admin
        exec python manage.py runportal --host 0.0.0.0 --port "${PORT:-8000}" "$@"
        ;;
    manage)
        exec python manage.py "$@"
        ;;
    *)
        exec "$mode" "$@"
        ;;
esac
