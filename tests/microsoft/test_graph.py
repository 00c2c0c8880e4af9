"""The typed Graph client against the emulator, and the mapping of Graph failures to typed errors."""

from __future__ import annotations

import datetime as dt
import email.utils

import httpx
import pytest

from shiftdesk.microsoft import errors
from shiftdesk.microsoft.auth import acquire_access_token
from shiftdesk.microsoft.graph import GraphClient, error_for_response, parse_retry_after
from tests.microsoft.conftest import MEGAN


def test_it_reads_me_and_the_calendars_default_first(emulator, connected_bob):
    megan = emulator.state.directory.user_by_login(MEGAN[0])
    emulator.control.post(f"/graph/mailboxes/{megan.oid}/calendars", json={"name": "Aardvark shifts"})
    with GraphClient.for_token(acquire_access_token(connected_bob)) as graph:
        me = graph.get_me()
        calendars = graph.list_calendars()
    assert me.id == megan.oid and me.display_name == "Megan Bowen"
    assert me.user_principal_name == MEGAN[0]
    assert [c.name for c in calendars][:1] == ["Calendar"] and calendars[0].is_default
    assert "Aardvark shifts" in [c.name for c in calendars]


def test_a_bad_token_is_an_authentication_error(emulator, world):
    with (
        GraphClient.for_token("not-a-token") as graph,
        pytest.raises(errors.GraphAuthenticationError) as raised,
    ):
        graph.get_me()
    assert raised.value.status == 401 and raised.value.permanent is False
    assert "not-a-token" not in str(raised.value)


def test_a_missing_item_is_not_found(emulator, connected_bob):
    with GraphClient.for_token(acquire_access_token(connected_bob)) as graph:
        with pytest.raises(errors.GraphNotFound) as raised:
            graph.request("GET", "/me/events/AAMkAGI2THVSAAA=")
    assert raised.value.permanent and raised.value.status == 404 and raised.value.code


def test_throttling_carries_retry_after(emulator, connected_bob):
    token = acquire_access_token(connected_bob)
    emulator.control.put(
        "/faults", json={"status_rates": {"429": 1.0}, "retry_after": 7, "seed": 1}
    ).raise_for_status()
    try:
        with GraphClient.for_token(token) as graph, pytest.raises(errors.GraphThrottled) as raised:
            graph.list_calendars()
    finally:
        emulator.control.delete("/faults")
    assert raised.value.retry_after == 7 and raised.value.permanent is False


def test_an_unreachable_graph_is_transient(settings, db):
    settings.MICROSOFT_GRAPH_URL = "https://127.0.0.1:9"
    with GraphClient.for_token("t") as graph, pytest.raises(errors.GraphUnavailable) as raised:
        graph.get_me()
    assert raised.value.permanent is False


@pytest.mark.parametrize(
    ("status", "kind", "permanent"),
    [
        (400, errors.GraphBadRequest, True),
        (403, errors.GraphAccessDenied, True),
        (404, errors.GraphNotFound, True),
        (409, errors.GraphConflict, False),
        (412, errors.GraphConflict, False),
        (429, errors.GraphThrottled, False),
        (500, errors.GraphUnavailable, False),
        (504, errors.GraphUnavailable, False),
    ],
)
def test_statuses_map_to_typed_errors(status, kind, permanent):
    response = httpx.Response(status, json={"error": {"code": "SomeCode", "message": "Something."}})
    error = error_for_response(response)
    assert type(error) is kind and error.permanent is permanent
    assert error.code == "SomeCode" and error.status == status


def test_retry_after_is_read_defensively():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    when = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30), usegmt=True)
    assert 25 <= parse_retry_after(when) <= 31
    assert parse_retry_after("-5") == 0.0
