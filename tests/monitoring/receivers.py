"""Real receivers for alarm notifications: an SMTP server (aiosmtpd) and an HTTP server that keeps
what webhooks post, each on a free port for one test; and a metrics store a test sets values in."""
import json
import socket
import threading
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler name
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                              "message": message_from_bytes(envelope.content)})
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings):
    from aiosmtpd.controller import Controller

    mailbox = _Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    try:
        yield mailbox
    finally:
        controller.stop()


class WebhookReceiver:
    """Keeps every POST (headers and raw body); answers ``status`` with ``headers`` (a test may make
    it fail, or redirect)."""

    def __init__(self):
        self.requests, self.status, self.headers = [], 200, {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"headers": self.headers,  # case-insensitive names
                                           "body": body, "path": self.path, "method": self.command})
                payload = b'{"ok": true}'
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in receiver.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST   # a client that followed a redirect comes back with a GET

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def bodies(self):
        return [json.loads(r["body"]) for r in self.requests]


def allow_private_webhooks(allowed=True):
    """The receivers listen on 127.0.0.1: normal accounts' webhooks may go there only when allowed."""
    from apps.core.models import GlobalConfig

    GlobalConfig.objects.update_or_create(category="alarm", name="webhook.privateAddresses",
                                          defaults={"type": "bool", "value": allowed, "default_value": False})


@pytest.fixture
def webhook_server(db):
    allow_private_webhooks()
    receiver = WebhookReceiver()
    receiver.thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


class StoreStub:
    """The metrics store's ``aggregate`` (apps.monitoring.store's contract) over values a test sets;
    it records each call. A resource with no value set is absent from the answer, as in the store."""

    def __init__(self):
        self.values, self.calls = {}, []

    def aggregate(self, kind, metric, uuids, window_seconds, how="avg"):
        self.calls.append((kind, metric, sorted(uuids), window_seconds, how))
        return {u: self.values[(kind, metric, u)] for u in uuids if (kind, metric, u) in self.values}


@pytest.fixture
def store():
    return StoreStub()
