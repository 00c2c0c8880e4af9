"""Graph: /me, /users/{id}, calendars, authentication errors, scopes, unknown routes."""

from __future__ import annotations

import pytest

from .graph_helpers import app_token, assert_graph_error, client, token_for

MEGAN = "megan@contoso.onmicrosoft.com"


@pytest.fixture
def megan(emulator, world):
    with client(emulator, token_for(emulator, MEGAN)) as http:
        yield http


def test_it_returns_the_signed_in_user(megan, emulator):
    data = megan.get("/me").json()
    user = emulator.state.directory.user_by_login(MEGAN)
    assert data["id"] == user.oid
    assert data["userPrincipalName"] == MEGAN
    assert data["displayName"] == "Megan Bowen"
    assert data["@odata.context"].endswith("$metadata#users/$entity")


def test_it_selects_user_properties(megan):
    data = megan.get("/me", params={"$select": "displayName"}).json()
    assert data["displayName"] == "Megan Bowen"
    assert "mail" not in data


def test_it_lists_the_lazy_default_calendar(megan):
    data = megan.get("/me/calendars").json()
    assert [c["name"] for c in data["value"]] == ["Calendar"]
    cal = data["value"][0]
    assert cal["isDefaultCalendar"] is True
    assert cal["canEdit"] is True
    assert cal["owner"]["address"] == MEGAN
    assert megan.get(f"/me/calendars/{cal['id']}").json()["id"] == cal["id"]
    assert megan.get("/me/calendar").json()["id"] == cal["id"]


def test_it_creates_renames_and_deletes_a_calendar(megan):
    created = megan.post("/me/calendars", json={"name": "ShiftDesk"})
    assert created.status_code == 201
    cal = created.json()
    assert cal["isDefaultCalendar"] is False
    assert_graph_error(megan.post("/me/calendars", json={"name": "shiftdesk"}), 409, "ErrorFolderExists")
    renamed = megan.patch(f"/me/calendars/{cal['id']}", json={"name": "Shifts"})
    assert renamed.json()["name"] == "Shifts"
    assert renamed.json()["changeKey"] != cal["changeKey"]
    assert megan.delete(f"/me/calendars/{cal['id']}").status_code == 204
    assert_graph_error(megan.get(f"/me/calendars/{cal['id']}"), 404, "ErrorItemNotFound")
    default = megan.get("/me/calendar").json()["id"]
    assert_graph_error(megan.delete(f"/me/calendars/{default}"), 400, "ErrorDeleteDistinguishedFolder")


def test_users_path_reaches_the_signed_in_user_by_id_or_upn(megan, emulator):
    oid = emulator.state.directory.user_by_login(MEGAN).oid
    assert megan.get(f"/users/{oid}/calendars").status_code == 200
    assert megan.get(f"/users/{MEGAN}/calendars").status_code == 200
    assert megan.get(f"/users/{MEGAN}").json()["id"] == oid


def test_unknown_user_is_invalid(megan):
    assert_graph_error(megan.get("/users/nobody@contoso.onmicrosoft.com/events"), 404, "ErrorInvalidUser")


def test_another_users_calendar_needs_shared_scope(emulator, world):
    with client(emulator, token_for(emulator, MEGAN)) as http:
        assert_graph_error(http.get("/users/adele@contoso.onmicrosoft.com/events"), 403, "ErrorAccessDenied")
    shared = token_for(emulator, MEGAN, scopes=["User.Read", "Calendars.ReadWrite.Shared"])
    with client(emulator, shared) as http:
        # The scope alone is not enough: Adele must have shared the calendar with Megan.
        assert_graph_error(http.get("/users/adele@contoso.onmicrosoft.com/events"), 403, "ErrorAccessDenied")
        adele = emulator.control.get("/graph/mailboxes/adele@contoso.onmicrosoft.com").json()
        default = next(c["id"] for c in adele["calendars"] if c["isDefaultCalendar"])
        emulator.control.put(f"/graph/mailboxes/adele@contoso.onmicrosoft.com/calendars/{default}/shares/{MEGAN}",
                             json={"role": "read"}).raise_for_status()  # fmt: skip
        assert http.get("/users/adele@contoso.onmicrosoft.com/events").status_code == 200
        # other tenants stay out of reach
        assert_graph_error(http.get("/users/nestor@fabrikam.onmicrosoft.com/events"), 404, "ErrorInvalidUser")


def test_missing_token_is_401(emulator, world):
    with client(emulator, None) as http:
        error = assert_graph_error(http.get("/me/events"), 401, "InvalidAuthenticationToken")
        assert error["message"] == "Access token is empty."
        assert "WWW-Authenticate" in http.get("/me").headers


def test_malformed_token_is_401(emulator, world):
    with client(emulator, "not-a-jwt") as http:
        error = assert_graph_error(http.get("/me"), 401, "InvalidAuthenticationToken")
        assert error["message"].startswith("IDX14100")
    with client(emulator, "aaa.bbb.ccc") as http:
        assert_graph_error(http.get("/me/calendars"), 401, "InvalidAuthenticationToken")


def test_expired_token_is_401_with_documented_message(emulator, world):
    raw = token_for(emulator, MEGAN)
    with client(emulator, raw) as http:
        assert http.get("/me").status_code == 200
        emulator.control.post("/tokens/expire", json={"access_token": raw}).raise_for_status()
        error = assert_graph_error(http.get("/me"), 401, "InvalidAuthenticationToken")
        assert error["message"] == "Access token has expired or is not yet valid."


def test_scopes_are_enforced(emulator, world):
    with client(emulator, token_for(emulator, MEGAN, scopes=["Calendars.Read"])) as http:
        assert http.get("/me/events").status_code == 200
        assert_graph_error(http.post("/me/events", json={}), 403, "ErrorAccessDenied")
        assert_graph_error(http.get("/me"), 403, "Authorization_RequestDenied")
    with client(emulator, token_for(emulator, MEGAN, scopes=["User.Read"])) as http:
        assert http.get("/me").status_code == 200
        assert_graph_error(http.get("/me/calendars"), 403, "ErrorAccessDenied")


def test_app_only_tokens_use_users_paths(emulator, world):
    megan_user = emulator.state.directory.user_by_login(MEGAN)
    with client(emulator, app_token(emulator, megan_user.tenant_id)) as http:
        assert_graph_error(http.get("/me/events"), 400, "BadRequest")
        assert http.get(f"/users/{MEGAN}/calendars").status_code == 200
        assert_graph_error(
            http.get("/users/nestor@fabrikam.onmicrosoft.com/calendars"), 404, "ErrorInvalidUser"
        )


def test_unknown_segment_and_method(megan):
    error = assert_graph_error(megan.get("/me/nonsense"), 400, "BadRequest")
    assert "nonsense" in error["message"]
    assert megan.put("/me/calendars").status_code == 405


def test_client_request_id_is_echoed(megan):
    response = megan.get("/me", headers={"client-request-id": "abc-123"})
    assert response.headers["client-request-id"] == "abc-123"
    assert response.headers["request-id"]
