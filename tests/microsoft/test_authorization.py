"""Manage Account > Calendar Sync > OAuth 2 Authorization: every outcome of the callback, against the emulator."""

from __future__ import annotations

import re

from django.test import Client

from m365emulator.testing import redirect_params, sign_in
from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.microsoft.models import AzureADSettings
from tests.microsoft.conftest import MEGAN, PAT, authorize

BOX = "/account/calendar-sync/"


def page(client) -> str:
    return client.get(BOX).content.decode()


def test_not_set_up_shows_the_yellow_alert_and_no_button(bob_client):
    html = page(bob_client)
    assert "OAuth 2 Authorization" in html
    assert 'class="alert alert-warning"' in html
    assert "not currently set up or enabled" in html and "Password Authentication" in html
    assert "Authorize with Microsoft Account" not in html


def test_disabled_shows_the_yellow_alert_and_refuses_to_start(bob_client, azure):
    AzureADSettings.objects.update(enabled=False)
    assert "not currently set up or enabled" in page(bob_client)
    response = bob_client.get("/account/calendar-sync/microsoft/authorize/")
    assert response.status_code == 302 and response["Location"] == BOX


def test_it_connects_lists_calendars_and_saves_them(bob_client, emulator, azure):
    assert "Authorize with Microsoft Account" in page(bob_client)
    response, params = authorize(bob_client, emulator, *MEGAN)
    assert response.status_code == 302 and response["Location"] == BOX
    connection = CalendarConnection.objects.get(user__email="bob@example.org")
    assert connection.provider == "microsoft" and connection.status == "connected"
    assert connection.account_email == "megan@contoso.onmicrosoft.com"
    assert connection.account_name == "Megan Bowen"
    megan = emulator.state.directory.user_by_login(MEGAN[0])
    assert connection.account_id == megan.oid
    assert connection.provider_settings["segment"] == "common"
    html = page(bob_client)
    assert "is connected" in html and "megan@contoso.onmicrosoft.com" in html
    assert "Calendar to Sync shifts with" in html and "Calendar to Check Free/Busy Status" in html
    assert "Save Calendars" in html and "Remove Authorization" in html
    # The default calendar ("Calendar") is preselected in both dropdowns.
    selected = re.findall(r'<option value="([^"]+)" selected>Calendar</option>', html)
    assert len(selected) == 2 and selected[0] == selected[1]
    calendar_id = selected[0]
    response = bob_client.post(
        "/account/calendar-sync/microsoft/calendars/",
        {"sync_calendar": calendar_id, "freebusy_calendar": calendar_id},
    )
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.sync_calendar_id == calendar_id and connection.sync_calendar_name == "Calendar"
    assert connection.freebusy_calendar_id == calendar_id
    assert "Calendars saved" in page(bob_client)


def test_save_calendars_refuses_a_calendar_that_is_not_the_users(bob_client, connected_bob):
    response = bob_client.post(
        "/account/calendar-sync/microsoft/calendars/",
        {"sync_calendar": "AAMk-other", "freebusy_calendar": "x"},
    )
    assert response.status_code == 302
    connected_bob.refresh_from_db()
    assert connected_bob.sync_calendar_id == ""
    assert "Choose a calendar from each list" in page(bob_client)


def test_a_personal_microsoft_account_connects_through_common(bob_client, emulator, azure):
    response, _ = authorize(bob_client, emulator, *PAT)
    assert response.status_code == 302
    connection = CalendarConnection.objects.get(user__email="bob@example.org")
    assert connection.account_email == "pat@outlook.com"
    assert connection.provider_settings["tenant_id"] == "9188040d-6c67-4c5b-b112-36a304b66dad"


def test_cancel_on_the_consent_page_says_so(bob_client, emulator, azure):
    response, params = authorize(bob_client, emulator, *MEGAN, consent="cancel")
    assert params["error"] == "access_denied"
    assert not CalendarConnection.objects.exists()
    assert "You cancelled the authorization at Microsoft" in page(bob_client)


def test_admin_approval_required_tells_the_user_to_contact_their_admin(bob_client, emulator, azure):
    emulator.control.patch(
        "/tenants/contoso.onmicrosoft.com", json={"users_may_consent": False}
    ).raise_for_status()
    response, params = authorize(bob_client, emulator, *MEGAN, consent="return")
    assert params["error"] == "consent_required"
    assert not CalendarConnection.objects.exists()
    html = page(bob_client)
    assert "requires an administrator to approve ShiftDesk" in html
    assert "/admin/integrations/azure/admin-consent/" not in html  # Bob is no ShiftDesk admin: no link


def test_admin_approval_required_shows_the_admin_consent_link_to_admins(alice_client, emulator, azure):
    emulator.control.patch(
        "/tenants/contoso.onmicrosoft.com", json={"users_may_consent": False}
    ).raise_for_status()
    authorize(alice_client, emulator, *MEGAN, consent="return")
    html = page(alice_client)
    assert "requires an administrator to approve ShiftDesk" in html
    assert "/admin/integrations/azure/admin-consent/" in html


