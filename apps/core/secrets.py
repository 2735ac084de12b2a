"""Secrets at rest (host passwords, SSH keys, agent secrets, cloud AccessKey secrets).

``EncryptedTextField`` stores Fernet tokens (AES-128-CBC + HMAC-SHA256, from the
well-kept ``cryptography`` package) and gives back plain text in Python. The key
is ``CLOUDPORTAL_SECRETS_KEY`` (a Fernet key) when set, else derived from
``SECRET_KEY``: changing either without re-encrypting makes stored secrets
unreadable. Serializers never return these fields; ``query`` never declares them.
"""
import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models

# Decrypted tokens kept in memory: every Host row read (the allocator reads a window of them per VM)
# carries its agent secret, and decrypting each (HMAC-SHA256 + AES) was ≈ 5 % of a VM create flow's
# CPU. A token always decrypts to the same text under one key, so the plain text of recently read
# tokens is kept, by key and token; the process holds that text anyway whenever it uses the row.
DECRYPTED_KEPT = 4096


def _key():
    key = getattr(settings, "CLOUDPORTAL_SECRETS_KEY", "") or ""
    if not key:
        digest = hashlib.sha256(("cloudportal-secrets:" + settings.SECRET_KEY).encode()).digest()
        key = base64.urlsafe_b64encode(digest)
    return key.encode() if isinstance(key, str) else key


@functools.lru_cache(maxsize=8)
def _fernet_for(key):
    return Fernet(key)


def _fernet():
    return _fernet_for(_key())


@functools.lru_cache(maxsize=DECRYPTED_KEPT)
def _decrypt(key, token):
    return _fernet_for(key).decrypt(token.encode()).decode()


def encrypt(plain):
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token):
    try:
        return _decrypt(_key(), token)
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
