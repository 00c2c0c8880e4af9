"""More of the promises: ids (generated with hypothesis), update/move/conditional get, prompt=none, injected
drops and lost responses through Google's client, per-item faults in a batch, the six-month unused refresh
token, narrower refresh scopes, and a world that survives a restart."""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import httplib2
import pytest
from google.auth.exceptions import RefreshError
from googleapiclient.errors import HttpError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from googleemulator.testing import (
    CALENDAR_SCOPES,
    STANDARD_CLIENT_ID,
    STANDARD_REDIRECT,
    STANDARD_SECRET,
    standard_world,
)
from m365emulator.testing import EmulatorServer
from tests.google_emulator.clients import auth_request, token_credentials
from tests.google_emulator.test_calendar_api import event, service_for

BASE32HEX = "0123456789abcdefghijklmnopqrstuv"
DROPPED = (
    httplib2.HttpLib2Error,
    http.client.HTTPException,
    ConnectionError,
    OSError,
)  # how httplib2 sees a cut


def bearer(google, email="alice@example.org"):
    token = google.gcontrol.post("/tokens", json={"client_id": STANDARD_CLIENT_ID, "email": email}).json()[
        "access_token"
    ]
    return {"Authorization": f"Bearer {token}"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    event_id=st.one_of(st.text(alphabet=BASE32HEX, min_size=5, max_size=40), st.text(min_size=0, max_size=12))
)
def test_client_chosen_ids_are_base32hex_5_to_1024(google, gworld, event_id):
    headers = bearer(google)
    valid = 5 <= len(event_id) <= 1024 and all(c in BASE32HEX for c in event_id)
    with google.http() as http:
        first = http.post(google.gbase + "/calendar/v3/calendars/primary/events", headers=headers,
                          json={"id": event_id, **event()})  # fmt: skip
        if valid:
            assert first.status_code in (200, 409)  # 409: hypothesis repeated an id already inserted
            again = http.post(google.gbase + "/calendar/v3/calendars/primary/events", headers=headers,
                              json={"id": event_id, **event()})  # fmt: skip
            assert again.status_code == 409
        else:
            assert first.status_code == 400 and first.json()["error"]["errors"][0]["reason"] == "invalid"


def test_update_replaces_move_keeps_the_id_and_if_none_match_gives_304(google, gworld):
    cal = service_for(google)
    created = (
        cal.events().insert(calendarId="primary", body=event(id="upd000001", description="keep?")).execute()
    )
    replaced = cal.events().update(calendarId="primary", eventId="upd000001", body=event("New")).execute()
    assert (
        replaced["summary"] == "New"
        and "description" not in replaced
        and replaced["created"] == created["created"]
    )
    with google.http() as http:
        url = google.gbase + "/calendar/v3/calendars/primary/events/upd000001"
        same = http.get(url, headers={**bearer(google), "If-None-Match": replaced["etag"]})
    assert same.status_code == 304
    sync = cal.events().list(calendarId="rota@group.calendar.google.com").execute()["nextSyncToken"]
    moved = (
        cal.events()
        .move(calendarId="primary", eventId="upd000001", destination="rota@group.calendar.google.com")
        .execute()
    )
    assert moved["id"] == "upd000001"
    assert cal.events().get(calendarId="primary", eventId="upd000001").execute()["status"] == "cancelled"
    delta = cal.events().list(calendarId="rota@group.calendar.google.com", syncToken=sync).execute()["items"]
    assert [i["id"] for i in delta] == ["upd000001"]


def test_prompt_none_answers_login_required_without_a_session(google, gworld):
    query = urlencode({"client_id": STANDARD_CLIENT_ID, "redirect_uri": STANDARD_REDIRECT, "response_type": "code",
                       "scope": " ".join(CALENDAR_SCOPES), "prompt": "none", "state": "s1"})  # fmt: skip
    with google.http() as http:
        response = http.get(google.gbase + "/o/oauth2/v2/auth?" + query)
    assert response.status_code == 302
    assert response.headers["location"] == STANDARD_REDIRECT + "?error=login_required&state=s1"


def test_a_dropped_connection_and_a_lost_response_reach_googles_client(google, gworld):
    cal = service_for(google)
    google.gcontrol.put("/faults", json={"drop_rate": 1.0, "remaining": 1}).raise_for_status()
    with pytest.raises(DROPPED):
        cal.events().insert(calendarId="primary", body=event(id="drop00001")).execute()
    with pytest.raises(HttpError) as exc:
        cal.events().get(calendarId="primary", eventId="drop00001").execute()
    assert exc.value.status_code == 404  # dropped: never carried out
    google.gcontrol.put("/faults", json={"lost_response_rate": 1.0, "remaining": 1}).raise_for_status()
    with pytest.raises(DROPPED):
        cal.events().insert(calendarId="primary", body=event(id="lost00001")).execute()
    assert cal.events().get(calendarId="primary", eventId="lost00001").execute()["status"] == "confirmed"
    with pytest.raises(HttpError) as exc:  # the retried insert is a duplicate: the client adopts it
        cal.events().insert(calendarId="primary", body=event(id="lost00001")).execute()
    assert exc.value.status_code == 409


