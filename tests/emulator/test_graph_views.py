"""Graph time-window reads: calendarView with recurrences expanded, instances, calendarView/delta rounds
with @removed entries and 410 SyncStateNotFound, and getSchedule."""

from __future__ import annotations

import pytest

from .graph_helpers import assert_graph_error, client, shift, token_for

MEGAN = "megan@contoso.onmicrosoft.com"
WINDOW = {"startDateTime": "2026-12-01T00:00:00Z", "endDateTime": "2026-12-08T00:00:00Z"}


@pytest.fixture
def megan(emulator, world):
    with client(emulator, token_for(emulator, MEGAN)) as http:
        yield http


def weekly(days, start_date="2026-11-30", **range_extra):
    body = shift(subject="Standup", day=start_date, start="09:00", end="09:15")
    body["recurrence"] = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": days},
        "range": {"type": "noEnd", "startDate": start_date, **range_extra},
    }
    return body


def test_calendar_view_needs_a_window(megan):
    error = assert_graph_error(megan.get("/me/calendarView"), 400, "ErrorInvalidParameter")
    assert "StartDateTime and EndDateTime" in error["message"]
    bad = megan.get(
        "/me/calendarView", params={"startDateTime": "tomorrow", "endDateTime": "2026-12-08T00:00:00Z"}
    )
    assert_graph_error(bad, 400, "ErrorInvalidParameter")


def test_calendar_view_returns_overlapping_events_in_order(megan):
    inside = megan.post("/me/events", json=shift(day="2026-12-03")).json()
    megan.post("/me/events", json=shift(day="2026-12-10"))
    edge = megan.post(
        "/me/events", json=shift(day="2026-11-30", start="20:00", end="23:30")
    ).json()  # ends 22:30Z
    view = megan.get("/me/calendarView", params=WINDOW).json()
    assert [e["id"] for e in view["value"]] == [inside["id"]]
    wide = megan.get("/me/calendarView", params={**WINDOW, "startDateTime": "2026-11-30T22:00:00Z"}).json()
    assert [e["id"] for e in wide["value"]] == [edge["id"], inside["id"]]


def test_weekly_recurrence_is_expanded(megan):
    master = megan.post("/me/events", json=weekly(["monday", "wednesday", "friday"])).json()
    assert master["type"] == "seriesMaster"
    assert master["recurrence"]["pattern"]["daysOfWeek"] == ["monday", "wednesday", "friday"]
    view = megan.get("/me/calendarView", params=WINDOW).json()["value"]
    assert [e["start"]["dateTime"][:10] for e in view] == ["2026-12-02", "2026-12-04", "2026-12-07"]
    assert {e["type"] for e in view} == {"occurrence"}
    assert {e["seriesMasterId"] for e in view} == {master["id"]}
    occurrence = megan.get(f"/me/events/{view[0]['id']}").json()
    assert occurrence["type"] == "occurrence"
    assert megan.delete(f"/me/events/{view[0]['id']}").status_code == 204
    after = megan.get("/me/calendarView", params=WINDOW).json()["value"]
    assert [e["start"]["dateTime"][:10] for e in after] == ["2026-12-04", "2026-12-07"]
    instances = megan.get(f"/me/events/{master['id']}/instances", params=WINDOW).json()["value"]
    assert len(instances) == 2


