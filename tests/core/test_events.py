"""Live events over the websocket, through whichever backend this run uses
(Redis channel layer in CI, the database relay on a zero-setup machine) and
through the database relay explicitly."""
import asyncio
import json
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from apps.accounts.models import ApiToken
from apps.core.flows import execute_job, start_job
from apps.infra.models import Zone
from cloudportal.asgi import application
from tests.conftest import make_account

from . import flows_for_tests as flows

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_dispatch(monkeypatch):
    """Jobs run only when the test calls execute_job, after it has subscribed."""
    monkeypatch.setattr("apps.core.flows.jobs.dispatch", lambda job_uuid: None)


async def receive_until(communicator, predicate, timeout=10):
    deadline = asyncio.get_running_loop().time() + timeout
    seen = []
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise AssertionError(f"no matching event; saw {json.dumps(seen)[:2000]}")
        message = await communicator.receive_json_from(timeout=remaining)
        seen.append(message)
        if predicate(message):
            return message, seen


def run_event_scenario(token):
    from apps.core.events.publisher import flush

    zone = Zone.objects.create(name="watched")
    flush(5)   # its create event went out (EVENTS_GATHER_MS later) before anyone subscribed

    async def scenario():
        communicator = WebsocketCommunicator(application, f"/ws/events/?token={token}")
        connected, _ = await communicator.connect()
        assert connected
        await communicator.send_json_to({"subscribe": {"resource": str(zone.uuid)}})
        assert await communicator.receive_json_from(timeout=5) == {"type": "subscribed", "resource": str(zone.uuid)}

        def rename():
            obj = Zone.objects.get(pk=zone.pk)
            obj.name = "renamed"
            obj.save()

        await database_sync_to_async(rename)()
        message, _ = await receive_until(communicator, lambda m: m.get("type") == "resource")
        assert message["action"] == "update"
        assert message["changes"] == {"before": {"name": "watched"}, "after": {"name": "renamed"}}

        job = await database_sync_to_async(lambda: start_job(flows.FIVE_STEPS, args={}))()
        await communicator.send_json_to({"subscribe": {"job": str(job.uuid)}})
        await receive_until(communicator, lambda m: m.get("type") == "subscribed")
        await database_sync_to_async(lambda: execute_job(job.uuid))()
        final, seen = await receive_until(communicator, lambda m: m.get("type") == "job" and m["state"] == "succeeded")
        progress = [m["progress"] for m in seen if m.get("type") == "job"]
        assert progress == sorted(progress) and final["progress"] == 100
        assert any(m.get("state") == "running" for m in seen if m.get("type") == "job")
        await communicator.disconnect()

    async_to_sync(scenario)()


def test_events_reach_a_subscriber():
    user = make_account("watcher", admin=True)
    run_event_scenario(ApiToken.issue(user))


def test_events_reach_a_subscriber_through_the_database_relay(settings):
    settings.EVENTS_BACKEND = "database"
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    try:
        user = make_account("watcher", admin=True)
        run_event_scenario(ApiToken.issue(user))
    finally:
        channel_layers.backends.clear()


def test_websocket_refuses_anonymous_and_other_tenants_jobs():
    owner = make_account("owner")
    outsider = make_account("outsider")
    zone = Zone.objects.create(name="z")
    job = start_job(flows.NOOP, args={}, user=owner)
    _ = zone

    async def scenario():
        anonymous = WebsocketCommunicator(application, "/ws/events/")
        connected, code = await anonymous.connect()
        assert not connected and code == 4401
        bad_token = WebsocketCommunicator(application, "/ws/events/?token=nope")
        connected, code = await bad_token.connect()
        assert not connected
        communicator = WebsocketCommunicator(application, f"/ws/events/?token={outsider_token}")
        assert (await communicator.connect())[0]
        await communicator.send_json_to({"subscribe": {"job": str(job.uuid)}})
        reply = await communicator.receive_json_from(timeout=5)
        assert reply["type"] == "error" and reply["code"] == "NOT_FOUND"
        await communicator.send_json_to({"subscribe": {"job": "not-a-uuid"}})
        assert (await communicator.receive_json_from(timeout=5))["code"] == "INVALID_ARGUMENT"
        await communicator.send_json_to({"hello": 1})
        assert (await communicator.receive_json_from(timeout=5))["code"] == "INVALID_ARGUMENT"
        await communicator.disconnect()
        mine = WebsocketCommunicator(application, f"/ws/events/?token={owner_token}")
        assert (await mine.connect())[0]
        await mine.send_json_to({"subscribe": {"job": str(job.uuid)}})
        assert (await mine.receive_json_from(timeout=5))["type"] == "subscribed"
        await mine.disconnect()

    outsider_token = ApiToken.issue(outsider)
    owner_token = ApiToken.issue(owner)
    async_to_sync(scenario)()


