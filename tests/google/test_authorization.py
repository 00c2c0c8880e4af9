"""Manage Account > Calendar Sync > Google Authorization: Authorize with Google Account through the emulator's
sign-in and consent pages over HTTP, the connected account, the calendar choice, Remove Authorization (revoked
at Google), reauthorization, and every refusal in words."""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs, urlsplit

from django.db import connection as db

from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.google import oauth
from shiftdesk.google.errors import ReauthorizationRequired
from shiftdesk.google.models import GoogleOAuthSettings
from tests.google.conftest import ALICE_G, BOB_G, CLIENT_ID, SECRET, authorize

BOX = "/account/calendar-sync/"
AUTHORIZE = "/account/calendar-sync/google/authorize/"


def page(client) -> str:
    return client.get(BOX).content.decode()


def refresh_answer(gemu, refresh_token: str):
    with gemu.http() as http:
        return http.post(
            gemu.gbase + "/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": CLIENT_ID,
                  "client_secret": SECRET},
        )  # fmt: skip


def test_not_set_up_shows_the_yellow_alert_and_no_button(bob_client, gemu):
    html = page(bob_client)
    assert "Google Authorization" in html and 'id="google-not-enabled"' in html
    assert "alert alert-warning" in html and "not currently set up or enabled" in html
    assert "Authorize with Google Account" not in html


def test_disabled_shows_the_yellow_alert_and_refuses_to_start(bob_client, google_settings):
    GoogleOAuthSettings.objects.update(enabled=False)
    assert 'id="google-not-enabled"' in page(bob_client)
    response = bob_client.get(AUTHORIZE)
    assert response.status_code == 302 and response["Location"] == BOX


