"""Credentials that travel in URLs stay out of the logs: console tokens (``/ws/console/<token>/``,
the console page's ``?token=``) and API tokens (``/ws/events/?token=``). The web server logs
the path of every websocket it accepts, and every request with ``WEB_ACCESS_LOG=1``."""
import logging
import re

_SECRETS_IN_URLS = [
    (re.compile(r"(/ws/console/)[^/\s\"'?]+"), r"\1[redacted]"),
    (re.compile(r"([?&]token=)[^&\s\"']+"), r"\1[redacted]"),
]

# the loggers that write request paths: uvicorn's (websocket handshakes, access lines), Django's
LOGGERS = ("uvicorn.error", "uvicorn.access", "django.request", "django.server", "django.channels.server")


def redact(text):
    for pattern, replacement in _SECRETS_IN_URLS:
        text = pattern.sub(replacement, text)
    return text


class RedactUrlSecrets(logging.Filter):
    def filter(self, record):
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def install():
    """Put the filter on every logger that writes request paths (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactUrlSecrets) for f in logger.filters):
            logger.addFilter(RedactUrlSecrets())