def test_an_account_follows_all_its_jobs_and_only_its_own():
    """``account_jobs``: every job a user of the account starts, from its first event (the
    console's task panel); another account's is NOT_FOUND, except to an admin."""
    owner = make_account("owner")
    outsider = make_account("outsider")
    admin = make_account("root", admin=True)
    tokens = {user.username: ApiToken.issue(user) for user in (owner, outsider, admin)}
    account = str(owner.account.uuid)

    async def scenario():
        outside = WebsocketCommunicator(application, f"/ws/events/?token={tokens['outsider']}")
        assert (await outside.connect())[0]
        await outside.send_json_to({"subscribe": {"account_jobs": account}})
        assert (await outside.receive_json_from(timeout=5))["code"] == "NOT_FOUND"
        await outside.disconnect()

        for name in ("owner", "root"):   # one at a time: one receiver on the layer (as the other tests)
            communicator = WebsocketCommunicator(application, f"/ws/events/?token={tokens[name]}")
            assert (await communicator.connect())[0]
            await communicator.send_json_to({"subscribe": {"account_jobs": account}})
            assert await communicator.receive_json_from(timeout=5) == {"type": "subscribed", "account_jobs": account}
            job = await database_sync_to_async(lambda: start_job(flows.FIVE_STEPS, args={"fail_at": 2}, user=owner))()
            # no subscription to the job itself: it is announced from its first event on
            await database_sync_to_async(lambda: execute_job(job.uuid))()
            first, _ = await receive_until(communicator, lambda m: m.get("type") == "job")
            assert first["uuid"] == str(job.uuid) and first["state"] == "pending"
            final, _ = await receive_until(communicator, lambda m: m.get("state") == "failed")
            assert final["error"]["step"] == "step2" and final["error"]["message"] == "step 2 failed on purpose"
            await communicator.disconnect()
        quiet = WebsocketCommunicator(application, f"/ws/events/?token={tokens['owner']}")
        assert (await quiet.connect())[0]
        await quiet.send_json_to({"subscribe": {"account_jobs": account}})
        await quiet.receive_json_from(timeout=5)
        other = await database_sync_to_async(lambda: start_job(flows.NOOP, args={}, user=outsider))()
        mine = await database_sync_to_async(lambda: start_job(flows.NOOP, args={}, user=owner))()
        message, seen = await receive_until(quiet, lambda m: m.get("type") == "job")
        assert message["uuid"] == str(mine.uuid) and str(other.uuid) not in json.dumps(seen)
        await quiet.disconnect()

    async_to_sync(scenario)()


