"""Alarms over /ws/events/ (core's followable types, registered by monitoring): an alarm row is
followed like a resource by the account that owns it (another account's answers NOT_FOUND), its
state changes arrive as they are committed, and the new alarms and history rows of one's own
account arrive to a list following them (``new_rows``); an admin gets every account's."""
import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from apps.accounts.models import ApiToken
from apps.core.events.publisher import flush
from apps.core.testing import make_account
from apps.monitoring.metric_rules import evaluate_metric_rules
from apps.monitoring.models import Alarm, AlarmRule
from cloudportal.asgi import application
from tests.console.helpers import make_host, make_vm

from .receivers import StoreStub

pytestmark = pytest.mark.django_db(transaction=True)


async def next_message(communicator, predicate, timeout=10):
    deadline = asyncio.get_running_loop().time() + timeout
    seen = []
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise AssertionError(f"no matching message; saw {seen}")
        message = await communicator.receive_json_from(timeout=remaining)
        seen.append(message)
        if predicate(message):
            return message


def test_an_alarm_is_followed_by_its_account_only_and_its_state_change_arrives():
    alice, bob, root = make_account("alice"), make_account("bob"), make_account("root", admin=True)
    vm = make_vm(alice.account, make_host("h1"), name="web-1")
    AlarmRule.objects.create(name="busy", account=alice.account, kind="metric", resource_kind="vm", metric="cpu",
                             threshold=80, window_seconds=60, duration_seconds=120)
    tokens = {user: ApiToken.issue(user) for user in (alice, bob, root)}
    store, t0 = StoreStub(), timezone.now()
    store.values[("vm", "cpu", str(vm.uuid))] = 95.0

    def evaluate(seconds):
        evaluate_metric_rules(store, now=t0 + timedelta(seconds=seconds))
        flush(5)

    async def connect(user):
        communicator = WebsocketCommunicator(application, f"/ws/events/?token={tokens[user]}")
        assert (await communicator.connect())[0]
        return communicator

    async def subscribe(communicator, spec, **extra):
        await communicator.send_json_to({"subscribe": spec, **extra})
        return await communicator.receive_json_from(timeout=5)

    async def scenario():
        mine, theirs, admin = [await connect(user) for user in (alice, bob, root)]
        for communicator in (mine, theirs, admin):
            assert await subscribe(communicator, {"new_rows": "Alarm"}) == {"type": "subscribed", "new_rows": "Alarm"}
        refused = await subscribe(mine, {"new_rows": "Zone"})   # not a type that announces its rows
        assert refused["type"] == "error" and refused["code"] == "INVALID_ARGUMENT"

        # the first evaluation makes the alarm (still OK: the condition must hold for 120 s)
        rendered = timezone.now() - timedelta(seconds=5)
        await database_sync_to_async(evaluate)(0)
        alarm = await database_sync_to_async(Alarm.objects.get)()
        for communicator in (mine, admin):
            made = await next_message(communicator, lambda m: m.get("type") == "resource")
            assert made["action"] == "create" and made["resource_type"] == "Alarm"
            assert made["uuid"] == str(alarm.uuid) and made["changes"]["after"]["state"] == "OK"

        # followed like a resource by its account and an admin; a page rendered before the alarm
        # was made is told to fetch it again
        # a list rendered before it was made is told to fetch its rows again; another account's is not
        for communicator, changed in ((mine, ["Alarm"]), (theirs, [])):
            again = await subscribe(communicator, {"new_rows": "Alarm"}, since=rendered.isoformat())
            assert again == {"type": "subscribed", "new_rows": "Alarm", "changed": {"new_rows": changed}}
        answer = await subscribe(mine, {"resource": [str(alarm.uuid)]}, since=rendered.isoformat())
        assert answer == {"type": "subscribed", "resource": [str(alarm.uuid)],
                          "changed": {"resource": [str(alarm.uuid)]}}
        assert (await subscribe(admin, {"resource": str(alarm.uuid)}))["type"] == "subscribed"
        assert await subscribe(mine, {"new_rows": "AlarmHistory"}) == {"type": "subscribed",
                                                                       "new_rows": "AlarmHistory"}
        refused = await subscribe(theirs, {"resource": str(alarm.uuid)})
        assert refused["type"] == "error" and refused["code"] == "NOT_FOUND"

        # held for 120 s: OK -> Alarm, announced with its history row
        await database_sync_to_async(evaluate)(120)
        for communicator in (mine, admin):
            change = await next_message(communicator, lambda m: m.get("type") == "resource"
                                        and m["resource_type"] == "Alarm" and m["action"] == "update")
            assert change["uuid"] == str(alarm.uuid)
            assert change["changes"]["before"] == {"state": "OK"}
            assert change["changes"]["after"]["state"] == "Alarm" and change["changes"]["after"]["value"] == 95.0
        history = await next_message(mine, lambda m: m.get("resource_type") == "AlarmHistory")
        assert history["action"] == "create" and history["changes"]["after"]["to_state"] == "Alarm"
        assert await theirs.receive_nothing(timeout=1)   # nothing of alice's alarm reached bob
        for communicator in (mine, theirs, admin):
            await communicator.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=False)
