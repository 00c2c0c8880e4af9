"""Key rotation (issue 11, item 3): `manage.py rotate_keys` moves every stored secret onto the newest key, old
keys decrypt until then, keys derived from SECRET_KEY_FALLBACKS decrypt too, and a secret no key decrypts
never gives a 500: the pages say what to enter again. Real OAuth through the emulator, real database."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db.models import ExpressionWrapper, F, TextField

from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.feeds.actions import do_get_or_create_feed_token
from shiftdesk.lib import crypto
from shiftdesk.microsoft.auth import acquire_access_token
from shiftdesk.microsoft.models import AzureADSettings
from tests.microsoft.conftest import (  # noqa: F401 -- fixtures
    MEGAN,
    SECRET,
    app_id,
    authorize,
    emulator,
    emulator_server,
    world,
)

KEY_A, KEY_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def keys(settings):
    """keys(*fernet_keys, secret_key=..., fallbacks=[...]): switch the configured keys, as a restart would."""

    def use(*fernet_keys: str, secret_key: str | None = None, fallbacks: tuple[str, ...] = ()) -> None:
        settings.SHIFTDESK_ENCRYPTION_KEYS = list(fernet_keys)
        if secret_key is not None:
            settings.SECRET_KEY = secret_key
        settings.SECRET_KEY_FALLBACKS = list(fallbacks)
        crypto.reset_key_cache()

    yield use
    crypto.reset_key_cache()


@pytest.fixture
def stored(db, alice, bob, bob_client, emulator, app_id):  # noqa: F811
    """Azure AD settings with a secret, Bob connected through the emulator (token cache), his feed token."""

    def make() -> dict[tuple[str, str, int], str]:
        from shiftdesk.microsoft.actions import do_save_azure_ad_settings
        from shiftdesk.microsoft.identity import AccountType

        candidate = AzureADSettings.load()
        candidate.application_id, candidate.client_secret = app_id, SECRET
        candidate.secret_last4, candidate.account_type, candidate.enabled = (
            SECRET[-4:],
            AccountType.MULTI_AND_PERSONAL,
            True,
        )
        do_save_azure_ad_settings(candidate, by=alice, verified=True)
        response, _ = authorize(bob_client, emulator, *MEGAN)
        assert response.status_code == 302
        do_get_or_create_feed_token(bob)
        return plaintexts()

    return make


def plaintexts() -> dict[tuple[str, str, int], str]:
    """Every non-empty stored secret, decrypted, by (model, field, pk)."""
    found = {}
    for model, field in crypto.encrypted_fields():
        for pk, value in model._default_manager.values_list("pk", field.attname):
            if value:
                found[(model._meta.label, field.name, pk)] = value
    return found


def ciphertexts() -> list[str]:
    found = []
    for model, field in crypto.encrypted_fields():
        raw = ExpressionWrapper(F(field.attname), output_field=TextField())
        found += [v for v in model._default_manager.annotate(r=raw).values_list("r", flat=True) if v]
    return found


def rotate(*args: str) -> str:
    out = io.StringIO()
    call_command("rotate_keys", *args, stdout=out)
    return out.getvalue()


def pages_work(alice_client_factory, bob_client) -> None:
    assert bob_client.get("/account/calendar-sync/").status_code == 200
    admin = alice_client_factory()
    assert admin.get("/admin/integrations/").status_code == 200
    assert admin.get("/admin/accounts/integration-status/").status_code == 200


@pytest.fixture
def admin_client_factory(alice):
    from django.test import Client

    def make():
        client = Client()
        client.force_login(alice)
        return client

    return make


def test_rotate_moves_every_secret_to_the_new_key_and_the_old_key_can_then_go(
    keys, stored, bob, bob_client, admin_client_factory
):
    keys(KEY_A)
    before = stored()
    assert {label for label, _field, _pk in before} >= {
        "microsoft.AzureADSettings", "calendarsync.CalendarConnection", "feeds.FeedToken",
    }  # fmt: skip
    keys(KEY_B, KEY_A)  # the new key first; A still decrypts
    assert plaintexts() == before
    assert f"{len(before)} re-encrypted, 0 already on the newest key, 0 cannot be decrypted." in rotate()
    assert all(Fernet(KEY_B).decrypt(c.encode()) for c in ciphertexts())
    assert "0 to re-encrypt" in rotate("--check")
    keys(KEY_B)  # A removed
    assert plaintexts() == before
    pages_work(admin_client_factory, bob_client)
    assert acquire_access_token(CalendarConnection.objects.get(user=bob))  # the token cache still works


def test_a_changed_secret_key_with_the_old_one_in_fallbacks_keeps_everything(
    keys, stored, bob, bob_client, admin_client_factory
):
    keys(secret_key="first-secret-key-" + "a" * 40)  # no SHIFTDESK_ENCRYPTION_KEYS: derived from SECRET_KEY
    bob_client.force_login(bob)  # a session signed with this SECRET_KEY (the fallback keeps it valid too)
    before = stored()
    keys(secret_key="second-secret-key-" + "b" * 40, fallbacks=("first-secret-key-" + "a" * 40,))
    assert plaintexts() == before
    pages_work(admin_client_factory, bob_client)
    assert f"{len(before)} re-encrypted" in rotate()
    keys(secret_key="second-secret-key-" + "b" * 40)  # fallback removed
    assert plaintexts() == before


def test_a_secret_no_key_decrypts_gives_a_clear_message_not_a_500_and_is_kept(
    keys, stored, bob, bob_client, admin_client_factory
):
    keys(KEY_A)
    before = stored()
    raw_before = sorted(ciphertexts())
    keys(KEY_B)  # A removed too early
    calendar_sync = bob_client.get("/account/calendar-sync/")
    assert calendar_sync.status_code == 200
    assert "Press Authorize with Microsoft Account again" in calendar_sync.content.decode()
    admin = admin_client_factory()
    integrations = admin.get("/admin/integrations/")
    assert integrations.status_code == 200
    assert "Enter the Client Secret: Value (or certificate) again" in integrations.content.decode()
    status = admin.get("/admin/accounts/integration-status/")
    assert status.status_code == 200
    assert "cannot be decrypted with the configured encryption keys" in status.content.decode()
    # Saving the rows (as workers and admins do) writes the undecryptable ciphertext back unchanged.
    CalendarConnection.objects.get(user=bob).save()
    AzureADSettings.load().save()
    with pytest.raises(CommandError, match="cannot be decrypted"):
        rotate()
    assert sorted(ciphertexts()) == raw_before
    keys(KEY_A)  # the old key restored: everything is back
    assert plaintexts() == before
