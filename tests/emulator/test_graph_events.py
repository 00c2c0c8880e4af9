"""Graph events: create/read/update/delete, documented fields, time zones, transactionId, etags and If-Match,
extended properties, OData options and paging, and bad input answered with Graph's errors."""

from __future__ import annotations

import pytest

from .graph_helpers import LINK_PROP, assert_graph_error, client, shift, token_for

MEGAN = "megan@contoso.onmicrosoft.com"
DOCUMENTED_KEYS = {
    "@odata.context", "@odata.etag", "id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories",
    "originalStartTimeZone", "originalEndTimeZone", "iCalUId", "reminderMinutesBeforeStart", "isReminderOn",
    "hasAttachments", "subject", "bodyPreview", "importance", "sensitivity", "isAllDay", "isCancelled",
    "isOrganizer", "responseRequested", "seriesMasterId", "showAs", "type", "webLink", "onlineMeetingUrl",
    "responseStatus", "body", "start", "end", "location", "locations", "recurrence", "attendees", "organizer",
}  # fmt: skip


@pytest.fixture
def megan(emulator, world):
    with client(emulator, token_for(emulator, MEGAN)) as http:
        yield http


def test_create_returns_the_documented_event(megan):
    response = megan.post("/me/events", json=shift())
    assert response.status_code == 201
    event = response.json()
    assert DOCUMENTED_KEYS <= set(event)
    assert event["@odata.etag"] == f'W/"{event["changeKey"]}"'
    assert event["type"] == "singleInstance"
    assert event["start"] == {"dateTime": "2026-12-01T06:00:00.0000000", "timeZone": "UTC"}
    assert event["originalStartTimeZone"] == "Romance Standard Time"
    assert event["body"]["contentType"] == "html" and "Ward 3" in event["body"]["content"]
    assert event["bodyPreview"] == "Ward 3"
    assert event["location"]["displayName"] == "Ward 3"
    assert event["organizer"]["emailAddress"]["address"] == MEGAN
    assert "transactionId" not in event
    assert event["createdDateTime"].endswith("Z") and len(event["createdDateTime"].split(".")[1]) == 8


def test_windows_and_iana_zones_and_prefer_timezone(megan):
    created = megan.post(
        "/me/events", json=shift(zone="Pacific Standard Time", start="09:00", end="10:00")
    ).json()
    assert created["start"]["dateTime"] == "2026-12-01T17:00:00.0000000"
    read = megan.get(f"/me/events/{created['id']}", headers={"Prefer": 'outlook.timezone="Europe/Paris"'})
    assert read.json()["start"] == {"dateTime": "2026-12-01T18:00:00.0000000", "timeZone": "Europe/Paris"}
    assert read.headers["Preference-Applied"] == 'outlook.timezone="Europe/Paris"'
    windows = megan.get(
        f"/me/events/{created['id']}", headers={"Prefer": 'outlook.timezone="Pacific Standard Time"'}
    )
    assert windows.json()["start"]["dateTime"] == "2026-12-01T09:00:00.0000000"


def test_unknown_time_zone_is_rejected(megan):
    assert_graph_error(
        megan.post("/me/events", json=shift(zone="Mars/Olympus")), 400, "TimeZoneNotSupportedException"
    )


def test_transaction_id_makes_create_idempotent(megan, emulator):
    first = megan.post("/me/events", json=shift(transactionId="txn-1")).json()
    again = megan.post("/me/events", json=shift(subject="retry", transactionId="txn-1")).json()
    assert again["id"] == first["id"] and again["subject"] == "Early shift"
    assert first["transactionId"] == "txn-1"
    assert len(emulator.control.get(f"/graph/mailboxes/{MEGAN}").json()["events"]) == 1
    assert_graph_error(
        megan.patch(f"/me/events/{first['id']}", json={"transactionId": "other"}),
        400,
        "ErrorInvalidPropertySet",
    )