def test_a_page_subscribes_to_its_rows_in_one_message():
    """A list of uuids in one subscribe (a list page's rows): the visible ones are taken, the
    others listed as NOT_FOUND; a change of any of them arrives; unsubscribing needs no right."""
    from apps.core.events.publisher import flush

    tenant = make_account("tenant")
    other = make_account("other")
    from apps.storage.models import Image

    mine = [Image.objects.create(name=f"i{i}", account=tenant.account, url="http://x/i.qcow2") for i in range(3)]
    theirs = Image.objects.create(name="theirs", account=other.account, url="http://x/i.qcow2")
    zone = Zone.objects.create(name="infrastructure: every account reads it")
    flush(5)
    token = ApiToken.issue(tenant)
    wanted = [str(o.uuid) for o in mine] + [str(zone.uuid), str(theirs.uuid)]

    async def scenario():
        communicator = WebsocketCommunicator(application, f"/ws/events/?token={token}")
        assert (await communicator.connect())[0]
        await communicator.send_json_to({"subscribe": {"resource": wanted}})
        assert await communicator.receive_json_from(timeout=5) == {"type": "subscribed", "resource": wanted[:4]}
        refused = await communicator.receive_json_from(timeout=5)
        assert refused["code"] == "NOT_FOUND" and refused["details"] == {"resource": [str(theirs.uuid)]}

        def change():
            for image in (theirs, mine[2]):   # the other account's change is not announced here
                image.description = "changed"
                image.save()

        await database_sync_to_async(change)()
        message, seen = await receive_until(communicator, lambda m: m.get("type") == "resource")
        assert message["uuid"] == str(mine[2].uuid) and message["changes"]["after"] == {"description": "changed"}
        await communicator.send_json_to({"unsubscribe": {"resource": wanted}})
        assert await communicator.receive_json_from(timeout=5) == {"type": "unsubscribed", "resource": wanted}
        await communicator.send_json_to({"subscribe": {"resource": ["nope"]}})
        assert (await communicator.receive_json_from(timeout=5))["code"] == "INVALID_ARGUMENT"
        await communicator.disconnect()

    async_to_sync(scenario)()


def test_a_subscription_since_a_page_was_rendered_names_what_a_job_changed_meanwhile():
    """A page subscribes a moment after it was rendered; the events of that moment went out to no
    one. Given ``since``, the answer names the objects a job changed after it, or is changing
    now, and not those whose jobs ended before it; a bad ``since`` is refused plainly."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.core.models import Job
    from apps.storage.models import Image

    tenant = make_account("tenant")
    from apps.core.events.publisher import flush

    images = [Image.objects.create(name=f"i{i}", account=tenant.account, url="http://x/i.qcow2") for i in range(4)]
    flush(5)   # their create events went out before anyone subscribed (not answers to wait for)
    rendered = timezone.now()

    def job(image, state, finished=None):
        return Job.objects.create(flow="f", action="a", state=state, resource_type="image", resource_uuid=image.uuid,
                                  account=tenant.account, finished_at=finished)

    before, after, running = [job(images[0], "succeeded", rendered - timedelta(seconds=30)),
                              job(images[1], "succeeded", rendered + timedelta(milliseconds=200)),
                              job(images[2], "running")]   # images[3]: no job at all
    token = ApiToken.issue(tenant)
    resources = [str(i.uuid) for i in images]
    jobs = [str(j.uuid) for j in (before, after, running)]

    async def scenario():
        communicator = WebsocketCommunicator(application, f"/ws/events/?token={token}")
        assert (await communicator.connect())[0]
        await communicator.send_json_to({"subscribe": {"resource": resources}, "since": rendered.isoformat()})
        assert await communicator.receive_json_from(timeout=5) == {
            "type": "subscribed", "resource": resources, "changed": {"resource": sorted(resources[1:3])}}
        await communicator.send_json_to({"subscribe": {"job": jobs}, "since": rendered.isoformat()})
        assert await communicator.receive_json_from(timeout=5) == {
            "type": "subscribed", "job": jobs, "changed": {"job": sorted(jobs[1:])}}
        await communicator.send_json_to({"subscribe": {"job": jobs}})   # no since: nothing more said
        assert await communicator.receive_json_from(timeout=5) == {"type": "subscribed", "job": jobs}
        for bad in ("yesterday", "2026-12-07T05:00:00"):   # not a date; no offset
            await communicator.send_json_to({"subscribe": {"job": jobs}, "since": bad})
            refused = await communicator.receive_json_from(timeout=5)
            assert refused["code"] == "INVALID_ARGUMENT" and "since" in refused["message"]
        await communicator.disconnect()

    async_to_sync(scenario)()


@pytest.mark.skipif(settings.EVENTS_BACKEND != "channel-layer", reason="the Redis channel layer (REDIS_URL)")
def test_the_publisher_sends_only_to_groups_with_a_live_member(monkeypatch):
    """apps.core.events.publisher asks Redis which groups have members and skips the others;
    a member older than the layer's group expiry does not count (group_send would drop it)."""
    import time

    from channels.layers import get_channel_layer

    from apps.core.events import publish
    from apps.core.events.publisher import flush, live_groups

    layer = get_channel_layer()
    watched, unwatched, stale = (f"test.{uuid.uuid4()}" for _ in range(3))

    async def subscribe():
        await layer.group_add(watched, await layer.new_channel())
        await layer.group_add(stale, await layer.new_channel())
        connection = layer.connection(layer.consistent_hash(stale))
        members = await connection.zrange(layer._group_key(stale), 0, -1)
        await connection.zadd(layer._group_key(stale), {members[0]: int(time.time()) - layer.group_expiry - 5})

    async_to_sync(subscribe)()
    # the probe is a real one
    assert async_to_sync(live_groups)(layer, {watched, unwatched, stale}) == {watched}
    sent = []
    real_send = layer.group_send

    async def recording_send(group, message):
        sent.append((group, message["payload"]["n"]))
        await real_send(group, message)

    monkeypatch.setattr(layer, "group_send", recording_send)
    for n in range(3):
        publish([unwatched, watched, stale], {"type": "test", "n": n})
    flush(10)
    assert sent == [(watched, 0), (watched, 1), (watched, 2)]   # each event, in order, only there


