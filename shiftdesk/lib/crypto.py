"""Encryption at rest for secrets, passwords and token caches (Fernet/MultiFernet, rotatable keys).

`EncryptedTextField` stores ciphertext in the database and hands Python code the plaintext. Values are never
rendered back into pages: forms that take them are write-only (see each form), and `__repr__`s of models that
hold them must not include them.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


class DecryptionError(Exception):
    """The stored value cannot be decrypted with any configured key (keys rotated away, or tampering)."""


@functools.cache
def _fernet() -> MultiFernet:
    keys = list(settings.SHIFTDESK_ENCRYPTION_KEYS)
    if not keys:
        # Demo default: derived from SECRET_KEY so a fresh checkout works; production sets real keys.
        digest = hashlib.sha256(("shiftdesk-encryption:" + settings.SECRET_KEY).encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(k) for k in keys])


def reset_key_cache() -> None:
    """Forget the cached keys (tests that change SHIFTDESK_ENCRYPTION_KEYS call this)."""
    _fernet.cache_clear()


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise DecryptionError("stored secret cannot be decrypted with the configured keys") from None


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the newest key (used by `manage.py rotate_keys`)."""
    return _fernet().rotate(ciphertext.encode()).decode()


class EncryptedTextField(models.TextField):
    """A TextField whose database value is Fernet ciphertext. Empty string stays empty (nothing stored).

    No length limit: refresh tokens and MSAL token caches run to several kilobytes.
    """

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)