def test_update_changes_change_key_and_honours_if_match(megan):
    event = megan.post("/me/events", json=shift()).json()
    updated = megan.patch(
        f"/me/events/{event['id']}", json={"subject": "Moved"}, headers={"If-Match": event["@odata.etag"]}
    )
    assert updated.status_code == 200
    assert updated.json()["changeKey"] != event["changeKey"]
    assert updated.json()["lastModifiedDateTime"] >= event["lastModifiedDateTime"]
    stale = megan.patch(
        f"/me/events/{event['id']}", json={"subject": "Again"}, headers={"If-Match": event["@odata.etag"]}
    )
    assert_graph_error(stale, 412, "ErrorIrresolvableConflict")
    assert_graph_error(
        megan.delete(f"/me/events/{event['id']}", headers={"If-Match": event["@odata.etag"]}),
        412,
        "ErrorIrresolvableConflict",
    )
    assert (
        megan.delete(
            f"/me/events/{event['id']}", headers={"If-Match": updated.json()["@odata.etag"]}
        ).status_code
        == 204
    )


def test_events_in_a_chosen_calendar(megan):
    cal = megan.post("/me/calendars", json={"name": "ShiftDesk"}).json()
    event = megan.post(f"/me/calendars/{cal['id']}/events", json=shift()).json()
    assert [e["id"] for e in megan.get(f"/me/calendars/{cal['id']}/events").json()["value"]] == [event["id"]]
    assert megan.get("/me/events").json()["value"] == []  # /me/events is the default calendar
    assert megan.get(f"/me/events/{event['id']}").status_code == 200  # ids are mailbox-wide
    assert megan.get(f"/me/calendars/{cal['id']}/events/{event['id']}").status_code == 200
    default = megan.get("/me/calendar").json()["id"]
    assert_graph_error(megan.get(f"/me/calendars/{default}/events/{event['id']}"), 404, "ErrorItemNotFound")
    assert (
        megan.patch(f"/me/calendars/{cal['id']}/events/{event['id']}", json={"showAs": "free"}).json()[
            "showAs"
        ]
        == "free"
    )
    assert megan.delete(f"/me/calendars/{cal['id']}/events/{event['id']}").status_code == 204


def test_extended_properties_expand_and_filter(megan):
    linked = megan.post(
        "/me/events", json=shift(singleValueExtendedProperties=[{"id": LINK_PROP, "value": "a-1"}])
    ).json()
    megan.post(
        "/me/events",
        json=shift(subject="Other", singleValueExtendedProperties=[{"id": LINK_PROP, "value": "a-2"}]),
    )
    megan.post("/me/events", json=shift(subject="Plain"))
    assert "singleValueExtendedProperties" not in linked
    expand = f"singleValueExtendedProperties($filter=id eq '{LINK_PROP}')"
    read = megan.get(f"/me/events/{linked['id']}", params={"$expand": expand}).json()
    assert read["singleValueExtendedProperties"] == [{"id": LINK_PROP, "value": "a-1"}]
    flt = f"singleValueExtendedProperties/Any(ep: ep/id eq '{LINK_PROP}' and ep/value eq 'a-1')"
    found = megan.get("/me/events", params={"$filter": flt, "$expand": expand}).json()["value"]
    assert [e["id"] for e in found] == [linked["id"]]
    megan.patch(
        f"/me/events/{linked['id']}",
        json={"singleValueExtendedProperties": [{"id": LINK_PROP, "value": "a-9"}]},
    )
    assert megan.get("/me/events", params={"$filter": flt}).json()["value"] == []
    bad = megan.post(
        "/me/events", json=shift(singleValueExtendedProperties=[{"id": "nonsense", "value": "x"}])
    )
    assert_graph_error(bad, 400, "ErrorInvalidExtendedProperty")


