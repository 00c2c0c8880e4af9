"""Admin > Integrations > Password Authentication: the site-wide on/off switch and who may use it."""

from __future__ import annotations

from shiftdesk.exchange.models import ExchangeSettings
from tests.exchange.conftest import box_post

SWITCH = "/admin/integrations/exchange/"


def test_the_admin_sees_the_box_and_turns_password_sync_off_and_on(alice_client):
    page = alice_client.get("/admin/integrations/").content.decode()
    assert 'id="password-authentication-admin"' in page
    assert "Enable Calendar Sync with Password Authentication" in page
    assert alice_client.post(SWITCH, {"enabled": "0"}).status_code == 302
    assert ExchangeSettings.load().enabled is False
    assert alice_client.post(SWITCH, {"enabled": "1"}).status_code == 302
    assert ExchangeSettings.load().enabled is True


def test_a_regular_user_gets_403_and_anonymous_goes_to_login(client, bob_client):
    assert bob_client.post(SWITCH, {"enabled": "0"}).status_code == 403
    assert ExchangeSettings.load().enabled is True
    from django.test import Client

    response = Client().post(SWITCH, {"enabled": "0"})
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_with_password_sync_off_users_see_why_and_cannot_save(bob_client, bob, emulator):
    from shiftdesk.calendarsync.models import CalendarConnection
    from shiftdesk.exchange.actions import do_set_exchange_enabled

    do_set_exchange_enabled(False, by=None)
    page = bob_client.get("/account/calendar-sync/").content.decode()
    assert 'id="password-authentication-disabled"' in page
    assert 'id="exchange-form"' not in page
    bob_client.post("/account/calendar-sync/exchange/", box_post(emulator))
    assert not CalendarConnection.objects.filter(user=bob).exists()


def test_an_invalid_choice_changes_nothing(alice_client):
    alice_client.post(SWITCH, {"enabled": "maybe"})
    assert ExchangeSettings.load().enabled is True


def test_a_refused_allow_list_is_shown_again_with_what_the_admin_typed(alice_client):
    import html

    typed = "mail.example.org\n10.0.0.0/99"
    response = alice_client.post(SWITCH, {"enabled": "0", "allowed_hosts": typed})
    assert response.status_code == 400  # Admin > Integrations again, not a redirect that forgets the form
    page = html.unescape(response.content.decode())
    assert "10.0.0.0/99 is not an IP address or network." in page
    assert f">{typed}</textarea>" in page  # what was typed, to correct rather than retype
    assert '<option value="0" selected>Disabled</option>' in page
    assert ExchangeSettings.load().enabled is True and ExchangeSettings.load().allowed_hosts == ""


def test_an_invalid_choice_is_said_in_words(alice_client):
    response = alice_client.post(SWITCH, {"enabled": "maybe"})
    assert response.status_code == 400
    assert "Choose Enabled or Disabled." in response.content.decode()
