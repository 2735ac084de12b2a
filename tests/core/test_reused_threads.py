"""HTTP requests under ASGI run their Django code on reused threads (cloudportal.asgi)."""
import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator
from django.db import connections

from cloudportal.asgi import EXECUTOR_CONTEXTS, ReusedSyncThreads, application

needs_executor_contexts = pytest.mark.skipif(not EXECUTOR_CONTEXTS,
                                             reason="this asgiref's ThreadSensitiveContext takes no executor")


class ThreadOf:
    """An ASGI app that answers with the thread its synchronous part ran on."""

    def __init__(self, hold=None):
        self.hold = hold
        self.threads = []

    def work(self):
        if self.hold is not None:
            self.hold.wait(5)
        self.threads.append(threading.get_ident())

    async def __call__(self, scope, receive, send):
        await sync_to_async(self.work)()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def call(app, path="/"):
    return await HttpCommunicator(app, "GET", path).get_response()


@needs_executor_contexts
def test_requests_one_after_another_run_on_the_same_thread():
    inner = ThreadOf()
    app = ReusedSyncThreads(inner, keep=4)

    async def main():
        for _ in range(3):
            await call(app)

    asyncio.run(main())
    assert len(set(inner.threads)) == 1 and app.made == 1


@needs_executor_contexts
def test_concurrent_requests_each_get_a_thread_and_none_waits_for_one():
    hold = threading.Event()
    inner = ThreadOf(hold)
    app = ReusedSyncThreads(inner, keep=1)

    async def main():
        calls = [asyncio.ensure_future(call(app)) for _ in range(3)]
        await asyncio.sleep(0.2)
        hold.set()  # all three were running at once: none queued behind another
        await asyncio.gather(*calls)

    asyncio.run(main())
    assert len(set(inner.threads)) == 3 and app.made == 3  # the 20 ms wait ran out: threads of their own
    assert len(app._idle) == 1 and not app._waiters  # the others ended


@needs_executor_contexts
def test_in_a_burst_a_request_briefly_waits_for_a_busy_thread_instead_of_making_one():
    hold = threading.Event()
    inner = ThreadOf(hold)
    app = ReusedSyncThreads(inner, keep=1, wait_ms=2000)

    async def main():
        first = asyncio.ensure_future(call(app))
        await asyncio.sleep(0.05)
        second = asyncio.ensure_future(call(app))  # the one thread is busy: this one waits for it
        await asyncio.sleep(0.1)
        hold.set()
        await asyncio.gather(first, second)

    asyncio.run(main())
    assert len(inner.threads) == 2 and len(set(inner.threads)) == 1 and app.made == 1
    assert app.busy == 0 and len(app._idle) == 1 and not app._waiters


@needs_executor_contexts
def test_no_more_threads_than_the_limit_live_at_once_and_a_request_past_it_waits_for_one():
    """Each thread holds a database connection: past WEB_SYNC_THREADS_MAX a request waits instead
    of opening one more (100 clients ran MariaDB out of connections: 503s)."""
    hold = threading.Event()
    inner = ThreadOf(hold)
    app = ReusedSyncThreads(inner, keep=1, wait_ms=0, limit=2)

    async def main():
        calls = [asyncio.ensure_future(call(app)) for _ in range(3)]
        await asyncio.sleep(0.2)
        seen = (app.live, len(inner.threads), len(app._waiters))
        hold.set()
        await asyncio.gather(*calls)
        return seen

    assert asyncio.run(main()) == (2, 0, 1)  # two threads at work, the third request waiting
    assert len(inner.threads) == 3 and len(set(inner.threads)) == 2 and app.made == 2
    assert app.live == 1 and len(app._idle) == 1 and app.busy == 0 and not app._waiters


@needs_executor_contexts
def test_an_image_store_download_runs_outside_the_pool_and_does_not_hold_up_the_api():
    """Hosts fetch their image caches from /image-store/: each download holds its thread while
    it streams. With every pooled thread taken by downloads, the API would wait for them."""
    hold = threading.Event()
    inner = ThreadOf(hold)
    app = ReusedSyncThreads(inner, keep=1, wait_ms=0, limit=1)

    async def main():
        downloads = [asyncio.ensure_future(call(app, "/image-store/abc")) for _ in range(3)]
        await asyncio.sleep(0.2)
        seen = (app.streaming, app.live, len(app._waiters))
        api = asyncio.ensure_future(call(app, "/api/v1/zones/"))
        await asyncio.sleep(0.2)
        seen += (len(app._waiters), app.busy)  # the API request got the pooled thread at once
        hold.set()
        await asyncio.gather(api, *downloads)
        return seen

    assert asyncio.run(main()) == (3, 0, 0, 0, 1)
    assert len(set(inner.threads)) == 4 and app.made == 1 and app.streaming == 0


@needs_executor_contexts
def test_a_request_that_goes_away_while_waiting_gives_no_thread_away():
    hold = threading.Event()
    inner = ThreadOf(hold)
    app = ReusedSyncThreads(inner, keep=1, wait_ms=0, limit=1)

    async def main():
        first = asyncio.ensure_future(call(app))
        await asyncio.sleep(0.1)
        second = asyncio.ensure_future(call(app))
        await asyncio.sleep(0.1)
        second.cancel()  # the client went away while waiting for the one thread
        hold.set()
        await first
        await asyncio.sleep(0.05)
        third = await call(app)  # the thread is still there to be had
        return third["status"]

    assert asyncio.run(main()) == 200
    assert app.made == 1 and app.live == 1 and len(app._idle) == 1 and not app._waiters


def test_reused_threads_keep_their_database_connection_and_other_threads_do_not(settings):
    settings.WEB_CONN_MAX_AGE = 60
    app = ReusedSyncThreads(ThreadOf(), keep=1)
    executor = app._take()
    try:
        assert executor.submit(lambda: connections["default"].settings_dict["CONN_MAX_AGE"]).result() == 60
        assert connections["default"].settings_dict["CONN_MAX_AGE"] == 0
    finally:
        executor.submit(connections.close_all).result()
        executor.shutdown()


@pytest.mark.django_db(transaction=True)
def test_the_portal_answers_through_the_reused_threads():
    async def main():
        return [await HttpCommunicator(application, "GET", "/api/v1/zones/").get_response() for _ in range(2)]

    for response in asyncio.run(main()):
        assert response["status"] == 401  # no token: refused, the same way twice


def test_a_request_enters_its_thread_once_for_the_middleware_and_the_view(monkeypatch):
    """cloudportal.asgi.OneHopASGIHandler: Django's async chain went to a thread for the sync
    middleware, back to the event loop, and to the thread again for the view; here the whole
    chain and the view run in one hop, and the answer is the same."""
    import asgiref.sync

    hops = []
    real_call = asgiref.sync.SyncToAsync.__call__

    async def counting_call(self, *args, **kwargs):
        hops.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await real_call(self, *args, **kwargs)

    monkeypatch.setattr(asgiref.sync.SyncToAsync, "__call__", counting_call)

    async def main():
        return await HttpCommunicator(application, "GET", "/api/v1/zones/").get_response()

    response = asyncio.run(main())
    assert response["status"] == 401   # no token: refused as before
    # Django's request_started/finished signals (sync receivers) aside, one hop; Django's own
    # chain made five here (the middleware, CSRF's process_view, the view, render, the 401's log)
    assert [name for name in hops if "Signal.asend" not in name] == ["BaseHandler.get_response"], hops
