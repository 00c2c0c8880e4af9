"""google-api-python-client's Calendar service, unmodified, against the emulator: events with client-chosen
ids, etags, deletes, incremental sync, pages, time windows, recurring instances, extended-property filters,
freebusy, batch, and Google's error format."""

from __future__ import annotations

import json

import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from googleemulator.testing import CALENDAR_SCOPES
from tests.google_emulator.clients import calendar_service, token_credentials

EVENT_ID = "shiftdesk0link0000000000001"  # base32hex: 0-9 a-v


def service_for(google, email="alice@example.org", scopes=CALENDAR_SCOPES, static=False):
    return calendar_service(google, token_credentials(google, email, scopes), static=static)


def event(summary="Desk shift", start="2027-03-01T09:00:00Z", end="2027-03-01T12:00:00Z", **extra):
    return {"summary": summary, "start": {"dateTime": start}, "end": {"dateTime": end}, **extra}


def error_of(exc: HttpError) -> dict:
    return json.loads(exc.content)["error"]


def test_it_inserts_with_a_client_chosen_id_and_answers_409_on_a_duplicate(google, gworld):
    cal = service_for(google)
    body = event(id=EVENT_ID, extendedProperties={"private": {"shiftdeskLink": "42"}})
    created = cal.events().insert(calendarId="primary", body=body).execute()
    assert created["id"] == EVENT_ID and created["status"] == "confirmed" and created["etag"].startswith('"')
    assert created["extendedProperties"]["private"] == {"shiftdeskLink": "42"}
    assert created["organizer"] == {"email": "alice@example.org", "self": True, "displayName": "Alice Admin"}
    with pytest.raises(HttpError) as exc:
        cal.events().insert(calendarId="primary", body=body).execute()
    err = error_of(exc.value)
    assert exc.value.status_code == 409 and err["errors"][0]["reason"] == "duplicate"
    assert err["code"] == 409 and err["status"] == "ALREADY_EXISTS"
    for bad in ("abc", "UPPERCASE1", "with-dash1", "w" * 1025, "xyzxyz"):  # w..z are not base32hex
        with pytest.raises(HttpError) as exc:
            cal.events().insert(calendarId="primary", body=event(id=bad)).execute()
        assert (
            exc.value.status_code == 400
            and error_of(exc.value)["errors"][0]["message"] == "Invalid resource id value."
        )


def test_patch_with_a_stale_etag_is_412_and_delete_twice_is_410(google, gworld):
    cal = service_for(google)
    created = cal.events().insert(calendarId="primary", body=event(id=EVENT_ID)).execute()
    request = cal.events().patch(calendarId="primary", eventId=EVENT_ID, body={"summary": "Moved"})
    request.headers["If-Match"] = created["etag"]
    patched = request.execute()
    assert patched["summary"] == "Moved" and patched["etag"] != created["etag"] and patched["sequence"] == 1
    stale = cal.events().patch(calendarId="primary", eventId=EVENT_ID, body={"summary": "Again"})
    stale.headers["If-Match"] = created["etag"]
    with pytest.raises(HttpError) as exc:
        stale.execute()
    assert exc.value.status_code == 412 and error_of(exc.value)["errors"][0]["reason"] == "conditionNotMet"
    cal.events().delete(calendarId="primary", eventId=EVENT_ID).execute()
    with pytest.raises(HttpError) as exc:
        cal.events().delete(calendarId="primary", eventId=EVENT_ID).execute()
    assert exc.value.status_code == 410 and error_of(exc.value)["errors"][0]["reason"] == "deleted"
    assert cal.events().get(calendarId="primary", eventId=EVENT_ID).execute()["status"] == "cancelled"
    with pytest.raises(HttpError) as exc:
        cal.events().get(calendarId="primary", eventId="nosuchevent1").execute()
    assert exc.value.status_code == 404 and error_of(exc.value)["errors"][0] == {
        "domain": "global",
        "reason": "notFound",
        "message": "Not Found",
    }


