"""Manage Account > Calendar Sync > Password Authentication: Save tests the connection first and says what failed."""

from __future__ import annotations

import pytest
from django.db import connection as db

from m365emulator.ews.store import ews_settings
from shiftdesk.calendarsync.models import CalendarConnection
from tests.exchange.conftest import BOB_PW, BOB_UPN, box_post, mailbox

SAVE = "/account/calendar-sync/exchange/"


def test_save_tests_the_connection_and_stores_it_with_the_default_calendar(bob_client, bob, emulator):
    response = bob_client.post(SAVE, box_post(emulator))
    assert response.status_code == 302
    conn = CalendarConnection.objects.get(user=bob)
    assert conn.provider == "exchange"
    assert conn.account_email == BOB_UPN
    assert conn.provider_settings["server"] == emulator.base_url + "/EWS/Exchange.asmx"
    assert conn.provider_settings["auth_type"] == "NTLM"  # what the server offered first
    assert conn.provider_settings["version"] == "15.1.2507.6"
    assert conn.credentials == BOB_PW
    assert conn.sync_calendar_name == "Calendar" and conn.freebusy_calendar_name == "Calendar"
    default = mailbox(emulator).default_calendar
    assert conn.sync_calendar_id == default.id.replace("-", "+").replace("_", "/")


def test_the_password_is_encrypted_at_rest_and_never_rendered(bob_client, bob, emulator):
    bob_client.post(SAVE, box_post(emulator))
    with db.cursor() as cursor:
        cursor.execute("SELECT credentials FROM calendarsync_calendarconnection")
        (stored,) = cursor.fetchone()
    assert BOB_PW not in stored
    page = bob_client.get("/account/calendar-sync/").content.decode()
    assert BOB_PW not in page
    assert "Connected to the Exchange mailbox" in page
    assert 'id="exchange-calendars"' in page


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"password": "Not-Bobs-pw-9"}, "wrong credentials (401)"),
        ({"email": "nobody@contoso.onmicrosoft.com"}, "mailbox not found"),
        ({"email": "charlie@contoso.onmicrosoft.com"}, "access denied"),
        ({"server": "127.0.0.1:1"}, "host unreachable"),
        ({"server": "http://127.0.0.1:1"}, "must use https://"),
    ],
)
def test_a_failed_save_says_what_failed_and_stores_nothing(bob_client, bob, emulator, overrides, words):
    response = bob_client.post(SAVE, box_post(emulator, **overrides))
    assert response.status_code == 400
    page = response.content.decode()
    assert words in page
    assert "Nothing was saved." in page
    assert not CalendarConnection.objects.filter(user=bob).exists()
    if "password" in overrides:
        assert overrides["password"] not in page  # write-only: not even the wrong one is rendered back


def test_an_untrusted_certificate_is_a_tls_problem(bob_client, bob, emulator, settings):
    import certifi

    settings.EXCHANGE_CA_BUNDLE = (
        certifi.where()
    )  # public CAs only: the emulator's certificate is not among them
    response = bob_client.post(SAVE, box_post(emulator))
    assert response.status_code == 400
    assert "a TLS problem" in response.content.decode()


def test_ews_disabled_on_the_server_is_said_in_words(bob_client, bob, emulator):
    ews_settings(emulator.state).enabled = False
    response = bob_client.post(SAVE, box_post(emulator))
    assert "EWS) is disabled" in response.content.decode()
    assert not CalendarConnection.objects.filter(user=bob).exists()


def test_ews_disabled_for_the_mailbox_is_said_in_words(bob_client, bob, emulator):
    ews_settings(emulator.state).disabled_users.add(emulator.state.directory.user_by_login(BOB_UPN).oid)
    response = bob_client.post(SAVE, box_post(emulator))
    assert "EWS) is disabled for this mailbox" in response.content.decode()


def test_a_blank_field_is_a_form_error(bob_client, bob, emulator):
    response = bob_client.post(SAVE, box_post(emulator, server=""))
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_save_calendars_chooses_among_the_mailbox_calendar_folders(bob_client, bob, emulator, connect):
    shifts = mailbox(emulator).create_calendar("Shifts")
    conn = connect(bob_client)
    page = bob_client.get("/account/calendar-sync/").content.decode()
    assert ">Shifts</option>" in page and ">Calendar</option>" in page
    shifts_id = shifts.id.replace("-", "+").replace("_", "/")
    response = bob_client.post(
        "/account/calendar-sync/exchange/calendars/",
        {"sync_calendar": shifts_id, "freebusy_calendar": conn.sync_calendar_id},
    )
    assert response.status_code == 302
    conn.refresh_from_db()
    assert (conn.sync_calendar_id, conn.sync_calendar_name) == (shifts_id, "Shifts")
    assert conn.freebusy_calendar_name == "Calendar"


def test_remove_disconnects_and_forgets_the_password(bob_client, bob, emulator, connect):
    connect(bob_client)
    response = bob_client.post("/account/calendar-sync/exchange/remove/")
    assert response.status_code == 302
    assert not CalendarConnection.objects.filter(user=bob).exists()


