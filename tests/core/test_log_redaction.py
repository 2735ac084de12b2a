"""Tokens in URLs never reach a log line (cloudportal.logredact, installed by cloudportal.asgi)."""
import logging

import cloudportal.asgi  # noqa: F401  (installs the filters, as the web server does)
from cloudportal.logredact import redact


def test_console_and_api_tokens_in_paths_and_queries_are_redacted():
    assert redact('127.0.0.1:5 - "WebSocket /ws/console/eyJ1Ijo.abc:sig-_/" [accepted]') == \
        '127.0.0.1:5 - "WebSocket /ws/console/[redacted]/" [accepted]'
    assert redact("GET /console/vm/1f/?token=eyJ1:x&x=1 HTTP/1.1") == "GET /console/vm/1f/?token=[redacted]&x=1 HTTP/1.1"
    assert redact("/ws/events/?token=0123456789abcdef") == "/ws/events/?token=[redacted]"
    assert redact("GET /api/v1/vm-instances/?q=name=token HTTP/1.1") == "GET /api/v1/vm-instances/?q=name=token HTTP/1.1"


def test_the_web_servers_loggers_write_redacted_lines(caplog):
    with caplog.at_level(logging.INFO):
        logging.getLogger("uvicorn.error").info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5",
                                                "/ws/console/SECRET-TOKEN/")
        logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET",
                                                 "/console/vm/1/?token=SECRET-TOKEN", "1.1", 200)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "SECRET-TOKEN" not in text and text.count("[redacted]") == 2
