"""`manage.py demo` with the demo AccessKey set (as `make run` sets it to the emulator's): the key
becomes the admin's default and cn-hangzhou a data centre; run twice, nothing new is made. The
command's API client is pointed at the API in-process (jobs run inline) instead of a web server."""
import io

import pytest

from apps.compute.management.commands.demo import Command, Portal, demo_access_key
from apps.hybrid.models import AlibabaAccessKey, AlibabaDataCenter
from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET

pytestmark = pytest.mark.django_db


class InProcessPortal(Portal):
    def __init__(self, client, capture):
        super().__init__("http://in-process", "unused")
        self.client, self.capture = client, capture

    def call(self, method, path, body=None):
        with self.capture(execute=True):
            response = getattr(self.client, method.lower())(path, body, format="json")
        return response.status_code, response.json() if response.content else {}


def test_demo_adds_the_demo_key_as_the_admins_default_and_a_data_center(hybrid, settings):
    settings.ALIBABA_CLOUD_DEMO_ACCESS_KEY_ID = DEMO_KEY_ID
    settings.ALIBABA_CLOUD_DEMO_ACCESS_KEY_SECRET = DEMO_KEY_SECRET
    portal = InProcessPortal(hybrid.client, hybrid.capture)
    for _ in range(2):
        command = Command(stdout=io.StringIO())
        command._alibaba(portal)
    key = AlibabaAccessKey.objects.get()
    assert key.access_key_id == DEMO_KEY_ID and key.is_default and key.access_key_secret == DEMO_KEY_SECRET
    center = AlibabaDataCenter.objects.get()
    assert (center.region_id, center.name, center.access_key_id) == ("cn-hangzhou", "demo-hangzhou", key.pk)
    assert "demo-hangzhou" in command.stdout.getvalue() and DEMO_KEY_SECRET not in command.stdout.getvalue()


def test_the_demo_key_is_the_variables_else_the_emulators_when_make_run_started_it(settings):
    settings.ALIBABA_CLOUD_DEMO_ACCESS_KEY_ID, settings.ALIBABA_CLOUD_DEMO_ACCESS_KEY_SECRET = "LTAI5tMine", "mine"
    assert demo_access_key() == ("LTAI5tMine", "mine")
    settings.ALIBABA_CLOUD_DEMO_ACCESS_KEY_ID = settings.ALIBABA_CLOUD_DEMO_ACCESS_KEY_SECRET = ""
    settings.ALIBABA_CLOUD_ENDPOINT = ""   # `make run` starts the emulator with its demo key
    assert demo_access_key() == (DEMO_KEY_ID, DEMO_KEY_SECRET)
    settings.ALIBABA_CLOUD_ENDPOINT = "https://ecs.example.com"   # another endpoint: no key to guess
    assert demo_access_key() == (None, None)


def test_a_demo_key_the_cloud_refuses_is_said_and_the_demo_goes_on(hybrid, settings):
    settings.ALIBABA_CLOUD_DEMO_ACCESS_KEY_ID, settings.ALIBABA_CLOUD_DEMO_ACCESS_KEY_SECRET = DEMO_KEY_ID, "wrong"
    command = Command(stdout=io.StringIO(), stderr=io.StringIO())
    command._alibaba(InProcessPortal(hybrid.client, hybrid.capture))
    assert "SignatureDoesNotMatch" in command.stderr.getvalue() and "wrong" not in command.stderr.getvalue()
    assert not AlibabaAccessKey.objects.exists()
