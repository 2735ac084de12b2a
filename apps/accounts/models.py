"""Accounts (admin or normal, ZStack's account model), their users and API tokens."""
import hashlib
import secrets
import uuid as uuid_lib

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models

from apps.core.models import Resource


class AccountType(models.TextChoices):
    SYSTEM_ADMIN = "SystemAdmin"
    NORMAL = "Normal"


class Account(Resource):
    """The unit of ownership: every tenant resource belongs to one account."""

    type = models.CharField(max_length=16, choices=AccountType.choices, default=AccountType.NORMAL)

    tenant_path = "id"

    class Meta(Resource.Meta):
        constraints = [models.UniqueConstraint(fields=["name"], name="account_name_unique")]

    class Query:
        fields = ["uuid", "name", "description", "type", "created_at", "updated_at"]
        relations = ["users"]

    @property
    def is_admin(self):
        return self.type == AccountType.SYSTEM_ADMIN


class User(AbstractUser):
    """A person or program that logs in; acts with its account's rights."""

    uuid = models.UUIDField(default=uuid_lib.uuid4, unique=True, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="users", null=True)
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()
    tenant_path = "account"

    class Meta:
        ordering = ["date_joined", "id"]

    class Query:
        fields = ["uuid", "name", "username", "description", "created_at", "account_uuid"]
        aliases = {"account_uuid": "account__uuid", "name": "username"}  # the API calls it name
        relations = ["account"]

    @property
    def is_admin(self):
        return self.account is not None and self.account.is_admin

    @property
    def name(self):
        return self.username


def _hash(key):
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A login token. Only its SHA-256 is stored; logout deletes it."""

    digest = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    @classmethod
    def issue(cls, user):
        key = secrets.token_hex(32)
        cls.objects.create(digest=_hash(key), user=user)
        return key

    @classmethod
    def lookup(cls, key):
        return cls.objects.select_related("user", "user__account").filter(digest=_hash(key)).first()

    @classmethod
    def revoke(cls, key):
        return cls.objects.filter(digest=_hash(key)).delete()[0]
