"""Whatever a client sends, the Calendar API answers in Google's shape, never with a 500: hypothesis
generates event bodies, patches and list parameters (the same promise the Graph side keeps)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from googleemulator.testing import STANDARD_CLIENT_ID

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=12),
    st.floats(allow_nan=False, allow_infinity=False),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
when = st.one_of(
    json_values,
    st.fixed_dictionaries({"dateTime": st.one_of(st.just("2027-03-01T09:00:00Z"), st.just("2027-03-01T09:00:00"), json_values)},
                          optional={"timeZone": st.one_of(st.just("Europe/London"), st.just("Mars/Base"), json_values)}),
    st.fixed_dictionaries({"date": st.one_of(st.just("2027-03-01"), json_values)}),
)  # fmt: skip
bodies = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.text(alphabet="0123456789abcdefghijklmnopqrstuv", min_size=5, max_size=12), json_values),
        "summary": json_values, "start": when, "end": when, "recurrence": st.one_of(
            st.lists(st.sampled_from(["RRULE:FREQ=WEEKLY;COUNT=3", "RRULE:FREQ=DAILY;COUNT=x", "RRULE:FREQ=MONTHLY;UNTIL=2027",
                                      "RRULE:FREQ=YEARLY;INTERVAL=0", "RRULE:BYDAY=ZZ", "EXDATE:2027"]), max_size=2), json_values),
        "extendedProperties": st.one_of(json_values, st.fixed_dictionaries({"private": st.dictionaries(st.text(max_size=5), json_values, max_size=2)})),
        "transparency": json_values, "status": json_values, "reminders": json_values,
    },
)  # fmt: skip
params = st.dictionaries(
    st.sampled_from(["maxResults", "timeMin", "timeMax", "singleEvents", "orderBy", "showDeleted", "privateExtendedProperty",
                     "q", "updatedMin", "syncToken", "pageToken", "iCalUID", "minAccessRole", "fields"]),
    st.one_of(st.text(max_size=10), st.just("items(id,start/dateTime),nextPageToken"), st.just("2027-03-01T00:00:00Z"), st.just("true"), st.just("startTime"), st.just("0")),
    max_size=4,
)  # fmt: skip


def token(google):
    return google.gcontrol.post(
        "/tokens", json={"client_id": STANDARD_CLIENT_ID, "email": "alice@example.org"}
    ).json()["access_token"]


def assert_google_shaped(response):
    assert response.status_code < 500, response.text[:500]
    if response.status_code >= 400:
        error = response.json()["error"]
        assert {"code", "message", "errors"} <= set(error) and error["errors"][0]["reason"]


@pytest.fixture
def api(google, gworld):
    """One HTTPS client and one token for all the examples of a test (hypothesis runs them in one call of the
    test function), with the per-user quota off so that the examples' pace is never what answers them."""
    google.gcontrol.patch("/settings", json={"quota_per_user_per_minute": None}).raise_for_status()
    with google.http() as http:
        yield http, {"Authorization": f"Bearer {token(google)}"}


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies, patch=bodies, query=params)
def test_the_api_never_answers_500(google, api, body, patch, query):
    http, headers = api
    base = google.gbase + "/calendar/v3/calendars/primary/events"
    created = http.post(base, headers=headers, json=body)
    assert_google_shaped(created)
    if created.status_code == 200:
        event_id = created.json()["id"]
        assert_google_shaped(http.patch(f"{base}/{event_id}", headers=headers, json=patch))
        assert_google_shaped(http.put(f"{base}/{event_id}", headers=headers, json=patch))
    assert_google_shaped(http.get(base, headers=headers, params=query))
    assert_google_shaped(http.get(base, headers=headers, params={**query, "singleEvents": "true"}))
    assert_google_shaped(
        http.get(google.gbase + "/calendar/v3/users/me/calendarList", headers=headers, params=query)
    )
    assert_google_shaped(http.post(google.gbase + "/calendar/v3/freeBusy", headers=headers, json=patch))
    assert_google_shaped(http.post(base + "/watch", headers=headers, json=patch))


form_values = st.one_of(st.text(max_size=20), st.sampled_from(["authorization_code", "refresh_token", "code", "S256", "offline",
                                                               "consent", "none", STANDARD_CLIENT_ID]))  # fmt: skip
oauth_fields = st.dictionaries(
    st.sampled_from(["grant_type", "code", "refresh_token", "client_id", "client_secret", "redirect_uri", "code_verifier",
                     "scope", "response_type", "access_type", "prompt", "code_challenge", "code_challenge_method",
                     "login_hint", "state", "token", "include_granted_scopes"]),
    form_values, max_size=8,
)  # fmt: skip


def printable(value: str) -> str:
    """A header value httpx will send (visible ASCII), else a dummy token."""
    return "".join(c for c in value if 33 <= ord(c) < 127) or "x"


@pytest.fixture
def http(google, gworld):
    """One HTTPS client for all the examples of a test (hypothesis runs them in one call of the test)."""
    with google.http() as client:
        yield client


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=oauth_fields)
def test_the_oauth_endpoints_never_answer_500(google, http, fields):
    http.cookies.clear()  # each example starts with no sign-in session, as with a client of its own
    for response in (
        http.post(google.gbase + "/token", data=fields),
        http.post(google.gbase + "/revoke", data=fields),
        http.get(google.gbase + "/o/oauth2/v2/auth", params=fields),
        http.post(google.gbase + "/signin/identifier", data={**fields, "flow": "nope"}),
        http.get(
            google.gbase + "/v1/userinfo",
            headers={"Authorization": "Bearer " + printable(fields.get("token", ""))},
        ),
    ):
        assert response.status_code < 500, response.text[:500]