def test_incremental_sync_reports_changes_and_deletions_then_410_once_expired(google, gworld):
    cal = service_for(google)
    for n in range(5):
        cal.events().insert(calendarId="primary", body=event(f"Shift {n}", id=f"shift{n:05d}")).execute()
    # Full sync in pages of two.
    items, page_token, pages = [], None, 0
    while True:
        page = cal.events().list(calendarId="primary", maxResults=2, pageToken=page_token).execute()
        items += page["items"]
        pages += 1
        page_token = page.get("nextPageToken")
        if not page_token:
            sync_token = page["nextSyncToken"]
            break
        assert "nextSyncToken" not in page
    assert pages == 3 and sorted(i["id"] for i in items) == [f"shift{n:05d}" for n in range(5)]
    # Someone edits in Google; the app deletes one.
    google.gcontrol.patch(
        "/calendars/alice@example.org/events/shift00001", json={"summary": "Edited in Google"}
    )
    cal.events().delete(calendarId="primary", eventId="shift00002").execute()
    delta = cal.events().list(calendarId="primary", syncToken=sync_token).execute()
    assert [(i["id"], i["status"]) for i in delta["items"]] == [
        ("shift00001", "confirmed"),
        ("shift00002", "cancelled"),
    ]
    assert delta["items"][0]["summary"] == "Edited in Google"
    nothing = cal.events().list(calendarId="primary", syncToken=delta["nextSyncToken"]).execute()
    assert nothing["items"] == []
    with pytest.raises(HttpError) as exc:
        cal.events().list(
            calendarId="primary", syncToken=sync_token, timeMin="2027-01-01T00:00:00Z"
        ).execute()
    assert exc.value.status_code == 400
    google.gcontrol.post("/calendars/alice@example.org/expire-sync-tokens").raise_for_status()
    with pytest.raises(HttpError) as exc:
        cal.events().list(calendarId="primary", syncToken=nothing["nextSyncToken"]).execute()
    err = error_of(exc.value)
    assert exc.value.status_code == 410 and err["errors"][0]["reason"] == "fullSyncRequired"
    assert err["message"] == "Sync token is no longer valid, a full sync is required."


def test_list_filters_window_deleted_recurring_and_private_properties(google, gworld):
    cal = service_for(google)
    cal.events().insert(calendarId="primary", body=event("Mine", id="mine00001",
                        extendedProperties={"private": {"shiftdeskLink": "7"}})).execute()  # fmt: skip
    cal.events().insert(
        calendarId="primary", body=event("Later", "2027-04-01T09:00:00Z", "2027-04-01T10:00:00Z")
    ).execute()
    cal.events().insert(calendarId="primary", body=event("Gone", id="gone00001")).execute()
    cal.events().delete(calendarId="primary", eventId="gone00001").execute()
    cal.events().insert(calendarId="primary", body={
        "id": "rec0000001", "summary": "Weekly", "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"],
        "start": {"dateTime": "2027-03-02T09:00:00", "timeZone": "Europe/London"},
        "end": {"dateTime": "2027-03-02T10:00:00", "timeZone": "Europe/London"}}).execute()  # fmt: skip
    window = {"timeMin": "2027-03-01T00:00:00Z", "timeMax": "2027-03-31T00:00:00Z"}
    plain = cal.events().list(calendarId="primary", **window).execute()["items"]
    assert sorted(i["summary"] for i in plain) == ["Mine", "Weekly"]
    single = (
        cal.events()
        .list(calendarId="primary", singleEvents=True, orderBy="startTime", **window)
        .execute()["items"]
    )
    assert [i["summary"] for i in single] == ["Mine", "Weekly", "Weekly", "Weekly"]
    assert single[1]["id"] == "rec0000001_20270302T090000Z" and single[1]["recurringEventId"] == "rec0000001"
    deleted = cal.events().list(calendarId="primary", showDeleted=True, **window).execute()["items"]
    assert "gone00001" in [i["id"] for i in deleted if i["status"] == "cancelled"]
    found = (
        cal.events().list(calendarId="primary", privateExtendedProperty="shiftdeskLink=7").execute()["items"]
    )
    assert [i["id"] for i in found] == ["mine00001"]
    with pytest.raises(HttpError) as exc:
        cal.events().list(
            calendarId="primary", timeMin="2027-03-02T00:00:00Z", timeMax="2027-03-01T00:00:00Z"
        ).execute()
    assert error_of(exc.value)["errors"][0]["reason"] == "timeRangeEmpty"


