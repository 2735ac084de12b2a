"""Shared fixtures. Tests run on whatever DATABASE_URL/REDIS_URL point at: MariaDB
and Redis in CI, SQLite and the filesystem broker on a zero-setup machine."""
import pytest
from rest_framework.test import APIClient

from cloudportal.celery import app as celery_app


@pytest.fixture(autouse=True)
def _eager_jobs():
    """Jobs started by API calls run in-process (real engine, same transaction)
    unless a test starts real workers (see tests/workers.py)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def make_account(name, *, admin=False, password="pass-word-1"):
    from apps.accounts.models import Account, AccountType, User

    account = Account.objects.create(name=name, type=AccountType.SYSTEM_ADMIN if admin else AccountType.NORMAL)
    user = User(username=name, account=account)
    user.set_password(password)
    user.save()
    return user


def client_for(user):
    from apps.accounts.models import ApiToken

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(user)}")
    return client


@pytest.fixture
def admin_user(db):
    return make_account("root-admin", admin=True)


@pytest.fixture
def admin_client(admin_user):
    return client_for(admin_user)


@pytest.fixture
def tenant_user(db):
    return make_account("tenant-a")


@pytest.fixture
def tenant_client(tenant_user):
    return client_for(tenant_user)
