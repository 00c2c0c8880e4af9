"""The Graph control API (raw mailbox state, acting as the user, calendars, request log) and the
Outlook viewer pages."""

from __future__ import annotations

import pytest

from .graph_helpers import LINK_PROP, assert_graph_error, client, shift, token_for

MEGAN = "megan@contoso.onmicrosoft.com"


@pytest.fixture
def megan(emulator, world):
    with client(emulator, token_for(emulator, MEGAN)) as http:
        yield http


def test_raw_mailbox_state_includes_extended_properties(megan, emulator):
    event = megan.post(
        "/me/events", json=shift(singleValueExtendedProperties=[{"id": LINK_PROP, "value": "a-1"}])
    ).json()
    raw = emulator.control.get(f"/graph/mailboxes/{MEGAN}").json()
    assert raw["address"] == MEGAN and raw["timeZone"] == "Europe/Paris"
    assert raw["calendars"][0]["isDefaultCalendar"] is True
    (stored,) = raw["events"]
    assert stored["id"] == event["id"]
    assert stored["singleValueExtendedProperties"] == [{"id": LINK_PROP, "value": "a-1"}]
    assert stored["start"] == "2026-12-01T06:00:00+00:00" and stored["startTimeZone"] == "Europe/Paris"
    oid = emulator.state.directory.user_by_login(MEGAN).oid
    assert emulator.control.get(f"/graph/mailboxes/{oid}").json()["oid"] == oid
    assert emulator.control.get("/graph/mailboxes/nobody@x.com").status_code == 404


def test_user_edits_and_deletes_are_seen_through_graph(megan, emulator):
    event = megan.post("/me/events", json=shift()).json()
    edited = emulator.control.patch(
        f"/graph/mailboxes/{MEGAN}/events/{event['id']}", json={"subject": "Dentist", "showAs": "oof"}
    )
    assert edited.status_code == 200 and edited.json()["changeKey"] != event["changeKey"]
    read = megan.get(f"/me/events/{event['id']}").json()
    assert read["subject"] == "Dentist" and read["showAs"] == "oof"
    stale = megan.patch(
        f"/me/events/{event['id']}", json={"subject": "x"}, headers={"If-Match": event["@odata.etag"]}
    )
    assert_graph_error(stale, 412, "ErrorIrresolvableConflict")
    assert emulator.control.delete(f"/graph/mailboxes/{MEGAN}/events/{event['id']}").status_code == 204
    assert_graph_error(megan.get(f"/me/events/{event['id']}"), 404, "ErrorItemNotFound")
    bad = emulator.control.patch(f"/graph/mailboxes/{MEGAN}/events/{event['id']}", json={"subject": "x"})
    assert bad.status_code == 404 and bad.json()["error"]["code"] == "ErrorItemNotFound"


def test_user_creates_and_deletes_calendars(megan, emulator):
    cal = emulator.control.post(f"/graph/mailboxes/{MEGAN}/calendars", json={"name": "Shifts"}).json()
    created = emulator.control.post(
        f"/graph/mailboxes/{MEGAN}/events", json={"calendarId": cal["id"], **shift()}
    )
    assert created.status_code == 201
    assert len(megan.get(f"/me/calendars/{cal['id']}/events").json()["value"]) == 1
    assert emulator.control.delete(f"/graph/mailboxes/{MEGAN}/calendars/{cal['id']}").status_code == 204
    assert_graph_error(megan.get(f"/me/calendars/{cal['id']}/events"), 404, "ErrorItemNotFound")
    assert_graph_error(megan.get(f"/me/events/{created.json()['id']}"), 404, "ErrorItemNotFound")
    assert emulator.control.post(f"/graph/mailboxes/{MEGAN}/calendars", json={}).status_code == 400


def test_request_log_records_app_and_mailbox(megan, emulator):
    megan.get("/me")
    megan.get("/me/events/123")
    oid = emulator.state.directory.user_by_login(MEGAN).oid
    log = emulator.control.get("/graph/requests", params={"mailbox": oid}).json()["value"]
    assert [(e["path"], e["status"]) for e in log[-2:]] == [("/v1.0/me", 200), ("/v1.0/me/events/123", 400)]
    assert log[-1]["client_id"] == "11111111-2222-3333-4444-555555555555"
    assert (
        emulator.control.get("/graph/requests", params={"status": "400"}).json()["value"][-1]["path"]
        == "/v1.0/me/events/123"
    )


def test_settings_validate(emulator, world):
    assert (
        emulator.control.put("/graph/settings", json={"subscription_max_minutes": 4230}).json()[
            "subscription_max_minutes"
        ]
        == 4230
    )
    assert emulator.control.put("/graph/settings", json={"subscription_max_minutes": "x"}).status_code == 400
    assert emulator.control.put("/graph/settings", json={"nope": 1}).status_code == 400