def test_freebusy_merges_busy_time_and_skips_transparent_and_unknown_calendars(google, gworld):
    cal = service_for(google)
    cal.events().insert(
        calendarId="primary", body=event("A", "2027-03-01T09:00:00Z", "2027-03-01T10:00:00Z")
    ).execute()
    cal.events().insert(
        calendarId="primary", body=event("B", "2027-03-01T09:30:00Z", "2027-03-01T11:00:00Z")
    ).execute()
    cal.events().insert(calendarId="primary", body=event("Free", "2027-03-01T13:00:00Z", "2027-03-01T14:00:00Z",
                        transparency="transparent")).execute()  # fmt: skip
    answer = cal.freebusy().query(body={"timeMin": "2027-03-01T00:00:00Z", "timeMax": "2027-03-02T00:00:00Z",
                                        "items": [{"id": "primary"}, {"id": "nobody@example.org"}]}).execute()  # fmt: skip
    assert answer["calendars"]["primary"]["busy"] == [
        {"start": "2027-03-01T09:00:00Z", "end": "2027-03-01T11:00:00Z"}
    ]
    assert answer["calendars"]["nobody@example.org"]["errors"] == [{"domain": "global", "reason": "notFound"}]


def test_calendar_list_and_shared_calendar_roles(google, gworld):
    cal = service_for(google)
    entries = {c["id"]: c for c in cal.calendarList().list().execute()["items"]}
    assert (
        entries["alice@example.org"]["primary"] is True
        and entries["alice@example.org"]["accessRole"] == "owner"
    )
    assert entries["rota@group.calendar.google.com"]["accessRole"] == "writer"
    writable = cal.calendarList().list(minAccessRole="writer").execute()["items"]
    assert {c["id"] for c in writable} == {"alice@example.org", "rota@group.calendar.google.com"}
    google.gcontrol.put(
        "/calendars/rota@group.calendar.google.com/acl", json={"email": "alice@example.org", "role": None}
    )
    with pytest.raises(HttpError) as exc:
        cal.events().list(calendarId="rota@group.calendar.google.com").execute()
    assert exc.value.status_code == 404  # unshared: the calendar is no longer visible


def test_batch_runs_each_part_and_answers_in_order(google, gworld):
    cal = service_for(google)
    answers = {}

    def collect(request_id, response, exception):
        answers[request_id] = exception.status_code if exception else (response or {}).get("id", "no content")

    batch = cal.new_batch_http_request(callback=collect)
    assert batch._batch_uri == google.gbase + "/batch/calendar/v3"
    for n in range(3):
        batch.add(
            cal.events().insert(calendarId="primary", body=event(f"B{n}", id=f"batch{n:05d}")),
            request_id=str(n),
        )
    batch.add(cal.events().insert(calendarId="primary", body=event("dup", id="batch00000")), request_id="dup")
    batch.execute()
    assert answers == {"0": "batch00000", "1": "batch00001", "2": "batch00002", "dup": 409}
    # The bundled (static) discovery document with api_endpoint works too; its batches need the URI given.
    static = service_for(google, static=True)
    assert static.events().get(calendarId="primary", eventId="batch00001").execute()["summary"] == "B1"
    manual = BatchHttpRequest(callback=collect, batch_uri=google.gbase + "/batch/calendar/v3")
    manual.add(static.events().delete(calendarId="primary", eventId="batch00001"), request_id="del")
    manual.execute()
    assert answers["del"] == "no content"  # 204
    assert static.events().get(calendarId="primary", eventId="batch00001").execute()["status"] == "cancelled"


