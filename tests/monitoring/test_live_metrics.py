"""The hour chart's live points: ``{"subscribe": {"metrics": [...]}}`` on /ws/events/ (the stream
monitoring adds to core's consumer), for the hosts and VMs the account may see, as samples land."""
import asyncio
import time

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from apps.accounts.models import ApiToken
from apps.core.models import GlobalConfig
from apps.core.testing import make_account
from apps.monitoring.live import MetricsStream
from cloudportal.asgi import application
from tests.console.helpers import make_host, make_vm

from .feeding import sample


def test_each_read_sends_the_steps_ended_since_the_last_one(db):
    host = make_host("h1")
    vm = make_vm(make_account("alice").account, host)
    now = [1_800_000_003.0]                       # 3 s into a 10-second step
    stream = MetricsStream(clock=lambda: now[0])
    uuid = str(vm.uuid)
    cursors = stream.start([uuid, str(host.uuid)])
    assert cursors[uuid] == {"kind": "vm", "since": 1_800_000_000} and cursors[str(host.uuid)]["kind"] == "host"

    sample(now[0], {("vm", uuid): {"cpu": 40.0}})
    assert stream.read(cursors)[0] == []           # its step is under way: not sent yet
    sample(now[0] + 4, {("vm", uuid): {"cpu": 60.0}})   # the same step, a later sample
    now[0] += 10
    messages, cursors = stream.read(cursors)
    assert messages == [{"type": "metrics", "kind": "vm", "uuid": uuid, "step": 10,
                         "points": {"cpu": [[1_800_000_010, 60.0]]}}]   # at the end of its step
    sample(now[0], {("vm", uuid): {"cpu": 20.0}})
    now[0] += 10
    messages, cursors = stream.read(cursors)
    # the newest step again (a late sample may have changed it), and the one just ended
    assert messages[0]["points"] == {"cpu": [[1_800_000_010, 60.0], [1_800_000_020, 20.0]]}
    assert cursors[uuid]["since"] == 1_800_000_020
    now[0] += 10                                  # no sample: the newest once more, then nothing
    messages, cursors = stream.read(cursors)
    assert messages[0]["points"] == {"cpu": [[1_800_000_020, 20.0]]}
    assert stream.read(cursors)[0] == []


@pytest.mark.django_db(transaction=True)
def test_a_subscriber_gets_the_points_of_what_it_may_see_as_they_land():
    GlobalConfig.objects.update_or_create(category="monitoring", name="sampleInterval",
                                          defaults={"type": "int", "value": 1})
    host = make_host("h1")
    alice, bob = make_account("alice"), make_account("bob")
    mine, theirs = make_vm(alice.account, host), make_vm(bob.account, host, name="bob-vm")
    token = ApiToken.issue(alice)

    async def next_metrics(communicator, cpu):
        deadline = time.time() + 10
        while time.time() < deadline:
            message = await communicator.receive_json_from(timeout=10)
            if message.get("type") == "metrics" and message["points"]["cpu"][-1][1] == cpu:
                return message
        raise AssertionError(f"no point of {cpu} %")

    async def scenario():
        communicator = WebsocketCommunicator(application, f"/ws/events/?token={token}")
        assert (await communicator.connect())[0]
        await communicator.send_json_to({"subscribe": {"metrics": [str(mine.uuid), str(theirs.uuid)]}})
        assert await communicator.receive_json_from(timeout=5) == {"type": "subscribed", "metrics": [str(mine.uuid)]}
        refused = await communicator.receive_json_from(timeout=5)
        assert refused["code"] == "NOT_FOUND" and refused["details"] == {"metrics": [str(theirs.uuid)]}

        for cpu in (40.0, 60.0):   # into the step that ended last (what a late sample does)
            figures = {("vm", str(mine.uuid)): {"cpu": cpu}, ("vm", str(theirs.uuid)): {"cpu": 99.0}}
            await database_sync_to_async(sample)(time.time() // 10 * 10 - 5, figures)
            message = await next_metrics(communicator, cpu)
            assert message["uuid"] == str(mine.uuid) and message["kind"] == "vm"

        await communicator.send_json_to({"unsubscribe": {"metrics": [str(mine.uuid)]}})
        await asyncio.sleep(1.5)
        await communicator.disconnect()

    async_to_sync(scenario)()
