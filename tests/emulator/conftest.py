"""Fixtures for tests that drive the real SDKs against the real emulator process on a free port."""
import pytest
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_vpc20160428.client import Client as VpcClient

from .process import DEMO_KEY_ID, DEMO_KEY_SECRET, EmulatorProcess

FAST_TRANSITIONS = 0.2   # seconds per state step in tests (the emulator's default is a few seconds)


@pytest.fixture(scope="session")
def emulator_server(tmp_path_factory):
    """One emulator for the session; `emulator` below empties it before each test."""
    server = EmulatorProcess(tmp_path_factory.mktemp("alibaba-emulator")).start()
    yield server
    server.stop()


@pytest.fixture
def emulator(emulator_server):
    """The session's emulator, reset, with fast transitions."""
    emulator_server.admin("POST", "reset")
    emulator_server.admin("POST", "timing", {"transition_seconds": FAST_TRANSITIONS})
    return emulator_server


@pytest.fixture
def own_emulator(tmp_path):
    """An emulator of the test's own (e.g. to restart it)."""
    server = EmulatorProcess(tmp_path / "state").start()
    server.admin("POST", "timing", {"transition_seconds": FAST_TRANSITIONS})
    yield server
    server.stop()


def sdk_config(server, access_key_id=DEMO_KEY_ID, access_key_secret=DEMO_KEY_SECRET, signature_algorithm=None,
               region_id="cn-hangzhou"):
    return open_api_models.Config(access_key_id=access_key_id, access_key_secret=access_key_secret,
                                  endpoint=server.endpoint, protocol="http", region_id=region_id,
                                  signature_algorithm=signature_algorithm, read_timeout=10000, connect_timeout=5000)


@pytest.fixture
def make_ecs_client(emulator):
    """make_ecs_client(access_key_id=..., access_key_secret=..., signature_algorithm='v2')."""
    return lambda **kwargs: EcsClient(sdk_config(emulator, **kwargs))


@pytest.fixture
def make_vpc_client(emulator):
    return lambda **kwargs: VpcClient(sdk_config(emulator, **kwargs))


@pytest.fixture
def ecs_client(make_ecs_client):
    return make_ecs_client()


@pytest.fixture
def vpc_client(make_vpc_client):
    return make_vpc_client()