def test_admin_consent_then_lets_users_connect(alice, bob_client, emulator, azure, app_id):
    alice_client = Client()
    alice_client.force_login(alice)
    emulator.control.patch(
        "/tenants/contoso.onmicrosoft.com", json={"users_may_consent": False}
    ).raise_for_status()
    start = alice_client.get("/admin/integrations/azure/admin-consent/")
    with emulator.http() as browser:
        response = sign_in(browser, start["Location"], "adele@contoso.onmicrosoft.com", "Adele-pw1")
    params = redirect_params(response)
    assert params.get("admin_consent") == "True", params
    done = alice_client.get("/microsoft/oauth2/callback/", params, follow=True)
    assert "Admin consent granted" in done.content.decode()
    response, _ = authorize(bob_client, emulator, *MEGAN)
    assert CalendarConnection.objects.filter(user__email="bob@example.org").exists()


def test_a_callback_without_a_flow_in_the_session_is_refused(bob_client, azure):
    response = bob_client.get(
        "/microsoft/oauth2/callback/", {"code": "1.Astolen", "state": "abc"}, follow=True
    )
    assert response.status_code == 200
    assert "was not started from your ShiftDesk session" in response.content.decode()
    assert not CalendarConnection.objects.exists()


def test_a_callback_with_another_state_is_refused(bob_client, emulator, azure):
    start = bob_client.get("/account/calendar-sync/microsoft/authorize/")
    with emulator.http() as browser:
        params = redirect_params(sign_in(browser, start["Location"], *MEGAN))
    params["state"] = "someone-elses-state"
    response = bob_client.get("/microsoft/oauth2/callback/", params, follow=True)
    assert "was not started from your ShiftDesk session" in response.content.decode()
    assert not CalendarConnection.objects.exists()


def test_another_users_callback_is_not_accepted_in_my_session(bob_client, client, charlie, emulator, azure):
    start = bob_client.get("/account/calendar-sync/microsoft/authorize/")
    with emulator.http() as browser:
        params = redirect_params(sign_in(browser, start["Location"], *MEGAN))
    other = Client()
    other.force_login(charlie)
    response = other.get("/microsoft/oauth2/callback/", params, follow=True)
    assert "was not started from your ShiftDesk session" in response.content.decode()
    assert not CalendarConnection.objects.exists()


def test_a_code_used_twice_says_used_or_expired(bob_client, emulator, azure):
    start = bob_client.get("/account/calendar-sync/microsoft/authorize/")
    flow = dict(bob_client.session["microsoft_auth_flow"])
    with emulator.http() as browser:
        params = redirect_params(sign_in(browser, start["Location"], *MEGAN))
    assert bob_client.get("/microsoft/oauth2/callback/", params).status_code == 302
    # Replay: put the same flow back in the session (as a second tab would hold it) and send the same code.
    session = bob_client.session
    session["microsoft_auth_flow"] = flow
    session.save()
    response = bob_client.get("/microsoft/oauth2/callback/", params, follow=True)
    assert "already used or has expired" in response.content.decode()


def test_integration_disabled_meanwhile_connects_nothing(bob_client, emulator, azure):
    start = bob_client.get("/account/calendar-sync/microsoft/authorize/")
    with emulator.http() as browser:
        params = redirect_params(sign_in(browser, start["Location"], *MEGAN))
    AzureADSettings.objects.update(enabled=False)
    response = bob_client.get("/microsoft/oauth2/callback/", params, follow=True)
    assert "disabled by your ShiftDesk admin while you were signing in" in response.content.decode()
    assert not CalendarConnection.objects.exists()


def test_remove_authorization_deletes_the_tokens_and_keeps_events_by_default(bob_client, connected_bob):
    response = bob_client.post("/account/calendar-sync/microsoft/remove/")
    assert response.status_code == 302
    assert not CalendarConnection.objects.filter(pk=connected_bob.pk).exists()
    html = page(bob_client)
    assert "Authorization removed" in html and "events already in it stay" in html
    assert "Authorize with Microsoft Account" in html


def test_remove_authorization_can_also_delete_future_events(bob_client, connected_bob):
    response = bob_client.post("/account/calendar-sync/microsoft/remove/", {"delete_future_events": "on"})
    assert response.status_code == 302
    assert not CalendarConnection.objects.filter(pk=connected_bob.pk).exists()
    assert "future ShiftDesk events are being deleted" in page(bob_client)


def test_the_callback_never_shows_a_stack_trace_for_garbage(bob_client, azure):
    for params in ({}, {"error": "server_error"}, {"state": "x", "error": "access_denied"}, {"code": ""}):
        response = bob_client.get("/microsoft/oauth2/callback/", params, follow=True)
        assert response.status_code == 200
        assert "Traceback" not in response.content.decode()


def test_authorizing_over_a_password_connection_says_the_shifts_move(bob_client, bob, emulator, azure):
    """A switch (issue 7) moves the upcoming events; the success message says so, and from which account."""
    from shiftdesk.calendarsync.actions import do_connect_calendar

    do_connect_calendar(bob, provider="exchange", account_email="bob@old-exchange.example", account_name="bob",
                        account_id="https://old/EWS#bob@old-exchange.example", credentials="pw", provider_settings={})  # fmt: skip
    response, _ = authorize(bob_client, emulator, *MEGAN)
    page = bob_client.get(response["Location"]).content.decode()
    assert "is connected. Choose your calendars below and press Save Calendars." in page
    assert "Your upcoming shifts move here from bob@old-exchange.example" in page
    assert CalendarConnection.objects.get(user=bob).provider == "microsoft"
