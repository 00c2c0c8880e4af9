"""Variants (m365emulator/variants.py): the control API, and each Graph switch answering as it says, next to
the documented default. Plus the documented paths a client uses to check an event's calendar:
GET /me/calendars/{id}/events/{event-id} and $filter on a calendar's events."""

from __future__ import annotations

import pytest

from m365emulator.variants import DEFAULTS, SWITCHES

from .graph_helpers import LINK_PROP, assert_graph_error, client, shift, token_for

MEGAN = "megan@contoso.onmicrosoft.com"
WINDOW = {"startDateTime": "2026-11-30T00:00:00Z", "endDateTime": "2026-12-07T00:00:00Z"}


@pytest.fixture
def megan(emulator, world):
    with client(emulator, token_for(emulator, MEGAN)) as http:
        yield http


def set_variant(emulator, **values):
    response = emulator.control.patch("/variants", json=values)
    assert response.status_code == 200, response.text
    return response.json()["values"]


def second_calendar(megan) -> str:
    return megan.post("/me/calendars", json={"name": "Shifts"}).json()["id"]


# ---- control API -----------------------------------------------------------------------------------
def test_variants_read_set_and_reset(emulator):
    body = emulator.control.get("/variants").json()
    assert body["values"] == DEFAULTS == body["defaults"]
    assert set(body["switches"]) == set(SWITCHES)
    assert all(body["switches"][name][DEFAULTS[name]] for name in SWITCHES)  # each value names its source
    assert set_variant(emulator, calendar_delta="refused")["calendar_delta"] == "refused"
    assert emulator.control.delete("/variants").json()["values"] == DEFAULTS
    set_variant(emulator, batch_throttling="outer_424")
    emulator.reset()  # a reset of the world restores the defaults too
    assert emulator.control.get("/variants").json()["values"] == DEFAULTS


@pytest.mark.parametrize(
    "body", [{"nope": "x"}, {"calendar_delta": "maybe"}, ["calendar_delta"], {"calendar_delta": None}]
)
def test_bad_variants_are_refused_and_change_nothing(emulator, body):
    response = emulator.control.patch("/variants", json={"expand_calendar_id": "different_encoding", **body}
                                      if isinstance(body, dict) else body)  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidVariant"
    assert emulator.control.get("/variants").json()["values"] == DEFAULTS


# ---- point 2: delta on another calendar -------------------------------------------------------------
def test_delta_on_another_calendar_accepted_by_default(megan):
    cal = second_calendar(megan)
    megan.post(f"/me/calendars/{cal}/events", json=shift())
    first = megan.get(f"/me/calendars/{cal}/calendarView/delta", params=WINDOW)
    assert first.status_code == 200 and len(first.json()["value"]) == 1


def test_delta_on_another_calendar_refused_variant(megan, emulator):
    cal = second_calendar(megan)
    set_variant(emulator, calendar_delta="refused")
    response = megan.get(f"/me/calendars/{cal}/calendarView/delta", params=WINDOW)
    error = assert_graph_error(response, 400, "BadRequest")
    assert error["message"] == "Resource not found for the segment 'delta'."
    assert megan.get("/me/calendarView/delta", params=WINDOW).status_code == 200  # the documented path


@pytest.mark.parametrize("mode", ["reported", "omitted"])
def test_delta_removed_for_events_updated_outside_the_window(megan, emulator, mode):
    set_variant(emulator, delta_removed_outside_window=mode)
    inside = megan.post("/me/events", json=shift()).json()
    outside = megan.post("/me/events", json=shift(day="2027-01-15")).json()
    link = megan.get("/me/calendarView/delta", params=WINDOW).json()["@odata.deltaLink"]
    megan.patch(f"/me/events/{outside['id']}", json={"subject": "Later shift"})
    later = megan.post("/me/events", json=shift(day="2027-02-01")).json()  # added outside
    megan.patch(f"/me/events/{inside['id']}", json={"subject": "Changed"})
    values = megan.get(link).json()["value"]
    removed = {v["id"] for v in values if "@removed" in v}
    changed = {v["id"] for v in values if "@removed" not in v}
    assert changed == {inside["id"]}
    assert removed == ({outside["id"], later["id"]} if mode == "reported" else set())
    for v in values:
        if "@removed" in v:
            assert v["@removed"] == {"reason": "deleted"}


def test_delta_removed_outside_window_does_not_report_series_in_view(megan):
    series = shift(
        recurrence={
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": "2026-12-01", "numberOfOccurrences": 3},
        }
    )
    master = megan.post("/me/events", json=series).json()
    link = megan.get("/me/calendarView/delta", params=WINDOW).json()["@odata.deltaLink"]
    megan.patch(f"/me/events/{master['id']}", json={"subject": "Renamed series"})
    values = megan.get(link).json()["value"]
    assert values and not any("@removed" in v for v in values)


# ---- point 3: $expand=calendar ids ------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["equal", "different_encoding"])
def test_expand_calendar_id(megan, emulator, mode):
    set_variant(emulator, expand_calendar_id=mode)
    cal = second_calendar(megan)
    event = megan.post(f"/me/calendars/{cal}/events", json=shift()).json()
    expanded = megan.get(f"/me/events/{event['id']}", params={"$expand": "calendar($select=id)"}).json()
    listed = megan.get("/me/events", params={"$expand": "calendar($select=id)", "$top": "50"}).json()
    ids = {c["id"] for c in megan.get("/me/calendars").json()["value"]}
    if mode == "equal":
        assert expanded["calendar"]["id"] == cal and cal in ids
    else:
        assert expanded["calendar"]["id"] != cal and expanded["calendar"]["id"] not in ids
        # ... yet it names the same folder
        assert megan.get(f"/me/calendars/{expanded['calendar']['id']}").json()["id"] == cal
    assert all(row["calendar"]["id"] == expanded["calendar"]["id"] for row in listed["value"] if row["id"] ==
               event["id"])  # fmt: skip