def test_paging_select_orderby_and_filter(megan):
    for day in range(1, 24):
        megan.post("/me/events", json=shift(subject=f"Shift {day:02d}", day=f"2026-12-{day:02d}"))
    first = megan.get(
        "/me/events", params={"$orderby": "start/dateTime desc", "$select": "subject,start"}
    ).json()
    assert len(first["value"]) == 10
    assert first["value"][0]["subject"] == "Shift 23"
    assert set(first["value"][0]) == {"@odata.etag", "id", "subject", "start"}
    subjects = [e["subject"] for e in first["value"]]
    link = first["@odata.nextLink"]
    while link:
        page = megan.get(link).json()
        subjects += [e["subject"] for e in page["value"]]
        link = page.get("@odata.nextLink")
    assert subjects == [f"Shift {d:02d}" for d in range(23, 0, -1)]
    big = megan.get("/me/events", headers={"Prefer": "odata.maxpagesize=50"})
    assert len(big.json()["value"]) == 23 and "@odata.nextLink" not in big.json()
    assert "odata.maxpagesize=50" in big.headers["Preference-Applied"]
    top = megan.get("/me/events", params={"$top": "5", "$skip": "20"}).json()
    assert len(top["value"]) == 3
    filtered = megan.get(
        "/me/events", params={"$filter": "start/dateTime ge '2026-12-20T00:00:00' and showAs eq 'busy'"}
    )
    assert sorted(e["subject"] for e in filtered.json()["value"]) == [
        "Shift 20",
        "Shift 21",
        "Shift 22",
        "Shift 23",
    ]
    assert megan.get("/me/events", params={"$filter": "startswith(subject,'shift 0')", "$top": "100"}).json()[
        "value"
    ]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"$select": "nope"}, "RequestBroker--ParseUri"),
        ({"$filter": "subject eq"}, "BadRequest"),
        ({"$filter": "nope eq 'x'"}, "BadRequest"),
        ({"$top": "abc"}, "BadRequest"),
        ({"$top": "5000"}, "BadRequest"),
        ({"$orderby": "subject sideways"}, "BadRequest"),
        ({"$expand": "nonsense"}, "BadRequest"),
    ],
)
def test_bad_query_options_are_400(megan, params, code):
    assert_graph_error(megan.get("/me/events", params=params), 400, code)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"subject": "x"}, "ErrorInvalidRequest"),
        ({**shift(), "colour": "red"}, "RequestBodyRead"),
        ({**shift(), "subject": 5}, "RequestBodyRead"),
        ({**shift(), "showAs": "sleeping"}, "RequestBodyRead"),
        ({**shift(), "isAllDay": "yes"}, "RequestBodyRead"),
        ({**shift(), "start": {"dateTime": "not a date", "timeZone": "UTC"}}, "ErrorInvalidRequest"),
        ({**shift(), "start": "2026-12-01"}, "ErrorInvalidRequest"),
        (shift(start="15:00", end="07:00"), "ErrorCalendarEndDateIsEarlierThanStartDate"),
        ({**shift(), "isAllDay": True}, "ErrorPropertyValidationFailure"),
        ({**shift(), "attendees": [{"nope": 1}]}, "ErrorInvalidRecipients"),
        (
            {
                **shift(),
                "recurrence": {
                    "pattern": {"type": "hourly"},
                    "range": {"type": "noEnd", "startDate": "2026-12-01"},
                },
            },
            "ErrorInvalidRequest",
        ),
        ([1, 2], "BadRequest"),
    ],
)
def test_bad_event_bodies_are_400(megan, body, code):
    assert_graph_error(megan.post("/me/events", json=body), 400, code)


def test_invalid_json_and_empty_body(megan):
    assert_graph_error(
        megan.post("/me/events", content=b"{nope", headers={"Content-Type": "application/json"}),
        400,
        "BadRequest",
    )
    assert_graph_error(megan.post("/me/events"), 400, "BadRequest")


def test_ids_malformed_versus_not_found(megan):
    assert_graph_error(megan.get("/me/events/123"), 400, "ErrorInvalidIdMalformed")
    assert_graph_error(megan.get("/me/events/AAMkAGI1AAAt9AHjAAA="), 404, "ErrorItemNotFound")
    assert_graph_error(
        megan.patch("/me/events/AAMkAGI1AAAt9AHjAAA=", json={"subject": "x"}), 404, "ErrorItemNotFound"
    )
    assert_graph_error(megan.delete("/me/events/%20"), 400, "ErrorInvalidIdMalformed")
    assert_graph_error(megan.get("/me/calendars/xyz"), 400, "ErrorInvalidIdMalformed")


