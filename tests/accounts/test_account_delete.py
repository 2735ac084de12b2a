"""Deleting an account: what it owns is named and refused (409) by the dry run and the DELETE alike."""
import pytest
from django.apps import apps as django_apps
from django.db import models

from apps.accounts.models import Account
from apps.compute.models import VmInstance
from apps.core.cascade import RULES, delete_row
from apps.core.errors import Conflict
from apps.core.models import Job
from apps.infra.models import Zone
from apps.storage.models import Image, PrimaryStorage, Volume
from tests.conftest import make_account

pytestmark = pytest.mark.django_db


def protecting_relations():
    """(model, field name) of every foreign key that keeps an Account from being deleted."""
    found = []
    for model in django_apps.get_models():
        for field in model._meta.get_fields():
            if (isinstance(field, models.ForeignKey) and field.remote_field.model is Account
                    and field.remote_field.on_delete in (models.PROTECT, models.RESTRICT)):
                found.append((model, field.name))
    return found


def test_every_relation_that_protects_an_account_has_a_cascade_rule():
    relations = protecting_relations()
    assert (VmInstance, "account") in relations and (Volume, "account") in relations
    ruled = {(rule.child, rule.via) for rule in RULES[Account]}
    missing = [f"{model.__name__}.{name}" for model, name in relations if (model, name) not in ruled]
    assert not missing, f"an account owning these cannot be deleted, yet no cascade rule names them: {missing}"


@pytest.fixture
def owner():
    user = make_account("acme")
    account = user.account
    ps = PrimaryStorage.objects.create(name="ps", url="/ps", zone=Zone.objects.create(name="z"))
    vm = VmInstance.objects.create(name="web-1", account=account, cpu_num=1, memory_size=1 << 30, state="Stopped")
    volume = Volume.objects.create(name="root-web-1", account=account, primary_storage=ps,
                                   install_path="/ps/root.qcow2", size=1 << 30)
    image = Image.objects.create(name="my-image", account=account, status="Ready")
    return account, [vm, volume, image]


def test_the_dry_run_and_the_delete_name_what_the_account_owns(admin_client, owner,
                                                               django_capture_on_commit_callbacks):
    account, owned = owner
    url = f"/api/v1/accounts/{account.uuid}/"
    dry = admin_client.delete(url + "?dry_run=true").json()
    assert dry["can_delete"] is False
    assert {b["uuid"] for b in dry["blockers"]} == {str(o.uuid) for o in owned}
    jobs = Job.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.delete(url)
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "HAS_DEPENDENTS" and "web-1" in body["message"]
    assert {b["uuid"] for b in body["details"]["blockers"]} == {str(o.uuid) for o in owned}
    assert Job.objects.count() == jobs and Account.objects.filter(pk=account.pk).exists()

    for obj in owned:  # once they are gone (through their own flows), both agree the other way
        type(obj).objects.filter(pk=obj.pk).delete()
    assert admin_client.delete(url + "?dry_run=true").json()["can_delete"] is True
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.delete(url)
    assert response.status_code == 202
    assert admin_client.get(response["Location"]).json()["state"] == "succeeded"
    assert not Account.objects.filter(pk=account.pk).exists()


def test_a_row_made_after_the_check_fails_the_delete_with_a_code_not_a_repr(owner):
    account, _ = owner
    with pytest.raises(Conflict) as raised:
        delete_row(account)
    error = raised.value.as_dict()
    assert error["code"] == "HAS_DEPENDENTS" and "web-1" in error["message"]
    assert "ProtectedError" not in str(error) and "<" not in error["message"]
    assert Account.objects.filter(pk=account.pk).exists()