def test_one_occurrence_can_be_changed(megan, emulator):
    master = megan.post("/me/events", json=weekly(["monday", "wednesday", "friday"])).json()
    first, second, third = megan.get("/me/calendarView", params=WINDOW).json()["value"]
    moved = megan.patch(
        f"/me/events/{second['id']}",
        json={"subject": "Standup (moved)", "start": {"dateTime": "2026-12-04T11:00:00", "timeZone": "Europe/Paris"},
              "end": {"dateTime": "2026-12-04T11:30:00", "timeZone": "Europe/Paris"}},
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    assert moved.json()["type"] == "exception" and moved.json()["id"] == second["id"]
    view = megan.get("/me/calendarView", params=WINDOW).json()["value"]
    assert [(e["subject"], e["start"]["dateTime"], e["type"]) for e in view] == [
        ("Standup", "2026-12-02T08:00:00.0000000", "occurrence"),
        ("Standup (moved)", "2026-12-04T10:00:00.0000000", "exception"),
        ("Standup", "2026-12-07T08:00:00.0000000", "occurrence"),
    ]
    assert megan.get(f"/me/events/{master['id']}").json()["subject"] == "Standup"
    bad = megan.patch(f"/me/events/{first['id']}", json={"recurrence": None})
    assert_graph_error(bad, 400, "ErrorInvalidRequest")
    raw = emulator.control.get(f"/graph/mailboxes/{MEGAN}").json()["events"][0]
    assert raw["exceptionOccurrences"] == ["2026-12-04"]


def test_daily_numbered_recurrence(megan):
    body = shift(day="2026-12-01", start="22:00", end="23:00")
    body["recurrence"] = {
        "pattern": {"type": "daily", "interval": 2},
        "range": {"type": "numbered", "startDate": "2026-12-01", "numberOfOccurrences": 3},
    }
    megan.post("/me/events", json=body)
    view = megan.get("/me/calendarView", params={**WINDOW, "endDateTime": "2026-12-31T00:00:00Z"}).json()[
        "value"
    ]
    # 22:00 Paris is 21:00 UTC
    assert [e["start"]["dateTime"] for e in view] == [
        "2026-12-01T21:00:00.0000000",
        "2026-12-03T21:00:00.0000000",
        "2026-12-05T21:00:00.0000000",
    ]


def test_calendar_view_pages(megan):
    for day in range(1, 8):
        for hour in ("08", "12"):
            megan.post("/me/events", json=shift(day=f"2026-12-0{day}", start=f"{hour}:00", end=f"{hour}:30"))
    page = megan.get("/me/calendarView", params=WINDOW).json()
    assert len(page["value"]) == 10
    rest = megan.get(page["@odata.nextLink"]).json()
    assert len(rest["value"]) == 4 and "@odata.nextLink" not in rest


def test_delta_rounds(megan, emulator):
    a = megan.post("/me/events", json=shift(day="2026-12-02")).json()
    b = megan.post("/me/events", json=shift(day="2026-12-03")).json()
    for day in range(1, 12):
        megan.post(
            "/me/events",
            json=shift(
                subject="filler", day="2026-12-04", start=f"{day + 6:02d}:00", end=f"{day + 6:02d}:30"
            ),
        )
    first = megan.get(
        "/me/calendarView/delta", params=WINDOW, headers={"Prefer": "odata.maxpagesize=10"}
    ).json()
    seen = [e["id"] for e in first["value"]]
    second = megan.get(first["@odata.nextLink"]).json()
    seen += [e["id"] for e in second["value"]]
    assert len(seen) == 13 and a["id"] in seen
    delta_link = second["@odata.deltaLink"]
    quiet = megan.get(delta_link).json()
    assert quiet["value"] == []  # nothing changed since
    link = quiet["@odata.deltaLink"]
    megan.patch(f"/me/events/{a['id']}", json={"subject": "changed"})
    megan.delete(f"/me/events/{b['id']}")
    changes = megan.get(link).json()
    by_id = {e["id"]: e for e in changes["value"]}
    assert by_id[a["id"]]["subject"] == "changed"
    assert by_id[b["id"]]["@removed"] == {"reason": "deleted"}
    assert len(by_id) == 2
    assert megan.get(link).json()["value"] == changes["value"]  # a retried round answers the same
    assert megan.get(changes["@odata.deltaLink"]).json()["value"] == []
    bogus = megan.get("/me/calendarView/delta", params={"$deltatoken": "bogus"})
    assert_graph_error(bogus, 410, "SyncStateNotFound")


def test_delta_reports_events_moved_out_of_the_window_as_removed(megan, emulator):
    event = megan.post("/me/events", json=shift(day="2026-12-02")).json()
    link = megan.get("/me/calendarView/delta", params=WINDOW).json()["@odata.deltaLink"]
    megan.patch(f"/me/events/{event['id']}", json=shift(day="2027-01-10"))
    changes = megan.get(link).json()["value"]
    assert changes == [
        {"@odata.type": "#microsoft.graph.event", "id": event["id"], "@removed": {"reason": "deleted"}}
    ]


def test_expired_delta_tokens_answer_410(megan, emulator):
    link = megan.get("/me/calendarView/delta", params=WINDOW).json()["@odata.deltaLink"]
    emulator.control.post(f"/graph/mailboxes/{MEGAN}/expire-delta-tokens").raise_for_status()
    assert_graph_error(megan.get(link), 410, "SyncStateNotFound")


def test_get_schedule(megan, emulator):
    megan.post("/me/events", json=shift(day="2026-12-01", start="09:00", end="10:00"))
    megan.post(
        "/me/events",
        json=shift(subject="Maybe", day="2026-12-01", start="11:00", end="12:00", showAs="tentative"),
    )
    megan.post(
        "/me/events", json=shift(subject="Open", day="2026-12-01", start="12:00", end="13:00", showAs="free")
    )
    body = {
        "schedules": [MEGAN, "ghost@contoso.onmicrosoft.com"],
        "startTime": {"dateTime": "2026-12-01T08:00:00", "timeZone": "Europe/Paris"},
        "endTime": {"dateTime": "2026-12-01T13:00:00", "timeZone": "Romance Standard Time"},
        "availabilityViewInterval": 60,
    }
    response = megan.post(
        "/me/calendar/getSchedule", json=body, headers={"Prefer": 'outlook.timezone="Europe/Paris"'}
    )
    assert response.status_code == 200, response.text
    mine, ghost = response.json()["value"]
    assert mine["availabilityView"] == "02010"
    assert [i["status"] for i in mine["scheduleItems"]] == ["busy", "tentative"]
    assert mine["scheduleItems"][0]["start"] == {
        "dateTime": "2026-12-01T09:00:00.0000000",
        "timeZone": "Europe/Paris",
    }
    assert ghost["error"]["responseCode"] == "5009"
    assert_graph_error(
        megan.post("/me/calendar/getSchedule", json={**body, "availabilityViewInterval": 2}),
        400,
        "ErrorInvalidParameter",
    )
    assert_graph_error(
        megan.post("/me/calendar/getSchedule", json={"schedules": []}), 400, "ErrorInvalidParameter"
    )


def test_get_schedule_is_not_for_personal_accounts(emulator, world):
    with client(emulator, token_for(emulator, "pat@outlook.com")) as http:
        body = {
            "schedules": ["pat@outlook.com"],
            "startTime": {"dateTime": "2026-12-01T08:00:00", "timeZone": "UTC"},
            "endTime": {"dateTime": "2026-12-01T13:00:00", "timeZone": "UTC"},
        }
        assert_graph_error(http.post("/me/calendar/getSchedule", json=body), 403, "ErrorAccessDenied")
        assert http.get("/me/calendarView", params=WINDOW).status_code == 200