def test_the_authorization_url_asks_offline_access_pkce_and_only_the_needed_scopes(
    bob_client, google_settings
):
    assert "Authorize with Google Account" in page(bob_client)
    location = bob_client.get(AUTHORIZE)["Location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert location.startswith(oauth.auth_uri() + "?")
    assert query["access_type"] == "offline" and query["prompt"] == "consent"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["redirect_uri"] == "http://127.0.0.1:8000/google/oauth2/callback/"
    assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
    assert sorted(query["scope"].split()) == sorted(oauth.SCOPES)
    assert len(query["state"]) >= 32


def test_it_connects_shows_the_account_and_saves_calendars(bob_client, gemu, google_settings, caplog):
    caplog.set_level(logging.DEBUG)
    response, params = authorize(bob_client, gemu, *BOB_G)
    assert response.status_code == 302 and response["Location"] == BOX
    connection = CalendarConnection.objects.get(user__email="bob@example.org")
    assert (connection.provider, connection.status) == ("google", "connected")
    assert connection.account_email == "bob@example.org" and connection.account_id
    assert connection.provider_settings == {"client_id": CLIENT_ID}
    tokens = oauth._tokens(connection)
    assert tokens["refresh_token"] and tokens["access_token"]
    with db.cursor() as cursor:  # encrypted at rest
        cursor.execute(
            "SELECT credentials FROM calendarsync_calendarconnection WHERE id = %s", [connection.pk]
        )
        (raw,) = cursor.fetchone()
    assert tokens["refresh_token"] not in raw and tokens["access_token"] not in raw
    html = page(bob_client)
    assert "Your Google account bob@example.org is connected" in html
    assert 'id="google-connected-account"' in html and "bob@example.org" in html
    assert "Calendar to Sync shifts with" in html and "Calendar to Check Free/Busy Status" in html
    assert "Remove Authorization" in html and "Also delete my future ShiftDesk events" in html
    selected = re.findall(
        r'<option value="([^"]+)" selected>', html.split('id="google-calendars"')[1].split("</form>")[0]
    )
    assert selected == ["bob@example.org", "bob@example.org"]  # the primary calendar preselected
    response = bob_client.post(
        "/account/calendar-sync/google/calendars/",
        {"sync_calendar": "rota@group.calendar.google.com", "freebusy_calendar": "bob@example.org"},
    )
    assert response.status_code == 302
    connection.refresh_from_db()
    assert (connection.sync_calendar_id, connection.sync_calendar_name) == (
        "rota@group.calendar.google.com",
        "Rota",
    )
    assert connection.freebusy_calendar_id == "bob@example.org"
    # Tokens are never logged (MSAL/requests/oauthlib/google-auth included).
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert (
        tokens["refresh_token"] not in logged
        and tokens["access_token"] not in logged
        and SECRET not in logged
    )


def test_only_calendars_the_user_can_write_to_are_offered_for_sync(client, alice, gemu, google_settings):
    gemu.gcontrol.post(
        "/calendars",
        json={"owner": "bob@example.org", "summary": "Holidays", "id": "holidays@group.calendar.google.com"},
    ).raise_for_status()
    gemu.gcontrol.put(
        "/calendars/holidays@group.calendar.google.com/acl",
        json={"email": "alice@example.org", "role": "reader"},
    ).raise_for_status()
    client.force_login(alice)
    authorize(client, gemu, *ALICE_G)
    html = page(client)
    sync_part, freebusy_part = html.split('name="sync_calendar"')[1].split('name="freebusy_calendar"')
    assert "Rota" in sync_part and "Holidays" not in sync_part  # writer yes, reader no
    assert "Holidays" in freebusy_part.split("</select>")[0] and "Rota" in freebusy_part
    refused = client.post(
        "/account/calendar-sync/google/calendars/",
        {"sync_calendar": "holidays@group.calendar.google.com", "freebusy_calendar": "alice@example.org"},
    )
    assert refused.status_code == 302
    assert not CalendarConnection.objects.get(user=alice).sync_calendar_id


def test_a_forged_callback_does_not_discard_the_pending_flow(bob_client, gemu, google_settings):
    start = bob_client.get(AUTHORIZE)
    forged = bob_client.get("/google/oauth2/callback/", {"state": "forged", "code": "x"})
    assert forged.status_code == 302
    assert "not started from this browser session" in page(bob_client)
    from googleemulator.testing import sign_in

    with gemu.http() as browser:
        answer = sign_in(browser, start["Location"], *BOB_G)
    params = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
    bob_client.get("/google/oauth2/callback/", params)
    assert CalendarConnection.objects.filter(user__email="bob@example.org", provider="google").exists()


def test_a_forged_callback_with_a_non_ascii_state_is_refused_in_words(bob_client, gemu, google_settings):
    # secrets.compare_digest refuses non-ASCII str; the state is compared as bytes, so this is no server error.
    bob_client.get(AUTHORIZE)
    forged = bob_client.get("/google/oauth2/callback/", {"state": "état-forgé", "code": "x"})
    assert forged.status_code == 302
    assert "not started from this browser session" in page(bob_client)


def test_a_replayed_answer_is_refused(bob_client, gemu, google_settings):
    _, params = authorize(bob_client, gemu, *BOB_G)
    CalendarConnection.objects.all().delete()
    again = bob_client.get("/google/oauth2/callback/", params)
    assert again.status_code == 302 and not CalendarConnection.objects.exists()
    assert "not started from this browser session" in page(bob_client)


def test_cancel_on_googles_page_connects_nothing(bob_client, gemu, google_settings):
    response, params = authorize(bob_client, gemu, *BOB_G, consent="cancel")
    assert params["error"] == "access_denied"
    assert "You cancelled on Google" in page(bob_client)
    assert not CalendarConnection.objects.exists()


def test_an_unticked_box_connects_nothing_and_says_to_tick_every_box(bob_client, gemu, google_settings):
    granted = ["https://www.googleapis.com/auth/calendar.events"]
    authorize(bob_client, gemu, *BOB_G, grant=granted)
    assert "tick every box" in page(bob_client)
    assert not CalendarConnection.objects.exists()


def test_remove_authorization_revokes_the_grant_at_google(bob_client, gemu, connected_bob):
    refresh_token = oauth._tokens(connected_bob)["refresh_token"]
    assert refresh_answer(gemu, refresh_token).status_code == 200
    response = bob_client.post("/account/calendar-sync/google/remove/", {})
    assert response.status_code == 302
    assert not CalendarConnection.objects.exists()
    assert "access revoked at Google" in page(bob_client)
    answer = refresh_answer(gemu, refresh_token)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_remove_with_delete_future_events_and_nothing_to_delete_revokes_at_once(
    bob_client, gemu, connected_bob
):
    # With events to delete the grant outlives the worker's deletes: tests/google/test_remove_and_revoke.py.
    refresh_token = oauth._tokens(connected_bob)["refresh_token"]
    response = bob_client.post("/account/calendar-sync/google/remove/", {"delete_future_events": "on"})
    assert response.status_code == 302 and not CalendarConnection.objects.exists()
    assert "no future ShiftDesk events in it to delete" in page(bob_client)
    assert refresh_answer(gemu, refresh_token).status_code == 400


def test_a_revoked_grant_needs_reauthorization_and_the_box_says_so(bob_client, gemu, connected_bob):
    gemu.gcontrol.post(
        "/revoke", json={"client_id": CLIENT_ID, "email": "bob@example.org"}
    ).raise_for_status()
    try:
        oauth.access_token(connected_bob, force_refresh=True)
    except ReauthorizationRequired as exc:
        assert "Testing" in exc.message and "7 days" in exc.message
    else:
        raise AssertionError("a revoked grant must need reauthorization")
    connected_bob.refresh_from_db()
    assert connected_bob.status == CalendarConnection.Status.NEEDS_REAUTHORIZATION
    html = page(bob_client)
    assert 'id="google-needs-reauthorization"' in html and "Authorize with Google Account" in html
    authorize(bob_client, gemu, *BOB_G)
    connected_bob.refresh_from_db()
    assert connected_bob.status == CalendarConnection.Status.CONNECTED


def test_access_tokens_are_refreshed_and_stored_encrypted(connected_bob, gemu):
    before = oauth._tokens(connected_bob)
    token = oauth.access_token(connected_bob, force_refresh=True)
    assert token != before["access_token"]
    stored = CalendarConnection.objects.get(pk=connected_bob.pk)
    assert oauth._tokens(stored)["access_token"] == token
    assert oauth._tokens(stored)["refresh_token"] == before["refresh_token"]  # Google does not rotate it
    assert oauth.access_token(stored) == token  # still fresh: no second refresh


def test_a_disabled_integration_pauses_token_use(connected_bob):
    from shiftdesk.google.errors import IntegrationDisabled

    GoogleOAuthSettings.objects.update(enabled=False)
    try:
        oauth.access_token(connected_bob)
    except IntegrationDisabled:
        pass
    else:
        raise AssertionError("disabled must refuse")
    connected_bob.refresh_from_db()
    assert connected_bob.status == CalendarConnection.Status.CONNECTED  # paused, not marked


def test_switching_from_another_connection_replaces_it(bob_client, bob, gemu, google_settings):
    from shiftdesk.calendarsync.actions import do_connect_calendar

    do_connect_calendar(bob, provider="exchange", account_email="bob@contoso.com", account_name="Bob",
                        account_id="bob@contoso.com", credentials="pw")  # fmt: skip
    authorize(bob_client, gemu, *BOB_G)
    (connection,) = CalendarConnection.objects.filter(user=bob)
    assert connection.provider == "google" and connection.account_email == "bob@example.org"


def test_a_dead_grant_emails_the_user_once(
    connected_bob, gemu, mailoutbox, django_capture_on_commit_callbacks
):
    gemu.gcontrol.post(
        "/revoke", json={"client_id": CLIENT_ID, "email": "bob@example.org"}
    ).raise_for_status()
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            try:
                oauth.access_token(CalendarConnection.objects.get(pk=connected_bob.pk), force_refresh=True)
            except ReauthorizationRequired:
                pass
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["bob@example.org"] and "Authorize with Google Account" in mailoutbox[0].body
    assert oauth._tokens(connected_bob)["refresh_token"] not in mailoutbox[0].body