def test_viewer_week_shows_events_and_user_can_edit(megan, emulator):
    event = megan.post("/me/events", json=shift(subject="Night <shift>", day="2026-12-02")).json()
    with emulator.http() as browser:
        index = browser.get(emulator.base_url + "/outlook/")
        assert index.status_code == 200 and MEGAN in index.text
        week = browser.get(emulator.base_url + f"/outlook/{MEGAN}", params={"week": "2026-12-02"})
        assert week.status_code == 200
        assert "Night &lt;shift&gt;" in week.text and 'data-date="2026-12-02"' in week.text
        assert "top:280px" in week.text  # 07:00 Paris at 40px per hour
        url = emulator.base_url + f"/outlook/{MEGAN}/events/{event['id']}"
        saved = browser.post(
            url,
            data={
                "subject": "Changed",
                "start": "2026-12-02T08:00",
                "end": "2026-12-02T12:00",
                "showAs": "tentative",
            },
        )
        assert saved.status_code == 303
        assert megan.get(f"/me/events/{event['id']}").json()["subject"] == "Changed"
        created = browser.post(emulator.base_url + f"/outlook/{MEGAN}/events",
                               data={"subject": "Own", "start": "2026-12-03T10:00", "end": "2026-12-03T11:00", "showAs": "busy"})  # fmt: skip
        assert created.status_code == 303
        assert browser.post(url + "/delete").status_code == 303
        assert_graph_error(megan.get(f"/me/events/{event['id']}"), 404, "ErrorItemNotFound")
        assert [e["subject"] for e in megan.get("/me/events").json()["value"]] == ["Own"]
        bad = browser.post(
            emulator.base_url + f"/outlook/{MEGAN}/events",
            data={"subject": "x", "start": "bad", "end": "worse"},
        )
        assert bad.status_code == 400
        assert browser.get(emulator.base_url + "/outlook/nobody@nowhere").status_code == 404


def test_batch_items_are_logged_one_by_one(megan, emulator):
    requests = [
        {"id": "1", "method": "GET", "url": "/me"},
        {"id": "2", "method": "GET", "url": "/me/events/123"},
    ]
    megan.post("/$batch", json={"requests": requests})
    log = emulator.control.get("/graph/requests").json()["value"]
    items = [(e["path"], e["status"]) for e in log if e.get("batch")]
    assert items == [("/v1.0/me", 200), ("/v1.0/me/events/123", 400)]
    assert log[-1]["path"] == "/v1.0/$batch" and log[-1]["status"] == 200


IMMUTABLE = {"Prefer": 'IdType="ImmutableId"'}


def test_the_user_moves_an_event_to_another_calendar_and_it_keeps_its_id(megan, emulator):
    megan.headers.update(IMMUTABLE)  # the id is kept for clients that ask for immutable ids
    cal = emulator.control.post(f"/graph/mailboxes/{MEGAN}/calendars", json={"name": "Personal"}).json()
    event = megan.post("/me/events", json=shift()).json()
    url = f"/graph/mailboxes/{MEGAN}/events/{event['id']}"
    moved = emulator.control.patch(url, json={"calendarId": cal["id"], "subject": "Moved"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["calendarId"] == cal["id"] and moved.json()["id"] == event["id"]
    assert moved.json()["changeKey"] != event["changeKey"]
    read = megan.get(
        f"/me/events/{event['id']}", params={"$select": "subject", "$expand": "calendar($select=id)"}
    ).json()
    assert read["calendar"]["id"] == cal["id"] and read["subject"] == "Moved"
    assert [e["id"] for e in megan.get(f"/me/calendars/{cal['id']}/events").json()["value"]] == [event["id"]]
    assert megan.get("/me/calendar/events").json()["value"] == []
    missing = emulator.control.patch(url, json={"calendarId": "AAMkAGnope" + "A" * 60})
    assert missing.status_code in (400, 404) and missing.json()["error"]["code"]


def test_without_immutable_ids_a_moved_event_gets_a_new_id(megan, emulator):
    # concepts/outlook-immutable-id.md: regular ids change when the item moves to another folder.
    cal = emulator.control.post(f"/graph/mailboxes/{MEGAN}/calendars", json={"name": "Personal"}).json()
    event = megan.post("/me/events", json=shift()).json()
    moved = emulator.control.patch(
        f"/graph/mailboxes/{MEGAN}/events/{event['id']}", json={"calendarId": cal["id"]}
    )
    regular = moved.json()["regularId"]
    assert regular != event["id"] and moved.json()["id"] == event["id"]
    listed = megan.get(f"/me/calendars/{cal['id']}/events").json()["value"]
    assert [e["id"] for e in listed] == [regular]  # the id the client knew is not what Graph shows now
    assert megan.get(f"/me/events/{regular}").json()["id"] == regular
    with_header = megan.get(f"/me/calendars/{cal['id']}/events", headers=IMMUTABLE).json()["value"]
    assert [e["id"] for e in with_header] == [event["id"]]
    # The request log says which requests lacked the preference.
    log = emulator.control.get("/graph/requests", params={"path_prefix": "/v1.0/me"}).json()["value"]
    assert [r["immutable_ids"] for r in log][-3:] == [False, False, True]


def test_a_mailbox_can_deny_the_app_access(megan, emulator):
    event = megan.post("/me/events", json=shift()).json()
    url = f"/graph/mailboxes/{MEGAN}/access"
    assert emulator.control.get(url).json() == {"deny": False}
    assert emulator.control.put(url, json={"deny": True}).json() == {"deny": True}
    error = assert_graph_error(megan.get(f"/me/events/{event['id']}"), 403, "ErrorAccessDenied")
    assert error["message"] == "Access is denied. Check credentials and try again."
    assert_graph_error(megan.post("/me/events", json=shift()), 403, "ErrorAccessDenied")
    batch = megan.post("/$batch", json={"requests": [{"id": "1", "method": "GET", "url": "/me/events"}]})
    assert batch.status_code == 200 and batch.json()["responses"][0]["status"] == 403
    assert batch.json()["responses"][0]["body"]["error"]["code"] == "ErrorAccessDenied"
    # Another mailbox is not affected.
    with client(emulator, token_for(emulator, "adele@contoso.onmicrosoft.com")) as adele:
        assert adele.get("/me/events").status_code == 200
    assert emulator.control.put(url, json={"deny": "yes"}).status_code == 400
    emulator.control.put(url, json={"deny": False}).raise_for_status()
    assert megan.get(f"/me/events/{event['id']}").status_code == 200
    emulator.control.put(url, json={"deny": True}).raise_for_status()
    emulator.reset()
    emulator.seed()
    assert emulator.control.get(url).json() == {"deny": False}
