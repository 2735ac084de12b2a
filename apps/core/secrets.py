"""Secrets at rest (host passwords, SSH keys, agent secrets, cloud AccessKey secrets).

``EncryptedTextField`` stores Fernet tokens (AES-128-CBC + HMAC-SHA256, from the
well-kept ``cryptography`` package) and gives back plain text in Python. The key
is ``CLOUDPORTAL_SECRETS_KEY`` (a Fernet key) when set, else derived from
``SECRET_KEY``: changing either without re-encrypting makes stored secrets
unreadable. Serializers never return these fields; ``query`` never declares them.
"""
import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models


def _fernet():
    key = getattr(settings, "CLOUDPORTAL_SECRETS_KEY", "") or ""
    if not key:
        digest = hashlib.sha256(("cloudportal-secrets:" + settings.SECRET_KEY).encode()).digest()
        key = base64.urlsafe_b64encode(digest)
    return Fernet(key)


def encrypt(plain):
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token):
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("a stored secret cannot be decrypted: SECRET_KEY or CLOUDPORTAL_SECRETS_KEY changed") from None


class EncryptedTextField(models.TextField):
    """Plain text in Python, a Fernet token in the database; '' stays ''."""

    secret = True  # change logs show only whether it is set

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)
