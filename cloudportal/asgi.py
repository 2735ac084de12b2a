"""ASGI entry point: HTTP through Django, websockets through Channels."""
import asyncio
import collections
import inspect
import os
from concurrent.futures import ThreadPoolExecutor

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.db import connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloudportal.settings")


class OneHopASGIHandler(ASGIHandler):
    """Django's ASGI handler, with each request's middleware and view run in one hop to its thread.

    Django builds the ASGI middleware chain async: sync middleware (all of ours and Django's own)
    is entered through ``sync_to_async``, the view is reached back in the event loop through
    ``async_to_sync`` and then run through ``sync_to_async`` again, and CSRF's ``process_view``,
    the response's render and a 4xx's log line are hops of their own (five for a refused request,
    tests/core/test_reused_threads.py), each a future, a lock and a wake-up on both sides (in a
    py-spy profile of ``bench/vm_create.py`` the event loop's side of them was a third of the web
    process's CPU). Here the chain is built
    as WSGI builds it, all sync, and entered once; reading the body and sending the response
    stay Django's async code."""

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=True)
        self._sync_handler = BaseHandler()
        self._sync_handler.load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self._sync_handler.get_response, thread_sensitive=True)(request)


django.setup(set_prefix=False)
django_asgi_app = OneHopASGIHandler()

from cloudportal import logredact  # noqa: E402

logredact.install()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402

from cloudportal.websocket_auth import TokenOrSessionAuthMiddleware  # noqa: E402
from cloudportal.routing import websocket_urlpatterns  # noqa: E402


EXECUTOR_CONTEXTS = "executor" in inspect.signature(ThreadSensitiveContext.__init__).parameters


