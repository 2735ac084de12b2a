"""Subscription kinds of ``/ws/events/`` that an app above core adds: a hook, since core imports
no app. Monitoring registers ``metrics`` in its AppConfig.ready (new points of hosts and VMs).

Events are pushed by whoever changes something; a stream's messages are read instead: while a
connection follows some uuids of a stream, the consumer asks the stream every ``interval()``
seconds what is new for them since its last answer (``read``), and sends that.
"""
import logging

log = logging.getLogger(__name__)

STREAMS = {}


class Stream:
    """What a subscription kind does. Every method is synchronous (the consumer runs it in a thread,
    where it may read the database or call a server)."""

    def allowed(self, user, uuids):
        """The ones of ``uuids`` (uuid strings) ``user`` may follow."""
        raise NotImplementedError

    def interval(self):
        """Seconds between two reads."""
        raise NotImplementedError

    def start(self, uuids):
        """``{uuid: cursor}``: where the first read of newly followed uuids starts."""
        raise NotImplementedError

    def read(self, cursors):
        """``(messages, {uuid: cursor})``: what is new for each followed uuid since its cursor
        (``{uuid: cursor}``), as JSON-able messages, and the cursors to read from next time."""
        raise NotImplementedError


def register_stream(kind, stream):
    STREAMS[kind] = stream