@pytest.mark.skipif(settings.EVENTS_BACKEND != "channel-layer", reason="the Redis channel layer (REDIS_URL)")
def test_events_a_few_ms_apart_share_one_round_trip(monkeypatch, settings):
    """The publisher waits EVENTS_GATHER_MS after an event for others to join its batch: one
    live_groups query for them all, each still sent in order."""
    import time

    from apps.core.events import publish, publisher

    publisher.flush(10)   # nothing of earlier tests in the queue
    settings.EVENTS_GATHER_MS = 400
    queried = []
    real_live_groups = publisher.live_groups

    async def counting_live_groups(layer, groups):
        queried.append(set(groups))
        return await real_live_groups(layer, groups)

    monkeypatch.setattr(publisher, "live_groups", counting_live_groups)
    groups = [f"test.{uuid.uuid4()}" for _ in range(4)]
    for group in groups:
        publish([group], {"type": "test"})
        time.sleep(0.01)
    publisher.flush(10)
    assert queried == [set(groups)]


@pytest.mark.skipif(settings.EVENTS_BACKEND != "channel-layer", reason="the Redis channel layer (REDIS_URL)")
def test_only_the_first_event_of_a_batch_wakes_the_publisher_thread(monkeypatch, settings):
    """A worker's events arrive while the thread gathers: they join its list without a thread
    switch each; the next event after the batch was taken wakes it again."""
    from channels.layers import get_channel_layer

    from apps.core.events import publish, publisher

    publish([f"test.{uuid.uuid4()}"], {"type": "test", "n": -1})  # the thread runs
    publisher.flush(10)
    settings.EVENTS_GATHER_MS = 300
    loop = publisher._state["loop"]
    wakes = []
    real_call = loop.call_soon_threadsafe
    monkeypatch.setattr(loop, "call_soon_threadsafe", lambda *a, **k: wakes.append(1) or real_call(*a, **k))
    sent = []
    layer = get_channel_layer()
    monkeypatch.setattr(publisher, "live_groups", _all_live)
    real_send = layer.group_send

    async def recording_send(group, message):
        sent.append(message["payload"]["n"])
        await real_send(group, message)

    monkeypatch.setattr(layer, "group_send", recording_send)
    group = f"test.{uuid.uuid4()}"
    for n in range(5):
        publish([group], {"type": "test", "n": n})
    assert len(wakes) == 1
    publisher.flush(10)   # its marker joins the batch: no second wake-up
    assert sent == [0, 1, 2, 3, 4] and len(wakes) == 1
    publish([group], {"type": "test", "n": 5})
    publisher.flush(10)
    assert sent == [0, 1, 2, 3, 4, 5] and len(wakes) == 2


async def _all_live(layer, groups):
    return set(groups)


