"""Calendars.ReadWrite.Shared (issue 13; the FAQ: "Some sites may also require the Calendars.ReadWrite.Shared
permission"): Admin > Integrations can ask users for it; a user who authorizes then sees calendars others shared
with them among their calendars; grants made before the option keep working. Against the emulator's sharing
model over HTTPS. (Writing shifts into a shared calendar is the sync provider's part.)"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from django.test import Client

from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.microsoft.models import AzureADSettings
from tests.microsoft.conftest import MEGAN, authorize

ADELE = "adele@contoso.onmicrosoft.com"
SHARED = "Calendars.ReadWrite.Shared"


def share_desk_shifts(emulator, role="write") -> str:
    """Adele shares "Desk shifts" with Megan; the id Megan's calendar list gives it (her own, under the default
    variant shared_calendar_ids=per_mailbox)."""
    cal = emulator.control.post(f"/graph/mailboxes/{ADELE}/calendars", json={"name": "Desk shifts"}).json()[
        "id"
    ]
    shared = emulator.control.put(f"/graph/mailboxes/{ADELE}/calendars/{cal}/shares/{MEGAN[0]}",
                                  json={"role": role})  # fmt: skip
    shared.raise_for_status()
    (seen,) = shared.json()["shareeCalendarIds"].values()
    return seen


def test_admin_can_ask_for_shared_calendars_and_users_then_see_them(alice, bob_client, emulator, azure):
    admin = Client()
    admin.force_login(alice)
    page = admin.get("/admin/integrations/").content.decode()
    assert "Also request Calendars.ReadWrite.Shared" in page and "Some sites may also require" in page
    saved = admin.post("/admin/integrations/azure/", {
        "application_id": azure.application_id, "client_secret": "", "secret_expires_on": "2030-01-31",
        "account_type": "multi_personal", "tenant_id": "", "enabled": "enabled",
        "request_shared_calendars": "on"})  # fmt: skip
    assert saved.status_code == 302, saved.content.decode()[:2000]
    assert AzureADSettings.load().request_shared_calendars is True

    desk = share_desk_shifts(emulator)
    start = bob_client.get("/account/calendar-sync/microsoft/authorize/")
    assert SHARED in parse_qs(urlsplit(start["Location"]).query)["scope"][0].split()
    response, _ = authorize(bob_client, emulator, *MEGAN)
    assert response.status_code == 302
    connection = CalendarConnection.objects.get(user__email="bob@example.org")
    assert SHARED in connection.provider_settings["scopes"]
    html = bob_client.get("/account/calendar-sync/").content.decode()
    assert re.search(rf'<option value="{re.escape(desk)}"[^>]*>[^<]*Desk shifts', html), (
        "shared calendar not offered"
    )


def test_grants_made_before_the_option_keep_working(bob_client, emulator, azure, connected_bob):
    from shiftdesk.microsoft.auth import acquire_access_token

    AzureADSettings.objects.update(request_shared_calendars=True)
    connected_bob.refresh_from_db()
    assert SHARED not in connected_bob.provider_settings["scopes"]
    from shiftdesk.microsoft.auth import without_access_tokens

    # No access token left in the cache: the refresh token is used, for the scopes Bob granted.
    CalendarConnection.objects.filter(pk=connected_bob.pk).update(
        credentials=without_access_tokens(connected_bob.credentials)
    )
    connected_bob.refresh_from_db()
    before = len(emulator.control.get("/graph/requests", params={"path_prefix": "/"}).json()["value"])
    token = acquire_access_token(connected_bob, azure=AzureADSettings.load())
    rows = emulator.control.get("/graph/requests", params={"path_prefix": "/"}).json()["value"][before:]
    assert any(r["path"].endswith("/oauth2/v2.0/token") and r["status"] == 200 for r in rows)
    assert token
    connected_bob.refresh_from_db()
    assert connected_bob.status == "connected"