def test_latency_and_per_item_batch_faults(google, gworld):
    cal = service_for(google)
    google.gcontrol.put("/faults", json={"latency_ms": 150}).raise_for_status()
    started = time.monotonic()
    cal.calendarList().list().execute()
    assert time.monotonic() - started >= 0.15
    google.gcontrol.put("/faults", json={"error_rates": {"userRateLimitExceeded": 0.5}, "seed": 3,
                                         "paths": ["/google/calendar/v3"]}).raise_for_status()  # fmt: skip
    answers = {}
    batch = cal.new_batch_http_request(
        callback=lambda rid, resp, exc: answers.__setitem__(rid, exc and exc.status_code)
    )
    for n in range(20):
        batch.add(cal.events().insert(calendarId="primary", body=event(id=f"item{n:05d}")), request_id=str(n))
    batch.execute()  # the batch itself is not on the faulted paths; its items are
    failed = [rid for rid, status in answers.items() if status == 403]
    assert 0 < len(failed) < 20 and all(status in (None, 403) for status in answers.values())
    injected = google.gcontrol.get("/faults").json()["injected"]
    assert injected == len(failed)


def test_an_unused_refresh_token_stops_after_six_months_and_refresh_may_narrow_scopes(google, gworld):
    creds = token_credentials(google, "alice@example.org", CALENDAR_SCOPES)
    with google.http() as http:
        narrow = http.post(google.gbase + "/token", data={"grant_type": "refresh_token", "refresh_token": creds.refresh_token,
                           "client_id": STANDARD_CLIENT_ID, "client_secret": creds.client_secret,
                           "scope": CALENDAR_SCOPES[0]}).json()  # fmt: skip
        assert narrow["scope"] == CALENDAR_SCOPES[0]
        wider = http.post(google.gbase + "/token", data={"grant_type": "refresh_token", "refresh_token": creds.refresh_token,
                          "client_id": STANDARD_CLIENT_ID, "client_secret": creds.client_secret,
                          "scope": "https://www.googleapis.com/auth/calendar"})  # fmt: skip
        assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    google.gcontrol.put("/clock", json={"advance_seconds": 184 * 86400}).raise_for_status()
    with pytest.raises(RefreshError, match="invalid_grant"):
        creds.refresh(auth_request(google))


def test_the_google_world_survives_a_restart(tmp_path):
    with EmulatorServer(state_dir=tmp_path) as emu:
        control = emu.http(base_url=emu.base_url + "/_emulator/google")
        control.post("/seed", json=standard_world()).raise_for_status()
        control.post(
            "/calendars/alice@example.org/events", json={"id": "keep00001", **event()}
        ).raise_for_status()
        control.post("/save").raise_for_status()
        control.close()
    with EmulatorServer(state_dir=tmp_path) as emu:
        control = emu.http(base_url=emu.base_url + "/_emulator/google")
        kept = control.get("/calendars/alice@example.org").json()
        control.close()
    assert [e["id"] for e in kept["events"]] == ["keep00001"]


def test_control_api_rejects_bad_input(google):
    assert google.gcontrol.post("/seed", json={"accounts": [{"email": "x@example.org"}]}).status_code == 400
    assert google.gcontrol.put("/faults", json={"drop_rate": 2}).status_code == 400
    assert google.gcontrol.patch("/settings", json={"nope": 1}).status_code == 400
    assert google.gcontrol.get("/calendars/nobody@example.org").status_code == 404


def test_the_101st_refresh_token_ends_the_oldest(google, gworld):
    first = google.gcontrol.post(
        "/tokens", json={"client_id": STANDARD_CLIENT_ID, "email": "bob@example.org"}
    ).json()
    for _ in range(100):
        google.gcontrol.post("/tokens", json={"client_id": STANDARD_CLIENT_ID, "email": "bob@example.org"})
    with google.http() as http:
        answer = http.post(google.gbase + "/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"],
                           "client_id": STANDARD_CLIENT_ID, "client_secret": STANDARD_SECRET})  # fmt: skip
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_a_reader_may_not_write(google, gworld):
    google.gcontrol.put(
        "/calendars/rota@group.calendar.google.com/acl", json={"email": "carol@gmail.com", "role": "reader"}
    )
    carol = service_for(google, "carol@gmail.com")
    assert (
        carol.events().list(calendarId="rota@group.calendar.google.com").execute()["accessRole"] == "reader"
    )
    with pytest.raises(HttpError) as exc:
        carol.events().insert(calendarId="rota@group.calendar.google.com", body=event()).execute()
    assert (
        exc.value.status_code == 403
        and json.loads(exc.value.content)["error"]["errors"][0]["reason"] == "requiredAccessLevel"
    )


def test_include_granted_scopes_adds_earlier_grants_to_the_new_code(google, gworld):
    from googleemulator.testing import sign_in

    def code_scopes(scopes, include):
        query = urlencode({"client_id": STANDARD_CLIENT_ID, "redirect_uri": STANDARD_REDIRECT, "response_type": "code",
                           "scope": " ".join(scopes), "include_granted_scopes": include, "prompt": "consent"})  # fmt: skip
        with google.http() as http:
            response = sign_in(
                http, google.gbase + "/o/oauth2/v2/auth?" + query, "bob@example.org", "Bob-pw1"
            )
        return set(parse_qs(urlsplit(response.headers["location"]).query)["scope"][0].split())

    assert code_scopes([CALENDAR_SCOPES[0]], "false") == {CALENDAR_SCOPES[0]}
    assert code_scopes([CALENDAR_SCOPES[1]], "false") == {CALENDAR_SCOPES[1]}
    assert code_scopes([CALENDAR_SCOPES[2]], "true") == set(CALENDAR_SCOPES)


def test_prune_forgets_expired_tokens_and_spent_codes(google, gworld):
    body = google.gcontrol.post(
        "/tokens", json={"client_id": STANDARD_CLIENT_ID, "email": "bob@example.org"}
    ).json()
    google.gcontrol.post("/tokens/expire", json={"access_token": body["access_token"]}).raise_for_status()
    state = google.state.google
    assert body["access_token"] in state.access_tokens
    state.prune()
    assert body["access_token"] not in state.access_tokens