def test_a_normal_account_watching_a_host_sees_no_admin_only_fields_nor_its_jobs_details():
    from apps.core.events.publisher import flush
    from apps.infra.models import Cluster, Host

    cluster = Cluster.objects.create(name="c", zone=Zone.objects.create(name="z"), hypervisor_type="KVM")
    host = Host.objects.create(name="h", cluster=cluster, hypervisor_type="KVM", management_ip="10.20.30.40")
    flush(5)
    normal_token = ApiToken.issue(make_account("watcher"))
    admin_token = ApiToken.issue(make_account("root", admin=True))

    async def watch(token):
        communicator = WebsocketCommunicator(application, f"/ws/events/?token={token}")
        assert (await communicator.connect())[0]
        await communicator.send_json_to({"subscribe": {"resource": str(host.uuid)}})
        assert (await communicator.receive_json_from(timeout=5))["type"] == "subscribed"
        return communicator

    async def scenario():
        normal, admin = await watch(normal_token), await watch(admin_token)

        def change():
            Host.objects.filter(pk=host.pk).update(name="h")  # no signal: the save below is the event
            obj = Host.objects.get(pk=host.pk)
            obj.management_ip, obj.address_key, obj.status = "10.20.30.41", "10.20.30.41:7070", "Connected"
            obj.facts = {"hostname": "node-a"}
            obj.save()
            job = start_job(flows.NOOP, resource=obj, args={})
            execute_job(job.uuid)

        await database_sync_to_async(change)()
        seen = {}
        for name, communicator in (("normal", normal), ("admin", admin)):
            change_event, _ = await receive_until(communicator, lambda m: m.get("type") == "resource")
            job_event, _ = await receive_until(communicator, lambda m: m.get("type") == "job"
                                               and m["state"] == "succeeded")
            seen[name] = (change_event, job_event)
            await communicator.disconnect()
        change_event, job_event = seen["normal"]
        assert change_event["changes"]["after"] == {"status": "Connected"}
        assert "10.20.30" not in json.dumps(seen["normal"]) and "node-a" not in json.dumps(seen["normal"])
        assert "steps" not in job_event and job_event["state"] == "succeeded"
        change_event, job_event = seen["admin"]
        assert change_event["changes"]["after"]["management_ip"] == "10.20.30.41"
        assert "steps" in job_event

    async_to_sync(scenario)()


def test_the_database_relay_starts_before_its_first_subscriber_is_accepted(settings, monkeypatch):
    """A busy machine delays the relay's first read: an event written just after a subscriber
    connected is still relayed, not taken for one from before it started."""
    import time

    from apps.core.events import relay

    settings.EVENTS_BACKEND = "database"
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    from channels.layers import channel_layers

    fetch = relay._fetch

    def slow_start(after_id, sent):
        if after_id is None:
            time.sleep(0.5)   # within the connect timeout (1 s), long after the rename below
        return fetch(after_id, sent)

    monkeypatch.setattr(relay, "_fetch", slow_start)
    monkeypatch.setattr(relay, "_task", None)
    channel_layers.backends.clear()
    try:
        user = make_account("watcher", admin=True)
        run_event_scenario(ApiToken.issue(user))
    finally:
        channel_layers.backends.clear()


def test_the_channel_layer_waits_for_redis_longer_than_a_consumer_waits_for_a_message(settings):
    """A consumer's blocking pop (channels_redis's ``brpop_timeout``) must end before the Redis
    socket's read timeout, or every websocket idle that long loses its consumer and is closed."""
    from channels_redis.core import RedisChannelLayer
    from channels_redis.utils import create_pool, decode_hosts

    layer = settings.CHANNEL_LAYERS["default"]
    if layer["BACKEND"] != "channels_redis.core.RedisChannelLayer":
        pytest.skip("no Redis channel layer in this run")
    for host in decode_hosts(layer["CONFIG"]["hosts"]):
        pool = create_pool(dict(host))
        timeout = pool.connection_class(**pool.connection_kwargs).socket_timeout   # not connected
        assert timeout is None or timeout > RedisChannelLayer.brpop_timeout + 5
