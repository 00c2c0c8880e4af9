"""Switching between Exchange (Password Authentication) and Google moves the upcoming shifts, both ways: one
emulator process plays Exchange (its EWS side) and Google. Bob saves Password Authentication for his Exchange
mailbox (or authorizes his Google account and saves his calendars), his shift reaches that calendar; then he
connects the other one through its own box, the worker runs, and the shift has left the old calendar and is in
the new one exactly once, at its time. Run with each mailbox address: another one, and the same one (an
organisation moving between Exchange and Google Workspace keeps its addresses)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from m365emulator.ews.store import ews_settings
from shiftdesk.calendarsync.models import CalendarConnection, EventLink, RetiringConnection
from shiftdesk.calendarsync.worker import Worker
from shiftdesk.scheduling.models import Shift
from tests.google.conftest import BOB_G
from tests.google.conftest import authorize as google_authorize
from tests.google.test_provider_sync import CALENDAR, live_events
from tests.google.test_switch_outlook_to_google import assign_a_shift

EXCHANGE_PW = "Bob-ews-pw1"


@pytest.fixture(params=["another address", "the same address"])
def exchange_upn(request) -> str:
    return "bob@contoso.onmicrosoft.com" if request.param == "another address" else BOB_G[0]


@pytest.fixture
def clouds(gemu, google_settings, exchange_upn, settings):
    """The emulator's Google world (tests/google/conftest.py) and, beside it, an Exchange server with Bob's
    mailbox; ShiftDesk trusts the emulator's CA for EWS."""
    gemu.reset()  # the Microsoft side only: the Google world seeded by google_settings stays
    switches = ews_settings(gemu.state)
    switches.enabled, switches.busy_requests = True, 0
    domain = exchange_upn.split("@")[1]
    gemu.seed({"tenants": [{"domain": domain, "display_name": "Bob's Exchange",
                            "users": [{"upn": exchange_upn, "display_name": "Bob Staff",
                                       "password": EXCHANGE_PW}]}]})  # fmt: skip
    settings.EXCHANGE_CA_BUNDLE = gemu.ca_file
    settings.SYNC_BACKOFF_BASE_SECONDS = 0
    return gemu


def connect_exchange(bob_client, clouds, exchange_upn) -> None:
    """The Password Authentication box's Save (it tests the connection, stores it, chooses the default
    calendar)."""
    server = clouds.base_url.removeprefix("https://")
    response = bob_client.post("/account/calendar-sync/exchange/", {"server": server, "username": exchange_upn,
                               "password": EXCHANGE_PW, "email": exchange_upn})  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    assert CalendarConnection.objects.get().provider == "exchange"


def connect_google(bob_client, clouds, exchange_upn) -> None:
    """Authorize with Google Account (Google's pages walked over HTTP), then Save Calendars."""
    response, _ = google_authorize(bob_client, clouds, *BOB_G)
    assert response.status_code == 302
    assert CalendarConnection.objects.get().provider == "google"
    saved = bob_client.post("/account/calendar-sync/google/calendars/",
                            {"sync_calendar": CALENDAR, "freebusy_calendar": CALENDAR})  # fmt: skip
    assert saved.status_code == 302
    assert CalendarConnection.objects.get().sync_calendar_id == CALENDAR


def exchange_starts(clouds, exchange_upn) -> list[datetime]:
    response = clouds.control.get(f"/graph/mailboxes/{exchange_upn}")
    response.raise_for_status()
    return [_instant(e["start"]) for e in response.json()["events"]]


def google_starts(clouds, exchange_upn) -> list[datetime]:
    return [_instant(e["start"]) for e in live_events(clouds)]


def _instant(start: str | dict) -> datetime:
    """The emulator's Exchange side stores an ISO instant; Google's event has dateTime (and timeZone)."""
    if isinstance(start, str):
        return datetime.fromisoformat(start)
    moment = datetime.fromisoformat(start["dateTime"])
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(start.get("timeZone") or "UTC"))


CLOUDS = {"exchange": (connect_exchange, exchange_starts), "google": (connect_google, google_starts)}


def run_worker() -> None:
    Worker(concurrency=1, worker_id="switch-test").run(once=True)


@pytest.mark.parametrize("old, new", [("exchange", "google"), ("google", "exchange")])
def test_switching_between_exchange_and_google_moves_the_upcoming_shift(
    clouds, exchange_upn, bob_client, bob, alice, old, new
):
    (connect_old, old_starts), (connect_new, new_starts) = CLOUDS[old], CLOUDS[new]
    connect_old(bob_client, clouds, exchange_upn)
    assign_a_shift(bob, alice)
    run_worker()
    shift = Shift.objects.get()
    assert old_starts(clouds, exchange_upn) == [shift.start] and new_starts(clouds, exchange_upn) == []

    connect_new(bob_client, clouds, exchange_upn)
    # The connecting box says the shifts move (they are not "already in that mailbox").
    assert "Your upcoming shifts move here from" in bob_client.get("/account/calendar-sync/").content.decode()
    run_worker()
    assert old_starts(clouds, exchange_upn) == []  # deleted there with the old connection's credentials
    assert new_starts(clouds, exchange_upn) == [shift.start]  # exactly once, at its time
    link = EventLink.objects.get()
    assert link.connection.provider == new and link.remote_event_id and not link.dirty
    assert not RetiringConnection.objects.exists()  # the old credentials are no longer stored