class ReusedSyncThreads:
    """HTTP requests run their synchronous Django code on reused threads.

    Django's ASGIHandler runs each request in a fresh ``ThreadSensitiveContext``: asgiref then
    makes a one-thread executor, so a new thread, for every request, and the thread's database
    connection and wrapper (with what it learnt of the server: version, sql_mode, one more query
    on MariaDB) die with it. Here each request still gets a one-thread executor of its own, but
    taken from the idle ones and given back afterwards (``ThreadSensitiveContext(executor=...)``,
    asgiref 3.13 here); Django's own context then sees the enclosing one and leaves it alone.
    With an asgiref whose ThreadSensitiveContext takes no executor, requests run as before.

    * Nothing waits long for a thread: when none is idle and ``WEB_SYNC_THREADS`` are busy, a
      request waits at most ``WEB_SYNC_THREAD_WAIT_MS`` (default 20) for one to come back, then
      gets a new executor, as before, so a slow request (an image download) never holds up
      another for more than that (below the limit of the next point). The short wait is for bursts (100 clients creating VMs): busy
      threads come back within milliseconds, and a new thread means a new MariaDB connection
      (connect, authentication, session set-up) made and dropped for one request.
    * At most ``WEB_SYNC_THREADS`` (default 8) idle executors are kept; one given back beyond
      that closes its thread's database connections and ends.
    * At most ``WEB_SYNC_THREADS_MAX`` (default 16) executors live at once: past that a request
      waits for one, however long. Each holds a database connection, and a client can have two
      requests in here (the end of its last one, after the response went out, and its next), so
      100 clients on a loaded machine made ≈ 140 threads, MariaDB's 151 connections ran out and
      requests got 503 (bench/vm_create.py, 4 Dec). Fewer is faster too: the API's requests only
      use CPU and the database (remote work goes to jobs), and each runnable thread more is more
      contention for the GIL: in back-to-back runs of bench/vm_create.py the web spent 10.5 ms of CPU
      per VM create with 32 idle / 64 threads, 9.4 with 8 / 16 (8.2 in a run with 8 / 8).
    * A request that streams a file for long (``STREAMING_PREFIXES``: the image store, which
      every host fetches its image caches from) holds its thread for the whole download, so it
      gets a thread of its own outside the pool and the limit, as Django would give it: a few
      hundred hosts caching an image at once do not hold up the API.
    * These threads keep their database connection ``WEB_CONN_MAX_AGE`` seconds (settings;
      with health checks; 0: closed after every request, as before). Only these threads: the
      global ``CONN_MAX_AGE`` stays 0, so a thread that is not reused leaks no connection.
    * Websockets (Channels consumers) do not come through here.
    """

    def __init__(self, app, keep=None, wait_ms=None, limit=None):
        self.app = app
        self.keep = int(os.environ.get("WEB_SYNC_THREADS", "8")) if keep is None else keep
        self.wait = (int(os.environ.get("WEB_SYNC_THREAD_WAIT_MS", "20")) if wait_ms is None else wait_ms) / 1000
        self.limit = max(self.keep, int(os.environ.get("WEB_SYNC_THREADS_MAX", "16")) if limit is None else limit)
        # touched only from the event loop's thread: no lock needed
        self._idle = []
        self._waiters = collections.deque()  # futures of requests waiting for an executor
        self.busy = 0
        self.streaming = 0  # requests on threads of their own (STREAMING_PREFIXES)
        self.made = 0
        self.live = 0  # executors made and not ended

    def _take(self):
        if self._idle:
            return self._idle.pop()  # the most recently used: its connection is the freshest
        self.made += 1
        self.live += 1
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="django-request",
                                  initializer=_keep_connections)

    async def _take_or_wait(self):
        full = not self._idle and self.live >= self.limit
        if full or (not self._idle and self.busy >= self.keep and self.wait > 0):
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                # as many threads as allowed: wait for one to come back, else only briefly
                return await (waiter if full else asyncio.wait_for(waiter, self.wait))
            except asyncio.TimeoutError:
                pass  # none came back in time: a thread of its own, as without the wait
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._give_back(waiter.result())  # handed over just as this request went away
                raise
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            if not self._idle and self.live >= self.limit:
                return await self._take_or_wait()  # others made the last threads meanwhile
        return self._take()

    def _give_back(self, executor):
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(executor)  # straight to a waiting request
                return
        if len(self._idle) < self.keep:
            self._idle.append(executor)
        else:
            executor.submit(connections.close_all)  # runs on that thread, before it ends
            executor.shutdown(wait=False)
            self.live -= 1

    async def __call__(self, scope, receive, send):
        if not EXECUTOR_CONTEXTS:
            return await self.app(scope, receive, send)
        if scope.get("type") == "http" and scope.get("path", "").startswith(STREAMING_PREFIXES):
            return await self._streaming(scope, receive, send)
        executor = await self._take_or_wait()
        self.busy += 1
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.app(scope, receive, send)
        finally:
            self.busy -= 1
            self._give_back(executor)

    async def _streaming(self, scope, receive, send):
        """A thread of its own, ended afterwards (with its database connections), as Django's own
        handler does for every request."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="django-stream")
        self.streaming += 1
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.app(scope, receive, send)
        finally:
            self.streaming -= 1
            executor.submit(connections.close_all)
            executor.shutdown(wait=False)


# paths whose responses stream a file for long: their requests do not take a pooled thread
STREAMING_PREFIXES = ("/image-store/",)


def _keep_connections():
    """This (request) thread's database wrappers keep their connection WEB_CONN_MAX_AGE seconds."""
    from django.conf import settings

    seconds = int(getattr(settings, "WEB_CONN_MAX_AGE", 0))
    if seconds:
        for conn in connections.all():
            conn.settings_dict = {**conn.settings_dict, "CONN_MAX_AGE": seconds, "CONN_HEALTH_CHECKS": True}


application = ProtocolTypeRouter(
    {
        "http": ReusedSyncThreads(django_asgi_app),
        "websocket": SessionMiddlewareStack(TokenOrSessionAuthMiddleware(URLRouter(websocket_urlpatterns))),
    }
)


def _freeze_startup_heap():
    """Move what the process holds once started (Django, DRF, every view, serializer and model
    module, imported here rather than by the first request) out of the garbage collector's sight.
    A page of a list leaves thousands of objects in reference cycles (rows and their prefetched
    children point at each other), so the collector's full pass runs every few dozen requests, and
    it walked this whole heap each time: a stall of tens of milliseconds in whatever request was
    running (docs/benchmarks.md). Frozen objects are never collected; they live as long as the
    process anyway."""
    import gc

    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports the URLconf and everything it names
    gc.collect()
    gc.freeze()


_freeze_startup_heap()