def test_saving_a_password_replaces_an_oauth_connection(bob_client, bob, emulator):
    from shiftdesk.calendarsync.actions import do_connect_calendar

    do_connect_calendar(bob, provider="microsoft", account_email=BOB_UPN, account_name="Bob", account_id="oid-1",
                        credentials="{}", provider_settings={})  # fmt: skip
    page = bob_client.get("/account/calendar-sync/").content.decode()
    assert "Saving a password here replaces that connection" in page
    page = bob_client.post(SAVE, box_post(emulator), follow=True).content.decode()
    assert list(CalendarConnection.objects.filter(user=bob).values_list("provider", flat=True)) == [
        "exchange"
    ]
    # the same mailbox: the success message says the events stay and are taken over
    assert "Your upcoming shifts already in that mailbox stay where they are" in page


def test_saving_a_password_for_another_mailbox_says_the_shifts_move(bob_client, bob, emulator):
    from shiftdesk.calendarsync.actions import do_connect_calendar

    do_connect_calendar(bob, provider="microsoft", account_email="bob@other.example", account_name="Bob",
                        account_id="oid-1", credentials="{}", provider_settings={})  # fmt: skip
    page = bob_client.post(SAVE, box_post(emulator), follow=True).content.decode()
    assert "Your upcoming shifts move here from bob@other.example" in page
    again = bob_client.post(SAVE, box_post(emulator), follow=True).content.decode()
    assert "move here" not in again and "stay where they are" not in again  # re-saving switches nothing


def test_resaving_the_same_mailbox_keeps_the_chosen_calendar(bob_client, bob, emulator, connect):
    shifts = mailbox(emulator).create_calendar("Shifts")
    conn = connect(bob_client)
    shifts_id = shifts.id.replace("-", "+").replace("_", "/")
    bob_client.post("/account/calendar-sync/exchange/calendars/",
                    {"sync_calendar": shifts_id, "freebusy_calendar": shifts_id})  # fmt: skip
    again = connect(bob_client)
    assert again.pk == conn.pk and again.sync_calendar_name == "Shifts"


def test_only_the_owner_reaches_their_connection(bob_client, bob, charlie, emulator, connect):
    from django.test import Client

    connect(bob_client)
    client = Client()
    client.force_login(charlie)
    # charlie's Remove and Save Calendars act on charlie's (absent) connection only.
    client.post("/account/calendar-sync/exchange/remove/")
    client.post(
        "/account/calendar-sync/exchange/calendars/", {"sync_calendar": "x", "freebusy_calendar": "x"}
    )
    assert CalendarConnection.objects.filter(user=bob).exists()
    assert BOB_UPN not in client.get("/account/calendar-sync/").content.decode()


@pytest.mark.parametrize("path", [SAVE, SAVE + "calendars/", SAVE + "remove/"])
def test_anonymous_users_are_sent_to_login(client, path):
    response = client.post(path, {})
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("path", [SAVE, SAVE + "calendars/", SAVE + "remove/"])
def test_the_box_actions_need_post(bob_client, path):
    assert bob_client.get(path).status_code == 405


def test_operators_can_pin_the_servers_users_may_name(bob_client, bob, emulator, settings):
    settings.EXCHANGE_ALLOWED_HOSTS = ["mail.example.org"]
    response = bob_client.post(SAVE, box_post(emulator))
    assert response.status_code == 400
    assert "does not connect to 127.0.0.1" in response.content.decode()
    assert emulator.state.request_log.maxlen and not [
        e for e in emulator.state.request_log if e["path"] == "/EWS/Exchange.asmx"
    ]  # refused before any request left ShiftDesk


@pytest.mark.parametrize(
    "typed, endpoint",
    [
        ("mail.example.org", "https://mail.example.org/EWS/Exchange.asmx"),
        ("https://mail.example.org/", "https://mail.example.org/EWS/Exchange.asmx"),
        ("mail.example.org:8443", "https://mail.example.org:8443/EWS/Exchange.asmx"),
        (" https://mail.example.org/ews/exchange.asmx ", "https://mail.example.org/ews/exchange.asmx"),
    ],
)
def test_the_server_address_becomes_the_ews_url(typed, endpoint):
    from shiftdesk.exchange.client import service_endpoint

    assert service_endpoint(typed) == endpoint


@pytest.mark.parametrize(
    "provider, words",
    [("microsoft", "You are connected with Outlook (OAuth 2 Authorization) as <b>bob@mail.example</b>."),
     ("google", "You are connected with Google Calendar (Google Authorization) as <b>bob@mail.example</b>.")],
)  # fmt: skip
def test_the_box_names_the_connection_a_password_would_replace(bob_client, bob, provider, words):
    CalendarConnection.objects.create(user=bob, provider=provider, account_email="bob@mail.example")
    page = bob_client.get("/account/calendar-sync/").content.decode()
    box = page[page.index('id="exchange-replaces-oauth"') :]
    assert box[box.index(">") + 1 :].startswith(words + " Saving a password here replaces that connection.")
