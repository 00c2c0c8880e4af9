"""Google on calendarsync's pages: Integration Status names each account's provider and puts its errors under
LibStaffer's "Exchange Errors" (Outlook, Exchange) or "Google Errors"; the Export box's "connect first" hint
names the Google Authorization box when Google is on. The Google errors are real: Google's answers through the
emulator over HTTPS."""

from __future__ import annotations

import html as htmllib
import re

from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.scheduling.actions import do_assign_staff
from tests.calendarsync.ui_factories import make_connection
from tests.google.conftest import CLIENT_ID
from tests.google.test_provider_sync import make_shift, step, world

__all__ = ["world"]
STATUS = "/admin/accounts/integration-status/"


def table(html: str) -> tuple[list[str], dict[str, list[str]]]:
    """The header cells, and email -> that account's cells (tags stripped, whitespace folded)."""

    def text(cell: str) -> str:
        return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", cell)).split())

    headers = [text(h) for h in re.findall(r"<th scope=\"col\">(.*?)</th>", html, re.S)]
    rows = {}
    for row in re.findall(r"<tr data-user=.*?</tr>", html, re.S):
        email = re.search(r'<span class="muted">([^<]+@[^<]+)</span>', row).group(1)
        rows[email] = [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    return headers, rows


def test_each_provider_has_its_own_error_column(world, gemu, client, alice, charlie):
    bob = world["bob"]
    make_connection(charlie, account_email="charlie@contoso.example", last_error="Graph said no.")
    # Bob's grant is revoked at Google; the next write finds out through Google's invalid_grant.
    gemu.gcontrol.post(
        "/revoke", json={"client_id": CLIENT_ID, "email": "bob@example.org"}
    ).raise_for_status()
    CalendarConnection.objects.filter(user=bob).update(credentials=_expired(bob))
    do_assign_staff(make_shift(world), bob, by=world["admin"], override_conflicts=True)
    step(bob)
    google = CalendarConnection.objects.get(user=bob)
    assert google.status == CalendarConnection.Status.NEEDS_REAUTHORIZATION

    client.force_login(alice)
    headers, rows = table(client.get(STATUS).content.decode())
    assert headers[-3:] == ["Exchange Errors", "Google Errors", "Action"]
    assert "Provider" in headers
    exchange, google_errors, provider = (
        headers.index("Exchange Errors"),
        headers.index("Google Errors"),
        headers.index("Provider"),
    )
    assert all(len(cells) == len(headers) for cells in rows.values())

    bob_row = rows["bob@example.org"]
    assert bob_row[provider] == "Google Calendar (OAuth 2)"
    assert "Needs reauthorization" in bob_row[1]
    assert "Google no longer accepts ShiftDesk's authorization" in bob_row[google_errors]
    assert bob_row[exchange] == "—"

    charlie_row = rows["charlie@example.org"]
    assert charlie_row[provider] == "Outlook (OAuth 2)"
    assert "Graph said no." in charlie_row[exchange] and charlie_row[google_errors] == "—"

    alice_row = rows["alice@example.org"]
    assert alice_row[1] == "Not connected" and alice_row[exchange] == alice_row[google_errors] == "—"

    problems = table(client.get(STATUS, {"problems": "on"}).content.decode())[1]
    assert "bob@example.org" in problems


def _expired(user) -> str:
    """Bob's credentials with the access token expired, so the next step must refresh (and meet invalid_grant)."""
    import json

    from shiftdesk.google.oauth import _tokens

    data = _tokens(CalendarConnection.objects.get(user=user))
    data["expires_at"] = 0
    return json.dumps(data)


def test_the_export_box_names_the_google_authorization_box_when_google_is_on(bob_client, google_settings):
    html = bob_client.get("/account/calendar-sync/").content.decode()
    hint = re.search(r"data-export-unavailable>(.*?)</p>", html, re.S).group(1)
    assert "Authorize with Google Account in the Google Authorization box above" in hint
    assert "Microsoft Account" not in hint  # Azure AD OAuth 2 is not enabled here