def test_all_day_event(megan):
    body = shift(start="00:00", end="00:00", isAllDay=True)
    body["end"]["dateTime"] = "2026-12-02T00:00:00"
    event = megan.post("/me/events", json=body).json()
    assert event["isAllDay"] is True
    read = megan.get(
        f"/me/events/{event['id']}", headers={"Prefer": 'outlook.timezone="Pacific Standard Time"'}
    ).json()
    assert read["start"]["dateTime"] == "2026-12-01T00:00:00.0000000"
    assert read["end"]["dateTime"] == "2026-12-02T00:00:00.0000000"


@pytest.mark.parametrize(("day", "next_day"), [("2026-03-08", "2026-03-09"), ("2026-11-01", "2026-11-02")])
def test_an_all_day_event_on_a_dst_changeover_day_is_one_local_day(megan, day, next_day):
    # America/Chicago: 8 March 2026 lasts 23 hours and 1 November 2026 lasts 25; both are one all-day event.
    body = shift(day=day, start="00:00", end="00:00", zone="America/Chicago", isAllDay=True)
    body["end"]["dateTime"] = f"{next_day}T00:00:00"
    response = megan.post("/me/events", json=body)
    assert response.status_code == 201, response.text
    half_day = shift(day=day, start="00:00", end="12:00", zone="America/Chicago", isAllDay=True)
    assert_graph_error(megan.post("/me/events", json=half_day), 400, "ErrorPropertyValidationFailure")


def test_attendees_are_stored(megan):
    body = shift(
        attendees=[
            {
                "emailAddress": {"address": "adele@contoso.onmicrosoft.com", "name": "Adele"},
                "type": "Required",
            }
        ]
    )
    event = megan.post("/me/events", json=body).json()
    assert event["attendees"][0]["type"] == "required"
    assert event["attendees"][0]["emailAddress"]["address"] == "adele@contoso.onmicrosoft.com"


def test_immutable_id_preference_is_applied(megan):
    response = megan.post("/me/events", json=shift(), headers={"Prefer": 'IdType="ImmutableId"'})
    assert 'IdType="ImmutableId"' in response.headers["Preference-Applied"]
    assert "Preference-Applied" not in megan.get("/me/events").headers


def test_expand_calendar_and_select_keep_expanded_properties(megan):
    cal = megan.post("/me/calendars", json={"name": "ShiftDesk"}).json()
    body = shift(singleValueExtendedProperties=[{"id": LINK_PROP, "value": "k-1"}])
    event = megan.post(
        f"/me/calendars/{cal['id']}/events", json=body, params={"$select": "id,changeKey"}
    ).json()
    assert set(event) == {"@odata.context", "@odata.etag", "id", "changeKey"}
    read = megan.get(
        f"/me/events/{event['id']}", params={"$select": "id,changeKey", "$expand": "calendar($select=id)"}
    )
    assert read.json()["calendar"] == {"id": cal["id"]}
    flt = f"singleValueExtendedProperties/Any(ep: ep/id eq '{LINK_PROP}' and ep/value eq 'k-1')"
    params = {
        "$filter": flt,
        "$select": "id",
        "$expand": f"singleValueExtendedProperties($filter=id eq '{LINK_PROP}')",
    }
    (found,) = megan.get(f"/me/calendars/{cal['id']}/events", params=params).json()["value"]
    assert found["singleValueExtendedProperties"] == [{"id": LINK_PROP, "value": "k-1"}]
    full = megan.get(f"/me/events/{event['id']}", params={"$expand": "calendar"}).json()["calendar"]
    assert full["name"] == "ShiftDesk"
    assert_graph_error(
        megan.get(f"/me/events/{event['id']}", params={"$expand": "calendar($select=nope)"}),
        400,
        "BadRequest",
    )
