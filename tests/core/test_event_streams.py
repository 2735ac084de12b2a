"""Subscription kinds an app above core adds to ``/ws/events/`` (apps.core.events.streams): the
consumer asks the stream who may follow what, then reads it on a task of the connection's own
and sends what the stream answers, until nothing is followed."""
import asyncio
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from apps.accounts.models import ApiToken
from apps.core.events.streams import STREAMS, Stream
from cloudportal.asgi import application
from tests.conftest import make_account

pytestmark = pytest.mark.django_db(transaction=True)

MINE, HIDDEN = str(uuid.uuid4()), str(uuid.uuid4())


class Ticks(Stream):
    """Counts per uuid: each read sends the next number of every followed uuid."""

    def __init__(self):
        self.reads = 0
        self.fail_next = False

    def allowed(self, user, uuids):
        return [one for one in uuids if one != HIDDEN]

    def interval(self):
        return 0.05

    def start(self, uuids):
        return {one: 0 for one in uuids}

    def read(self, cursors):
        self.reads += 1
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("the store is away")
        return ([{"type": "tick", "uuid": one, "n": n + 1} for one, n in sorted(cursors.items())],
                {one: n + 1 for one, n in cursors.items()})


@pytest.fixture
def ticks(monkeypatch):
    stream = Ticks()
    monkeypatch.setitem(STREAMS, "ticks", stream)
    return stream


async def next_of(communicator, type_, timeout=5):
    while True:
        message = await communicator.receive_json_from(timeout=timeout)
        if message.get("type") == type_:
            return message


def test_a_stream_sends_what_it_reads_for_the_uuids_allowed_until_unsubscribed(ticks):
    token = ApiToken.issue(make_account("watcher"))

    async def scenario():
        communicator = WebsocketCommunicator(application, f"/ws/events/?token={token}")
        assert (await communicator.connect())[0]
        await communicator.send_json_to({"subscribe": {"ticks": [MINE, HIDDEN]}})
        assert await communicator.receive_json_from(timeout=5) == {"type": "subscribed", "ticks": [MINE]}
        refused = await communicator.receive_json_from(timeout=5)
        assert refused["code"] == "NOT_FOUND" and refused["details"] == {"ticks": [HIDDEN]}
        counted = [(await next_of(communicator, "tick"))["n"] for _ in range(3)]
        assert counted == [1, 2, 3]   # each read starts where the previous one ended

        ticks.fail_next = True        # a failed read is skipped; the connection and the stream go on
        after = (await next_of(communicator, "tick"))["n"]
        assert after == 4

        await communicator.send_json_to({"unsubscribe": {"ticks": [MINE]}})
        assert (await next_of(communicator, "unsubscribed"))["ticks"] == [MINE]
        await asyncio.sleep(0.2)
        while not await communicator.receive_nothing(timeout=0.2):   # what was under way when it left
            pass
        reads = ticks.reads
        await asyncio.sleep(0.3)
        assert ticks.reads == reads, "the stream is still read with nothing followed"

        await communicator.send_json_to({"subscribe": {"ticks": HIDDEN}})
        assert (await communicator.receive_json_from(timeout=5))["code"] == "NOT_FOUND"
        await communicator.send_json_to({"subscribe": {"nothing": [MINE]}})
        error = await communicator.receive_json_from(timeout=5)
        assert error["code"] == "INVALID_ARGUMENT" and "ticks" in error["message"]
        await communicator.disconnect()

    async_to_sync(scenario)()