# ---- the documented ways to check an event's calendar -----------------------------------------------
def test_get_event_through_its_calendar(megan, emulator):
    set_variant(emulator, expand_calendar_id="different_encoding")  # the check must not need the expand
    cal = second_calendar(megan)
    default = megan.get("/me/calendar").json()["id"]
    event = megan.post(f"/me/calendars/{cal}/events", json=shift()).json()
    found = megan.get(f"/me/calendars/{cal}/events/{event['id']}", params={"$select": "id,changeKey"})
    assert found.status_code == 200 and found.json()["id"] == event["id"]
    assert_graph_error(megan.get(f"/me/calendars/{default}/events/{event['id']}"), 404, "ErrorItemNotFound")
    # The user drags it to the default calendar: the id stays (immutable ids), the calendar path follows.
    emulator.control.patch(f"/graph/mailboxes/{MEGAN}/events/{event['id']}", json={"calendarId": default})
    assert megan.get(f"/me/calendars/{default}/events/{event['id']}").status_code == 200
    assert_graph_error(megan.get(f"/me/calendars/{cal}/events/{event['id']}"), 404, "ErrorItemNotFound")


def test_filter_a_calendars_events_by_extended_property(megan):
    cal = second_calendar(megan)
    prop = [{"id": LINK_PROP, "value": "shift-42"}]
    mine = megan.post(f"/me/calendars/{cal}/events", json=shift(singleValueExtendedProperties=prop)).json()
    megan.post("/me/events", json=shift(singleValueExtendedProperties=prop))  # same key, other calendar
    megan.post(f"/me/calendars/{cal}/events", json=shift(singleValueExtendedProperties=[
        {"id": LINK_PROP, "value": "shift-43"}]))  # fmt: skip
    flt = f"singleValueExtendedProperties/Any(ep: ep/id eq '{LINK_PROP}' and ep/value eq 'shift-42')"
    found = megan.get(f"/me/calendars/{cal}/events", params={"$filter": flt, "$select": "id"}).json()["value"]
    assert [e["id"] for e in found] == [mine["id"]]


# ---- point 4: a throttled batch ---------------------------------------------------------------------
def _batch(n):
    return {
        "requests": [
            {"id": str(i), "method": "POST", "url": "/me/events", "headers": {"Content-Type": "application/json"},
             "body": shift(subject=f"S{i}")}
            for i in range(1, n + 1)
        ]
    }  # fmt: skip


def test_batch_throttled_per_item_by_default(megan, emulator):
    emulator.control.patch("/graph/throttling", json={"requests": 3})
    response = megan.post("/$batch", json=_batch(5))
    assert response.status_code == 200
    statuses = sorted(r["status"] for r in response.json()["responses"])
    assert statuses == [201, 201, 201, 429, 429]
    assert all("Retry-After" in r["headers"] for r in response.json()["responses"] if r["status"] == 429)


def test_batch_throttled_as_a_whole_variant(megan, emulator):
    set_variant(emulator, batch_throttling="whole_batch_429")
    emulator.control.patch("/graph/throttling", json={"requests": 3})
    response = megan.post("/$batch", json=_batch(5))
    assert_graph_error(response, 429, "ApplicationThrottled")
    assert int(response.headers["Retry-After"]) >= 1
    mailbox = emulator.control.get(f"/graph/mailboxes/{MEGAN}").json()
    assert mailbox["events"] == []  # nothing ran
    emulator.control.delete("/graph/throttling")
    ok = megan.post("/$batch", json=_batch(3))
    assert ok.status_code == 200 and [r["status"] for r in ok.json()["responses"]] == [201, 201, 201]


def test_batch_outer_424_variant(megan, emulator):
    set_variant(emulator, batch_throttling="outer_424")
    emulator.control.patch("/graph/throttling", json={"requests": 3})
    response = megan.post("/$batch", json=_batch(5))
    assert response.status_code == 424
    statuses = sorted(r["status"] for r in response.json()["responses"])
    assert statuses == [201, 201, 201, 429, 429]
    emulator.control.delete("/graph/throttling")
    assert megan.post("/$batch", json=_batch(2)).status_code == 200  # nothing throttled: a plain 200


# ---- point 8: personal accounts ---------------------------------------------------------------------
def test_a_personal_account_has_a_16_hex_id_and_no_mail(emulator, world):
    with client(emulator, token_for(emulator, "pat@outlook.com")) as pat:
        me = pat.get("/me").json()
        assert len(me["id"]) == 16 and int(me["id"], 16) >= 0
        assert me["mail"] is None and me["userPrincipalName"] == "pat@outlook.com"
        assert pat.get(f"/users/{me['id']}/calendars").status_code == 200
    with client(emulator, token_for(emulator, MEGAN)) as megan:  # work accounts keep the GUID and a mail
        me = megan.get("/me").json()
        assert len(me["id"]) == 36 and me["mail"] == MEGAN
