"""EWS calendar items through exchangelib, unmodified: create / get / update / delete with ItemId and ChangeKey,
FindItem with a CalendarView, folders, the documented errors, and one state shared with Graph."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from exchangelib import CalendarItem, EWSDateTime, EWSTimeZone, ExtendedProperty
from exchangelib.errors import (
    ErrorAccessDenied,
    ErrorInvalidChangeKey,
    ErrorIrresolvableConflict,
    ErrorItemNotFound,
    ErrorNonExistentMailbox,
    ErrorServerBusy,
)

from m365emulator.ews.store import ews_settings
from m365emulator.tokens import issue_access_token
from tests.emulator.ews_client import account

MEGAN, MEGAN_PW = "megan@contoso.onmicrosoft.com", "Megan-pw1"
CHICAGO = EWSTimeZone("America/Chicago")


class ShiftLink(ExtendedProperty):
    property_set_id = "6b3b8f6e-55a4-4b4e-9e2b-5a0c7f3f0d11"
    property_name = "ShiftDeskLink"
    property_type = "String"


@pytest.fixture(autouse=True)
def link_property():
    CalendarItem.register("shift_link", ShiftLink)
    yield
    CalendarItem.deregister("shift_link")


@pytest.fixture
def acc(emulator, world):
    return account(emulator, MEGAN, MEGAN_PW)


def when(day, hour):
    return EWSDateTime(2026, 3, day, hour, tzinfo=CHICAGO)


def make(acc, folder=None, **fields):
    values = {"subject": "Reference Desk", "start": when(9, 9), "end": when(9, 13), "location": "Lobby"}
    values.update(fields)
    item = CalendarItem(account=acc, folder=folder or acc.calendar, **values)
    item.save(send_meeting_invitations="SendToNone")
    return item


def graph(emulator, world, method, path, **kwargs):
    app = world["apps"][0]
    megan = emulator.state.directory.user_by_login(MEGAN)
    token, _ = issue_access_token(
        emulator.state,
        client_id=app["client_id"],
        app_name="ShiftDesk",
        tenant_id=megan.tenant_id,
        scopes=["Calendars.ReadWrite", "User.Read"],
        user=megan,
    )
    with emulator.http(headers={"Authorization": f"Bearer {token}"}) as http:
        return http.request(method, f"{emulator.base_url}/v1.0{path}", **kwargs)


def test_it_creates_and_reads_back_a_calendar_item(acc):
    item = make(
        acc,
        body="Bring keys",
        shift_link="shiftdesk-1-2",
        reminder_minutes_before_start=30,
        reminder_is_set=True,
        categories=["Reference"],
        legacy_free_busy_status="Tentative",
    )
    assert item.id and item.changekey
    got = acc.calendar.get(id=item.id)
    assert got.subject == "Reference Desk"
    assert got.start == when(9, 9) and got.end == when(9, 13)
    assert got.location == "Lobby"
    assert "Bring keys" in got.body
    assert got.shift_link == "shiftdesk-1-2"
    assert got.reminder_minutes_before_start == 30 and got.reminder_is_set
    assert got.categories == ["Reference"]
    assert got.legacy_free_busy_status == "Tentative"
    assert got._start_timezone == CHICAGO
    assert got.changekey == item.changekey


def test_an_update_changes_the_change_key_and_a_stale_key_conflicts(acc):
    item = make(acc)
    first_key = item.changekey
    item.subject = "Circulation"
    item.save(update_fields=["subject"], send_meeting_invitations="SendToNone")
    assert item.changekey != first_key
    assert acc.calendar.get(id=item.id).subject == "Circulation"
    stale = CalendarItem(account=acc, folder=acc.calendar, id=item.id, changekey=first_key, subject="Stale")
    with pytest.raises(ErrorIrresolvableConflict):
        stale.save(
            update_fields=["subject"],
            conflict_resolution="NeverOverwrite",
            send_meeting_invitations="SendToNone",
        )
    stale.save(
        update_fields=["subject"],
        conflict_resolution="AlwaysOverwrite",
        send_meeting_invitations="SendToNone",
    )
    assert acc.calendar.get(id=item.id).subject == "Stale"


def test_a_malformed_change_key_is_error_invalid_change_key(acc):
    item = make(acc)
    bad = CalendarItem(account=acc, folder=acc.calendar, id=item.id, changekey="!!not base64!!", subject="x")
    with pytest.raises(ErrorInvalidChangeKey):
        bad.save(update_fields=["subject"], send_meeting_invitations="SendToNone")


def test_it_moves_start_and_time_zone_together(acc):
    item = make(acc)
    item.start, item.end = when(10, 8), when(10, 12)
    item.save(update_fields=["start", "end"], send_meeting_invitations="SendToNone")
    got = acc.calendar.get(id=item.id)
    assert (got.start, got.end) == (when(10, 8), when(10, 12))


def test_delete_then_get_and_delete_again_are_item_not_found(acc):
    item = make(acc)
    item_id = item.id
    item.delete(send_meeting_cancellations="SendToNone")
    with pytest.raises(ErrorItemNotFound):
        acc.calendar.get(id=item_id)
    ghost = CalendarItem(account=acc, folder=acc.calendar, id=item_id, changekey="AAAA")
    with pytest.raises(ErrorItemNotFound):
        ghost.delete(send_meeting_cancellations="SendToNone")


def test_calendar_view_returns_items_overlapping_the_range(acc):
    inside = make(acc, subject="inside")
    make(acc, subject="before", start=when(2, 9), end=when(2, 10))
    edge = make(acc, subject="edge", start=when(9, 6), end=when(9, 9))  # ends where the view starts
    found = list(acc.calendar.view(start=when(9, 9), end=when(9, 23)))
    assert [i.subject for i in found] == ["inside"]
    assert found[0].id == inside.id and edge.id
    everything = list(acc.calendar.view(start=when(1, 0), end=when(31, 0)))
    assert [i.subject for i in everything] == ["before", "edge", "inside"]


def test_find_item_filters_on_the_link_property(acc):
    make(acc, subject="one", shift_link="shiftdesk-1-1")
    make(acc, subject="two", shift_link="shiftdesk-1-2")
    found = list(acc.calendar.filter(shift_link="shiftdesk-1-2"))
    assert [i.subject for i in found] == ["two"]


def test_other_calendars_are_subfolders_of_calendar(emulator, acc):
    megan = emulator.state.directory.user_by_login(MEGAN)
    emulator.state.graph.ensure_mailbox(megan).create_calendar("Shifts")
    children = list(acc.calendar.children)
    assert [c.name for c in children] == ["Shifts"]
    item = make(acc, folder=children[0], subject="in shifts")
    assert [i.subject for i in children[0].all()] == ["in shifts"]
    assert list(acc.calendar.all()) == []
    assert item.id


@pytest.mark.parametrize(
    "address, error",
    [
        ("adele@contoso.onmicrosoft.com", ErrorAccessDenied),
        ("nobody@contoso.onmicrosoft.com", ErrorNonExistentMailbox),
    ],
)
def test_another_users_mailbox_is_access_denied_and_an_unknown_one_does_not_exist(
    emulator, world, address, error
):
    other = account(emulator, MEGAN, MEGAN_PW, email=address)
    with pytest.raises(error):
        _ = other.calendar


def test_server_busy_carries_the_back_off_hint(emulator, acc):
    _ = acc.calendar
    settings = ews_settings(emulator.state)
    settings.busy_requests, settings.busy_back_off_ms = 1, 1500
    try:
        with pytest.raises(ErrorServerBusy) as caught:
            list(acc.calendar.view(start=when(1, 0), end=when(31, 0)))
        assert caught.value.back_off == 1.5
        assert list(acc.calendar.view(start=when(1, 0), end=when(31, 0))) == []  # the next one works
    finally:
        settings.busy_requests = 0


def test_an_item_created_through_ews_is_a_graph_event(emulator, world, acc):
    item = make(acc, shift_link="shiftdesk-7-9")
    events = graph(emulator, world, "GET", "/me/events").json()["value"]
    (event,) = events
    assert event["subject"] == "Reference Desk"
    assert event["location"]["displayName"] == "Lobby"
    assert event["changeKey"] == item.changekey
    assert event["id"].replace("-", "+").replace("_", "/") == item.id
    start = datetime.fromisoformat(event["start"]["dateTime"][:19]).replace(tzinfo=UTC)
    assert start == when(9, 9).astimezone(EWSTimeZone("UTC"))


def test_a_graph_event_is_an_ews_item_and_graph_edits_show(emulator, world, acc):
    body = {
        "subject": "From Graph",
        "start": {"dateTime": "2026-03-09T15:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-03-09T16:00:00", "timeZone": "UTC"},
    }
    created = graph(emulator, world, "POST", "/me/events", json=body).json()
    (item,) = list(acc.calendar.view(start=when(9, 0), end=when(10, 0)))
    assert item.subject == "From Graph"
    graph(emulator, world, "PATCH", f"/me/events/{created['id']}", json={"subject": "Edited"})
    got = acc.calendar.get(id=item.id)
    assert got.subject == "Edited" and got.changekey != item.changekey
    got.delete(send_meeting_cancellations="SendToNone")
    assert graph(emulator, world, "GET", f"/me/events/{created['id']}").status_code == 404
