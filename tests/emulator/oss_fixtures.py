"""Fixtures for the OSS tests: oss2 against the real emulator process (tests/emulator/conftest.py
starts it), with the admin API's faults, throttling, keys and state in the words the tests use."""
import oss2
import pytest

from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET

DEMO_ACCOUNT = "1688000000000001"


class OssEmulator:
    """`endpoint` is what oss2 is given (path style: oss2 always uses it for an IP endpoint)."""

    def __init__(self, server):
        self.server = server

    @property
    def endpoint(self) -> str:
        return self.server.url

    @property
    def state_dir(self):
        return self.server.state_dir

    def restart(self):
        self.server.restart()

    def add_key(self, access_key_id, secret, account):
        self.server.admin("POST", "keys", {"access_key_id": access_key_id, "access_key_secret": secret,
                                           "account": account})

    def fault(self, action, code="InternalError", message="Injected fault", http_status=500, times=1):
        self.server.admin("POST", "faults", {"product": "Oss", "action": action, "code": code, "message": message,
                                             "http_status": http_status, "times": times})

    def throttle(self, action, retry_after=1.0, times=1):
        self.server.admin("POST", "throttle", {"product": "Oss", "action": action, "times": times,
                                               "retry_after": retry_after})

    def buckets(self, account=DEMO_ACCOUNT) -> dict:
        """The account's buckets as the emulator's state holds them: {name: record}."""
        state = self.server.state(account)
        return state["accounts"][account]["global"].get("buckets", {})


@pytest.fixture
def oss_server(emulator):
    """The session's emulator, emptied before the test."""
    return OssEmulator(emulator)


@pytest.fixture
def own_oss_server(own_emulator):
    """An emulator process of the test's own, to restart."""
    return OssEmulator(own_emulator)


def demo_auth(version="v1"):
    if version == "v4":
        return oss2.AuthV4(DEMO_KEY_ID, DEMO_KEY_SECRET)
    return oss2.Auth(DEMO_KEY_ID, DEMO_KEY_SECRET)


def bucket(server, name, auth=None, region="cn-hangzhou"):
    """An oss2 Bucket on the emulator."""
    return oss2.Bucket(auth or demo_auth(), server.endpoint, name, region=region)


@pytest.fixture
def demo_bucket(oss_server):
    created = bucket(oss_server, "demo-bucket")
    created.create_bucket()
    return created


def keys(target) -> list:
    return [item.key for item in oss2.ObjectIteratorV2(target)]


def pending_uploads(target) -> list:
    """[(key, upload id, [part numbers])] of the bucket's unfinished multipart uploads."""
    return [(upload.key, upload.upload_id,
             [part.part_number for part in oss2.PartIterator(target, upload.key, upload.upload_id)])
            for upload in oss2.MultipartUploadIterator(target)]
