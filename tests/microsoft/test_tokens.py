"""acquire_access_token: silent refresh with rotation, and what happens when the grant dies (emulator)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine

from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.microsoft.auth import acquire_access_token
from shiftdesk.microsoft.errors import (
    AppCredentialsRejected,
    IdentityUnavailable,
    IntegrationDisabled,
    MicrosoftError,
    ReauthorizationRequired,
)
from shiftdesk.microsoft.models import AzureADSettings
from tests.microsoft.conftest import MEGAN, authorize


def refresh_tokens(connection: CalendarConnection) -> set[str]:
    return {rt["secret"] for rt in json.loads(connection.credentials)["RefreshToken"].values()}


def token_requests(emulator) -> int:
    return sum(1 for e in emulator.state.request_log if str(e.get("path", "")).endswith("/oauth2/v2.0/token"))


def later(hours: float = 2):
    """Past the access token's lifetime (60-90 minutes), so MSAL must use the refresh token."""
    return time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours), tick=True)


def test_error_types_say_whether_they_are_permanent():
    assert ReauthorizationRequired("x").permanent is True
    assert IdentityUnavailable("x").permanent is False
    assert IntegrationDisabled("x").permanent is True
    assert isinstance(AppCredentialsRejected("x"), MicrosoftError)


def test_a_fresh_access_token_comes_from_the_cache_without_a_request(emulator, connected_bob):
    before = token_requests(emulator)
    token = acquire_access_token(connected_bob)
    assert token.count(".") == 2
    assert token_requests(emulator) == before


def test_a_stale_access_token_is_refreshed_and_the_rotated_refresh_token_stored(emulator, connected_bob):
    first = acquire_access_token(connected_bob)
    old_rts = refresh_tokens(connected_bob)
    with later():
        token = acquire_access_token(CalendarConnection.objects.get(pk=connected_bob.pk))
    assert token != first
    stored = CalendarConnection.objects.get(pk=connected_bob.pk)
    assert refresh_tokens(stored) and refresh_tokens(stored) != old_rts
    assert stored.status == "connected"


def test_a_revoked_grant_marks_the_connection_emails_once_and_stops_calling(
    emulator, connected_bob, app_id, mailoutbox, django_capture_on_commit_callbacks, bob_client
):
    emulator.control.post("/revoke", json={"client_id": app_id, "user": MEGAN[0]}).raise_for_status()
    with later(), django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(ReauthorizationRequired) as raised:
            acquire_access_token(CalendarConnection.objects.get(pk=connected_bob.pk))
    assert raised.value.permanent
    connection = CalendarConnection.objects.get(pk=connected_bob.pk)
    assert connection.status == CalendarConnection.Status.NEEDS_REAUTHORIZATION
    assert "Authorize with Microsoft Account again" in connection.last_error
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["bob@example.org"]
    assert "reauthorize" in mailoutbox[0].subject
    before = token_requests(emulator)
    with later(), django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            with pytest.raises(ReauthorizationRequired):
                acquire_access_token(CalendarConnection.objects.get(pk=connected_bob.pk))
    assert token_requests(emulator) == before  # nothing retries in a loop
    assert len(mailoutbox) == 1  # one email
    bob_client.force_login(connection.user)
    dashboard = bob_client.get("/").content.decode()
    assert "needs your attention" in dashboard and "Authorize again" in dashboard
    assert "Authorize with Microsoft Account again" in dashboard  # the reason, in words


def test_a_password_change_names_the_reason(emulator, connected_bob, django_capture_on_commit_callbacks):
    megan = emulator.state.directory.user_by_login(MEGAN[0])
    emulator.control.post(f"/users/{megan.oid}/password", json={"password": "New-pw-2"}).raise_for_status()
    with later(), pytest.raises(ReauthorizationRequired) as raised:
        acquire_access_token(CalendarConnection.objects.get(pk=connected_bob.pk))
    assert "AADSTS50173" in str(raised.value) and "password changed" in str(raised.value)


def test_reauthorizing_the_same_account_restores_the_connection_and_keeps_calendars(
    bob_client, emulator, connected_bob, app_id
):
    CalendarConnection.objects.filter(pk=connected_bob.pk).update(
        sync_calendar_id="cal-1", sync_calendar_name="X"
    )
    emulator.control.post("/revoke", json={"client_id": app_id, "user": MEGAN[0]}).raise_for_status()
    with later(), pytest.raises(ReauthorizationRequired):
        acquire_access_token(CalendarConnection.objects.get(pk=connected_bob.pk))
    html = bob_client.get("/account/calendar-sync/").content.decode()
    assert "needs reauthorization" in html and "Authorize with Microsoft Account" in html
    authorize(bob_client, emulator, *MEGAN)
    connection = CalendarConnection.objects.get(pk=connected_bob.pk)
    assert connection.status == "connected" and connection.sync_calendar_id == "cal-1"
    assert acquire_access_token(connection)


def test_disabled_integration_pauses_without_marking_the_connection(emulator, connected_bob):
    AzureADSettings.objects.update(enabled=False)
    with pytest.raises(IntegrationDisabled):
        acquire_access_token(connected_bob)
    connected_bob.refresh_from_db()
    assert connected_bob.status == "connected"
    AzureADSettings.objects.update(enabled=True)  # enabling again resumes
    assert acquire_access_token(connected_bob)


def test_an_expired_app_secret_is_the_admins_problem_not_the_connections(
    emulator, world, connected_bob, app_id
):
    key_id = world["apps"][0]["secrets"][0]["key_id"]
    emulator.control.post(f"/apps/{app_id}/secrets/{key_id}/expire").raise_for_status()
    with later(), pytest.raises(AppCredentialsRejected) as raised:
        acquire_access_token(CalendarConnection.objects.get(pk=connected_bob.pk))
    assert raised.value.code == "AADSTS7000222"
    connected_bob.refresh_from_db()
    assert connected_bob.status == "connected"


def test_an_unreachable_identity_platform_is_transient(emulator, connected_bob, settings):
    settings.MICROSOFT_LOGIN_URL = "https://127.0.0.1:9"
    with later(), pytest.raises(IdentityUnavailable) as raised:
        acquire_access_token(CalendarConnection.objects.get(pk=connected_bob.pk))
    assert raised.value.permanent is False
    connected_bob.refresh_from_db()
    assert connected_bob.status == "connected"


def test_a_new_app_registration_requires_reauthorization(emulator, connected_bob):
    AzureADSettings.objects.update(application_id="0b9c7a3e-1111-4222-8333-944455566677")
    with pytest.raises(ReauthorizationRequired) as raised:
        acquire_access_token(connected_bob)
    assert "different Microsoft app registration" in str(raised.value)
