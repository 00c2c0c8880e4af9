"""Encryption at rest for secrets, passwords and token caches (Fernet/MultiFernet, rotatable keys).

`EncryptedTextField` stores ciphertext in the database and hands Python code the plaintext. Values are never
rendered back into pages: forms that take them are write-only (see each form), and `__repr__`s of models that
hold them must not include them.

Keys, in the order MultiFernet tries them (it encrypts with the first only):
1. SHIFTDESK_ENCRYPTION_KEYS, newest first (production: the system check refuses to start without them);
2. keys derived from SECRET_KEY and then each of SECRET_KEY_FALLBACKS. Without (1) the first of these encrypts
   (the demo); with (1) they only decrypt, so a database written before (1) was set, or before SECRET_KEY was
   changed, keeps working until `manage.py rotate_keys` has re-encrypted it with the newest key.

A value no key decrypts (keys lost or rotated away too early) never raises into a page: it reads as an
`Undecryptable` empty string, so ShiftDesk treats the secret as missing and asks for it again (re-enter the
Client Secret, authorize again), and saving its row writes the original ciphertext back unchanged. Each one
read during a request is noted (`undecryptable_seen`) so the page can say so (shiftdesk/ops).
"""

from __future__ import annotations

import base64
import contextvars
import functools
import hashlib
import logging
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

log = logging.getLogger(__name__)


class DecryptionError(Exception):
    """The stored value cannot be decrypted with any configured key (keys rotated away, or tampering)."""


def derived_key(secret_key: str) -> str:
    """The Fernet key derived from a Django SECRET_KEY (the demo's key; decrypt-only once real keys are set)."""
    digest = hashlib.sha256(("shiftdesk-encryption:" + secret_key).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def configured_keys() -> list[str]:
    """Every key, the one that encrypts first (see the module's docstring)."""
    keys = list(settings.SHIFTDESK_ENCRYPTION_KEYS)
    for secret_key in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]:
        key = derived_key(secret_key)
        if key not in keys:
            keys.append(key)
    return keys


@functools.cache
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(k) for k in configured_keys()])


def reset_key_cache() -> None:
    """Forget the cached keys (tests that change SHIFTDESK_ENCRYPTION_KEYS or SECRET_KEY call this)."""
    _fernet.cache_clear()


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise DecryptionError("stored secret cannot be decrypted with the configured keys") from None


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the newest key (used by `manage.py rotate_keys`). Raises DecryptionError."""
    try:
        return _fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise DecryptionError("stored secret cannot be decrypted with the configured keys") from None


class Undecryptable(str):
    """A stored secret no configured key decrypts. It equals "" (so code sees "nothing stored") and keeps
    the ciphertext, which `EncryptedTextField` writes back unchanged when its row is saved: restoring the
    right key later recovers it."""

    ciphertext: str
    label: str

    def __new__(cls, ciphertext: str, label: str = "") -> Undecryptable:
        value = super().__new__(cls, "")
        value.ciphertext = ciphertext
        value.label = label
        return value

    def __repr__(self) -> str:  # never the ciphertext either
        return f"<Undecryptable {self.label}>"


# The labels ("Azure AD OAuth 2 settings: Client Secret: Value") of the undecryptable values read in this
# request or command; None outside one (shiftdesk.ops.middleware starts one per request).
_warned: set[str] = set()
_seen: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("undecryptable_seen", default=None)


def start_noting_undecryptable() -> contextvars.Token:
    return _seen.set(set())


def stop_noting_undecryptable(token: contextvars.Token) -> None:
    _seen.reset(token)


def undecryptable_seen() -> set[str]:
    return set(_seen.get() or ())


class EncryptedTextField(models.TextField):
    """A TextField whose database value is Fernet ciphertext. Empty string stays empty (nothing stored).

    No length limit: refresh tokens and MSAL token caches run to several kilobytes.
    """

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        try:
            return decrypt(value)
        except DecryptionError:
            label = f"{self.model._meta.verbose_name}: {self.verbose_name}"
            if label not in _warned:  # once per process and kind: workers read these rows every poll
                _warned.add(label)
                log.warning(
                    "%s (table %s) cannot be decrypted with the configured keys",
                    label,
                    self.model._meta.db_table,
                )
            seen = _seen.get()
            if seen is not None:
                seen.add(label)
            return Undecryptable(value, label)

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, Undecryptable):
            return value.ciphertext
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Every (model, field) that stores ciphertext, across all installed apps (rotate_keys walks them)."""
    from django.apps import apps

    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]
