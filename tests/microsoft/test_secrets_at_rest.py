"""No secret, token or key in clear: not in the database's raw rows, not in logs, not in rendered pages."""

from __future__ import annotations

import json
import logging

from django.db import connection as db

from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.microsoft.auth import acquire_access_token
from tests.microsoft.conftest import MEGAN, SECRET
from tests.microsoft.test_certificate import make_cert, make_pem
from tests.microsoft.test_tokens import later


def raw_rows() -> str:
    """Every row of every table, as stored."""
    dump = []
    with db.cursor() as cursor:
        for table in db.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from introspection
            dump.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(dump)


def secrets_of(connection: CalendarConnection) -> list[str]:
    cache = json.loads(connection.credentials)
    found = [rt["secret"] for rt in cache["RefreshToken"].values()]
    found += [at["secret"] for at in cache["AccessToken"].values()]
    found += [it["secret"] for it in cache["IdToken"].values()]
    return found


def test_nothing_secret_is_stored_in_clear_or_logged_or_rendered(
    alice_client, emulator, app_id, caplog, bob, django_capture_on_commit_callbacks
):
    from django.test import Client

    caplog.set_level(logging.DEBUG)
    # The admin saves a secret and a certificate; a user authorizes; the refresh token rotates.
    assert (
        alice_client.post(
            "/admin/integrations/azure/",
            {
                "application_id": app_id,
                "client_secret": SECRET,
                "secret_expires_on": "2030-01-31",
                "account_type": "multi_personal",
                "enabled": "enabled",
            },
        ).status_code
        == 302
    )
    bob_client = Client()
    bob_client.force_login(bob)
    from tests.microsoft.conftest import authorize

    authorize(bob_client, emulator, *MEGAN)
    connection = CalendarConnection.objects.get(user=bob)
    with later():
        acquire_access_token(CalendarConnection.objects.get(pk=connection.pk))
    connection = CalendarConnection.objects.get(pk=connection.pk)
    cert, key = make_cert("rest")
    emulator.control.post(f"/apps/{app_id}/certificates", json={"pem": cert.decode()}).raise_for_status()
    assert (
        alice_client.post(
            "/admin/integrations/azure/",
            {
                "application_id": app_id,
                "account_type": "single",
                "tenant_id": "contoso.onmicrosoft.com",
                "enabled": "enabled",
                "certificate": make_pem("rest", (cert, key)),
            },
        ).status_code
        == 302
    )
    key_body = key.decode().splitlines()[1]  # a line of the private key's base64

    secrets = [SECRET, key_body, *secrets_of(connection)]
    rows = raw_rows()
    logs = caplog.text
    pages = "".join(
        c.get(url).content.decode()
        for c, url in [
            (alice_client, "/admin/integrations/"),
            (bob_client, "/account/calendar-sync/"),
            (bob_client, "/"),
        ]
    )
    for value in secrets:
        assert value not in rows, "a secret is stored in clear"
        assert value not in logs, "a secret was logged"
        assert value not in pages, "a secret was rendered"
    assert repr(connection).count("credentials") == 0
