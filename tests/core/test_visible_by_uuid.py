"""A uuid given to the API is looked up with a prepared query (tenancy.visible_by_uuid): the same
rows as ``visible(queryset, user).filter(uuid=...)`` for every kind of model and user."""
import uuid

import pytest
from django.contrib.auth.models import AnonymousUser

from apps.accounts.models import Account
from apps.core.models import Job
from apps.core.tenancy import is_plain, visible, visible_by_uuid
from apps.core.testing import make_account
from apps.infra.models import Zone
from apps.storage.models import Image

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    admin, alice, bob = make_account("admin", admin=True), make_account("alice"), make_account("bob")
    rows = {
        "zone": Zone.objects.create(name="z"),  # infrastructure: every account reads it
        "alice_job": Job.objects.create(flow="f", action="a", account=alice.account),
        "alice_image": Image.objects.create(name="private", account=alice.account),
        "public_image": Image.objects.create(name="public", account=alice.account, public=True),
        "alice_account": alice.account,
    }
    return {"admin": admin, "alice": alice, "bob": bob, "anonymous": AnonymousUser()}, rows


@pytest.mark.parametrize("who", ["admin", "alice", "bob", "anonymous"])
def test_the_prepared_lookup_answers_what_visible_answers(world, who):
    users, rows = world
    user = users[who]
    for name, row in rows.items():
        queryset = type(row).objects.all()
        expected = visible(queryset, user).filter(uuid=row.uuid).first()
        assert visible_by_uuid(queryset, row.uuid, user) == expected, (who, name)
        assert visible_by_uuid(queryset, uuid.uuid4(), user) is None


def test_what_each_user_sees(world):
    users, rows = world
    image, public = Image.objects.all(), rows["public_image"]
    assert visible_by_uuid(image, rows["alice_image"].uuid, users["bob"]) is None  # another's: not found
    assert visible_by_uuid(image, public.uuid, users["bob"]) == public  # shared with everyone
    assert visible_by_uuid(Account.objects.all(), rows["alice_account"].uuid, users["alice"]) == rows["alice_account"]
    assert visible_by_uuid(Account.objects.all(), rows["alice_account"].uuid, users["bob"]) is None
    assert visible_by_uuid(Job.objects.all(), rows["alice_job"].uuid, users["admin"]) == rows["alice_job"]


def test_only_a_queryset_of_every_row_is_plain():
    assert is_plain(Image.objects.all())
    assert not is_plain(Image.objects.filter(public=True))
    assert not is_plain(Image.objects.select_related("account"))
    assert not is_plain(Image.objects.all()[:5])
    assert not is_plain(Image.objects.defer("description"))


def test_the_api_refuses_another_accounts_image_and_takes_a_public_one(world):
    """Through VmCreateSerializer's UuidRelatedField, as a create request validates it."""
    from rest_framework.test import APIRequestFactory

    from apps.compute.serializers import VmCreateSerializer

    users, rows = world
    request = APIRequestFactory().post("/")
    request.user = users["bob"]

    def image_errors(image):
        serializer = VmCreateSerializer(data={"name": "vm", "image_uuid": str(image.uuid), "cpu_num": 1,
                                              "memory_size": 1 << 30, "l3_network_uuids": [str(uuid.uuid4())]},
                                        context={"request": request})
        serializer.is_valid()
        return serializer.errors.get("image_uuid")

    assert image_errors(rows["alice_image"]) == [f"image {rows['alice_image'].uuid} not found."]
    assert image_errors(rows["public_image"]) != [f"image {rows['public_image'].uuid} not found."]