def test_the_alarm_pages_are_marked_to_follow_their_rows_and_new_rows():
    from apps.monitoring.alarming import alarm_for
    from tests.ui.pages import browser, text

    alice = make_account("alice")
    vm = make_vm(alice.account, make_host("h1"), name="web-1")
    rule = AlarmRule.objects.create(name="busy", account=alice.account, kind="metric", resource_kind="vm",
                                    metric="cpu", threshold=80)
    alarm = alarm_for(rule, "VmInstance", vm.uuid, "busy: web-1")
    client = browser(alice)
    listed = text(client.get("/ui/alarms/"))
    assert 'data-live-new-of="Alarm"' in listed
    assert f'data-live-uuid="{alarm.uuid}" data-live-kind="resource"' in listed
    history = text(client.get("/ui/alarm-history/"))
    assert 'data-live-new-of="AlarmHistory"' in history and "data-live-kind" not in history   # rows never change
    assert 'data-live-kind="resource"' in text(client.get(f"/ui/alarms/{alarm.uuid}/"))
    assert "data-live-new-of" not in text(client.get("/ui/alarms/?offset=50"))   # not the first page


def test_a_new_rows_subscribe_refused_for_its_since_joins_nothing():
    import uuid

    from apps.monitoring.alarming import alarm_for

    alice = make_account("alice")
    rule = AlarmRule.objects.create(name="busy", account=alice.account, kind="metric", resource_kind="vm",
                                    metric="cpu", threshold=80)
    token = ApiToken.issue(alice)

    def new_alarm():
        alarm_for(rule, "VmInstance", uuid.uuid4())
        flush(5)

    async def scenario():
        communicator = WebsocketCommunicator(application, f"/ws/events/?token={token}")
        assert (await communicator.connect())[0]
        await communicator.send_json_to({"subscribe": {"new_rows": "Alarm"}, "since": "not-a-date"})
        refused = await communicator.receive_json_from(timeout=5)
        assert refused["type"] == "error" and refused["code"] == "INVALID_ARGUMENT"
        await database_sync_to_async(new_alarm)()
        assert await communicator.receive_nothing(timeout=1)   # the refused subscribe joined no group

        await communicator.send_json_to({"subscribe": {"new_rows": "Alarm"}})
        assert await communicator.receive_json_from(timeout=5) == {"type": "subscribed", "new_rows": "Alarm"}
        await database_sync_to_async(new_alarm)()
        made = await next_message(communicator, lambda m: m.get("type") == "resource", timeout=5)
        assert made["resource_type"] == "Alarm" and made["action"] == "create"
        await communicator.disconnect()

    async_to_sync(scenario)()
