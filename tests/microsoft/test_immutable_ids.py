"""Point 9 of issue 13: ShiftDesk always asks Graph for immutable ids (`Prefer: IdType="ImmutableId"`).

Without the preference Graph shows regular ids, which change when the user moves an event to another calendar
(concepts/outlook-immutable-id.md), and the emulator does the same: a moved event gets a new regular id. The
emulator records, per request (each $batch item too), whether the preference was sent; this test runs
ShiftDesk's real sync, verification and free/busy refresh against it and finds no item request without it.
"""

# ruff: noqa: F811 - fixtures imported from the sync engine's tests are used by name as arguments
from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from tests.calendarsync.conftest import azure, emulator, emulator_server, sync  # noqa: F401
from tests.calendarsync.test_delta_watch import check_now


@pytest.fixture
def provider() -> str:
    """The engine's `sync` fixture builds the world of this provider (tests/calendarsync/conftest.py)."""
    return "microsoft"


pytestmark = pytest.mark.django_db
ITEM_PATHS = ("/events", "/calendarview", "/$batch")


def item_requests(emulator) -> list[dict]:
    rows = emulator.control.get("/graph/requests", params={"limit": 10000}).json()["value"]
    return [
        r
        for r in rows
        if any(p in r["path"].lower() for p in ITEM_PATHS) and not r["path"].endswith("$batch")
    ]


def test_every_event_request_of_shiftdesk_asks_for_immutable_ids(sync, emulator):
    user = sync.add_user(1)
    for days in (1, 2, 3):
        sync.assign(sync.shift(days=days), user)
    sync.drain(user)
    events = sync.events(user)
    assert len(events) == 3
    check_now(sync, user, minutes=60 * 7)  # the first change-tracking round
    # The user drags one to another calendar: without immutable ids, its id would now be another string.
    upn = sync.upns[user.pk]
    other = emulator.control.post(f"/graph/mailboxes/{upn}/calendars", json={"name": "Personal"}).json()
    moved = emulator.control.patch(f"/graph/mailboxes/{upn}/events/{events[0]['id']}",
                                   json={"calendarId": other["id"]}).json()  # fmt: skip
    assert moved["regularId"] != moved["id"]
    check_now(sync, user)  # verification: delta on the sync calendar, then a look-up of the moved event
    call_command("refreshbusy", "--once", "--threads", "1", stdout=StringIO())  # free/busy reads calendarView

    requests = item_requests(emulator)
    paths = {r["path"] for r in requests}
    assert any("/calendarView" in p for p in paths) and any(r.get("batch") for r in requests)
    lacking = [f"{r['method']} {r['path']}" for r in requests if not r.get("immutable_ids")]
    assert lacking == []
    # ShiftDesk still knows the moved event by the id it stored (the immutable one).
    from shiftdesk.calendarsync.models import EventLink

    assert EventLink.objects.filter(remote_event_id=moved["id"]).exists()