def test_batch_rejects_more_than_1000_calls(google, gworld):
    parts = (
        "".join(
            f"--b\r\nContent-Type: application/http\r\nContent-ID: <{n}>\r\n\r\nGET /google/calendar/v3/users/me/calendarList HTTP/1.1\r\n\r\n"
            for n in range(1001)
        )
        + "--b--\r\n"
    )
    token = google.gcontrol.post("/tokens", json={"client_id": gworld["projects"][0]["clients"][0]["client_id"],
                                 "email": "alice@example.org"}).json()["access_token"]  # fmt: skip
    with google.http() as http:
        response = http.post(
            google.gbase + "/batch/calendar/v3",
            content=parts.encode(),
            headers={"Content-Type": "multipart/mixed; boundary=b", "Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 400, response.text[:500]
    assert "1000" in response.json()["error"]["message"]


def test_auth_scope_and_project_errors_are_googles(google, gworld):
    with google.http() as http:
        anonymous = http.get(google.gbase + "/calendar/v3/users/me/calendarList")
    err = anonymous.json()["error"]
    assert (
        anonymous.status_code == 401
        and err["status"] == "UNAUTHENTICATED"
        and err["errors"][0]["reason"] == "authError"
    )
    readonly = service_for(google, scopes=["https://www.googleapis.com/auth/calendar.freebusy"])
    with pytest.raises(HttpError) as exc:
        readonly.events().insert(calendarId="primary", body=event()).execute()
    assert (
        exc.value.status_code == 403
        and error_of(exc.value)["errors"][0]["reason"] == "insufficientPermissions"
    )
    cal = service_for(google)
    google.gcontrol.patch("/projects/shiftdesk-demo", json={"calendar_api_enabled": False})
    with pytest.raises(HttpError) as exc:
        cal.calendarList().list().execute()
    assert (
        exc.value.status_code == 403 and error_of(exc.value)["errors"][0]["reason"] == "accessNotConfigured"
    )


def test_quota_and_injected_faults(google, gworld):
    cal = service_for(google)
    google.gcontrol.patch("/settings", json={"quota_per_user_per_minute": 2}).raise_for_status()
    cal.calendarList().list().execute()
    cal.calendarList().list().execute()
    with pytest.raises(HttpError) as exc:
        cal.calendarList().list().execute()
    assert exc.value.status_code == 403 and error_of(exc.value)["errors"][0] == {
        "domain": "usageLimits",
        "reason": "userRateLimitExceeded",
        "message": "User Rate Limit Exceeded",
    }
    google.gcontrol.patch("/settings", json={"quota_per_user_per_minute": 600}).raise_for_status()
    faults = google.gcontrol.put(
        "/faults", json={"error_rates": {"429": 1.0}, "remaining": 1, "retry_after": 2}
    )
    assert faults.status_code == 200, faults.text
    with pytest.raises(HttpError) as exc:
        cal.calendarList().list().execute()
    assert exc.value.status_code == 429 and exc.value.resp["retry-after"] == "2"
    assert error_of(exc.value)["errors"][0]["reason"] == "rateLimitExceeded"
    assert cal.calendarList().list().execute()["items"]  # remaining: 1 → the next call goes through
    assert google.gcontrol.get("/faults").json()["injected"] == 1
    assert google.gcontrol.put("/faults", json={"error_rates": {"418": 1}}).status_code == 400


def test_the_documented_600_per_user_minute_counts_each_batch_part(google, gworld):
    assert google.gcontrol.get("/settings").json()["quota_per_user_per_minute"] == 600
    cal = service_for(google)
    answers = []
    for _ in range(2):  # 2 x 300 parts: every one admitted
        batch = cal.new_batch_http_request(callback=lambda rid, resp, exc: answers.append(exc))
        for _ in range(300):
            batch.add(cal.calendarList().list())
        batch.execute()
    assert len(answers) == 600 and not any(answers)
    with pytest.raises(HttpError) as exc:
        cal.calendarList().list().execute()
    assert error_of(exc.value)["errors"][0]["reason"] == "userRateLimitExceeded"
    google.gcontrol.put("/clock", json={"advance_seconds": 61}).raise_for_status()
    assert cal.calendarList().list().execute()["items"]  # a minute later the window has room again
    assert service_for(google, "bob@example.org").calendarList().list().execute()["items"]  # per user


def test_date_times_come_back_with_the_offset_of_their_zone(google, gworld):
    cal = service_for(google)
    body = {"start": {"dateTime": "2027-06-01T10:00:00+02:00", "timeZone": "Europe/London"},
            "end": {"dateTime": "2027-06-01T11:00:00Z"}}  # fmt: skip
    created = cal.events().insert(calendarId="primary", body=body).execute()
    assert created["start"] == {"dateTime": "2027-06-01T09:00:00+01:00", "timeZone": "Europe/London"}
    assert created["end"] == {
        "dateTime": "2027-06-01T12:00:00+01:00"
    }  # the calendar's zone: Alice's Europe/London


def test_fields_gives_a_partial_response(google, gworld):
    cal = service_for(google)
    cal.events().insert(
        calendarId="primary", body=event(id="part00001", extendedProperties={"private": {"k": "v"}})
    ).execute()
    page = (
        cal.events()
        .list(calendarId="primary", fields="items(id,status,extendedProperties/private),nextSyncToken")
        .execute()
    )
    assert set(page) == {"items", "nextSyncToken"}
    assert page["items"] == [
        {"id": "part00001", "status": "confirmed", "extendedProperties": {"private": {"k": "v"}}}
    ]
    one = cal.events().get(calendarId="primary", eventId="part00001", fields="id,etag").execute()
    assert set(one) == {"id", "etag"}
    with pytest.raises(HttpError) as exc:
        cal.events().get(calendarId="primary", eventId="part00001", fields="items(id").execute()
    assert exc.value.status_code == 400 and error_of(exc.value)["errors"][0]["reason"] == "invalidParameter"
