"""Bad input anywhere in the Graph surface gets a documented 4xx error, never a 500 or a stack trace."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .graph_helpers import client, shift, token_for

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)
event_keys = st.sampled_from(["subject", "start", "end", "showAs", "isAllDay", "body", "location", "recurrence",
                              "singleValueExtendedProperties", "categories", "attendees", "transactionId",
                              "reminderMinutesBeforeStart", "importance"])  # fmt: skip
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def http(emulator_server):
    emulator_server.reset()
    emulator_server.seed()
    with client(emulator_server, token_for(emulator_server, "megan@contoso.onmicrosoft.com")) as session:
        event = session.post("/me/events", json=shift()).json()
        session.event_id = event["id"]
        yield session


def no_500(response):
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["error"]["code"]


@FUZZ
@given(st.dictionaries(event_keys, json_values, max_size=5))
def test_event_bodies(http, data):
    no_500(http.post("/me/events", json={**shift(), **data}))
    no_500(http.patch(f"/me/events/{http.event_id}", json=data))


@FUZZ
@given(
    st.sampled_from(["$filter", "$select", "$orderby", "$top", "$skip", "$expand", "startDateTime"]),
    st.text(max_size=40),
)
def test_query_options(http, name, value):
    no_500(http.get("/me/events", params={name: value}))
    no_500(
        http.get(
            "/me/calendarView",
            params={
                "startDateTime": "2026-12-01T00:00:00Z",
                "endDateTime": "2026-12-08T00:00:00Z",
                name: value,
            },
        )
    )


@FUZZ
@given(
    st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters="?#"), max_size=30)
)
def test_paths(http, tail):
    no_500(http.get("/me/" + tail))
    no_500(http.get("/me/events/" + tail))


@FUZZ
@given(json_values)
def test_batch_and_schedule_bodies(http, data):
    no_500(http.post("/$batch", json=data))
    no_500(http.post("/$batch", json={"requests": [data]}))
    no_500(http.post("/me/calendar/getSchedule", json=data))
    no_500(http.post("/subscriptions", json=data))
