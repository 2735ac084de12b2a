"""An OSS-only stand-in for the emulator's server, for the OSS tests: `alibaba_emulator.oss.handle`
mounted on a real aiohttp server on a free port, in a thread, with a small emulator object that
has the contract's interface (keys, faults, throttles, clock, request ids, state directory)."""
import asyncio
import dataclasses
import threading
import time
import uuid
from pathlib import Path

import oss2
import pytest
from aiohttp import web

from alibaba_emulator import oss

DEMO_KEY_ID = "LTAI5tDemoKey0CloudPortal"
DEMO_KEY_SECRET = "CloudPortalDemoSecret0000000000"
DEMO_ACCOUNT = "1000000000000001"


@dataclasses.dataclass
class Fault:
    http_status: int
    code: str
    message: str


class StandInEmulator:
    def __init__(self, state_dir: Path):
        self.state_dir = state_dir
        self.keys = {DEMO_KEY_ID: (DEMO_KEY_SECRET, DEMO_ACCOUNT)}
        self.faults: dict[tuple[str, str], list[Fault]] = {}
        self.throttles: dict[tuple[str, str], list[float]] = {}

    def secret_for(self, access_key_id):
        return self.keys.get(access_key_id, (None, None))[0]

    def account_for(self, access_key_id):
        return self.keys.get(access_key_id, (None, None))[1]

    def take_fault(self, product, action):
        pending = self.faults.get((product, action))
        return pending.pop(0) if pending else None

    def take_throttle(self, product, action):
        pending = self.throttles.get((product, action)) or self.throttles.get((product, "*"))
        return pending.pop(0) if pending else None

    def now(self):
        return time.time()

    def request_id(self):
        return uuid.uuid4().hex[:24].upper()

    def save(self):
        pass


class OssServer:
    """`endpoint` is what oss2 is given; `restart()` stops the server and starts a new one (a new
    emulator object, like a new process) on the same state directory."""

    def __init__(self, state_dir: Path):
        self.state_dir = state_dir
        self.port = 0
        self._thread = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.emulator = StandInEmulator(self.state_dir)
        started = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def serve():
            async def route(request):
                return await oss.handle(request, self.emulator)

            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", route)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", self.port)
            await site.start()
            self.port = self._runner.addresses[0][1]
            started.set()

        def run():
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the OSS test server did not start")
        return self

    def stop(self):
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        # A new process would load the files again: so does the next start.
        oss.store._stores.clear()

    def restart(self):
        self.stop()
        return self.start()

    # ---- what the admin API does on the real server ----
    def add_key(self, access_key_id, secret, account):
        self.emulator.keys[access_key_id] = (secret, account)

    def fault(self, action, code="InternalError", message="Injected fault", http_status=500, times=1):
        self.emulator.faults.setdefault(("Oss", action), []).extend([Fault(http_status, code, message)] * times)

    def throttle(self, action, retry_after=1.0, times=1):
        self.emulator.throttles.setdefault(("Oss", action), []).extend([retry_after] * times)

    def state(self, account=None):
        return oss.snapshot(self.emulator, account=account)


@pytest.fixture
def oss_server(tmp_path):
    server = OssServer(tmp_path / "emulator-state").start()
    yield server
    server.stop()


def demo_auth(version="v1"):
    if version == "v4":
        return oss2.AuthV4(DEMO_KEY_ID, DEMO_KEY_SECRET)
    return oss2.Auth(DEMO_KEY_ID, DEMO_KEY_SECRET)


def bucket(server, name, auth=None, region="cn-hangzhou"):
    """An oss2 Bucket on the emulator (path style, as oss2 does for an IP endpoint)."""
    return oss2.Bucket(auth or demo_auth(), server.endpoint, name, region=region)


@pytest.fixture
def demo_bucket(oss_server):
    created = bucket(oss_server, "demo-bucket")
    created.create_bucket()
    return created
