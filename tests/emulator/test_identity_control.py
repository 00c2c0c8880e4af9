"""The control API (identity part): seeding with deterministic ids, validation, revocation, token expiry,
reset, state dump and persistence across a restart."""

from __future__ import annotations

import pytest

from m365emulator.state import EmulatorState
from m365emulator.testing import EmulatorServer, standard_world
from m365emulator.tokens import TokenError, issue_access_token, verify_access_token


def test_seeding_twice_gives_the_same_ids(emulator):
    first = emulator.seed()
    emulator.reset()
    second = emulator.seed()
    assert first == second
    assert first["apps"][0]["secrets"][0]["hint"] == "Sd1"


def test_a_secret_value_is_shown_once(emulator, world):
    cid = world["apps"][0]["client_id"]
    created = emulator.control.post(
        f"/apps/{cid}/secrets", json={"description": "second", "expires_in_days": 365}
    ).json()
    assert len(created["value"]) == 40 and created["hint"] == created["value"][:3]
    app = emulator.control.get(f"/apps/{cid}").json()
    assert created["value"] not in str(app)
    assert [s["hint"] for s in app["secrets"]] == ["Sd1", created["hint"]]


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (
            "/apps",
            {"tenant": "contoso.onmicrosoft.com", "name": "X", "redirect_uris": ["http://example.com/cb"]},
            "https",
        ),
        (
            "/apps",
            {"tenant": "contoso.onmicrosoft.com", "name": "X", "sign_in_audience": "Everyone"},
            "sign_in_audience",
        ),
        (
            "/apps",
            {"tenant": "contoso.onmicrosoft.com", "name": "X", "delegated_permissions": ["Mail.Send"]},
            "Unknown",
        ),
        ("/apps", {"tenant": "nowhere.example", "name": "X"}, "not found"),
        ("/users", {"tenant": "contoso.onmicrosoft.com", "upn": "no-at-sign"}, "upn"),
        ("/tenants", {"display_name": "no domain"}, "domain"),
        ("/seed", {"tenants": "not a list"}, "list"),
        ("/revoke", {"client_id": "nope"}, "not found"),
        ("/tokens/expire", {}, "access_token"),
    ],
)
def test_bad_input_is_a_400_or_404_never_a_500(emulator, world, path, body, message):
    response = emulator.control.post(path, json=body)
    assert response.status_code in (400, 404)
    assert message in response.json()["error"]["message"]


def test_a_non_json_body_is_400(emulator):
    response = emulator.control.post("/seed", content=b"{nope", headers={"content-type": "application/json"})
    assert response.status_code == 400


def test_http_localhost_redirects_are_allowed(emulator, world):
    response = emulator.control.post("/apps", json={
        "tenant": "contoso.onmicrosoft.com", "name": "Local",
        "redirect_uris": ["http://localhost:8000/cb", "http://127.0.0.1:8000/cb"]})  # fmt: skip
    assert response.status_code == 201


def test_expiring_an_access_token_now(emulator, world):
    user = emulator.state.directory.user_by_login("megan@contoso.onmicrosoft.com")
    raw, _ = issue_access_token(emulator.state, client_id="c", app_name="A", tenant_id=user.tenant_id,
                                scopes=["User.Read"], user=user)  # fmt: skip
    assert verify_access_token(emulator.state, raw).oid == user.oid
    emulator.control.post("/tokens/expire", json={"access_token": raw}).raise_for_status()
    with pytest.raises(TokenError) as caught:
        verify_access_token(emulator.state, raw)
    assert caught.value.kind == "expired"


def test_expiring_every_token_of_a_user_spares_later_ones(emulator, world):
    user = emulator.state.directory.user_by_login("megan@contoso.onmicrosoft.com")

    def issue():
        return issue_access_token(emulator.state, client_id="c", app_name="A", tenant_id=user.tenant_id,
                                  scopes=["User.Read"], user=user)[0]  # fmt: skip

    old = issue()
    emulator.control.post("/tokens/expire", json={"user": "megan@contoso.onmicrosoft.com"}).raise_for_status()
    new = issue()
    with pytest.raises(TokenError):
        verify_access_token(emulator.state, old)
    assert verify_access_token(emulator.state, new).oid == user.oid


def test_a_tampered_token_is_invalid(emulator, world):
    user = emulator.state.directory.user_by_login("megan@contoso.onmicrosoft.com")
    raw, _ = issue_access_token(emulator.state, client_id="c", app_name="A", tenant_id=user.tenant_id,
                                scopes=["User.Read"], user=user)  # fmt: skip
    head, body, sig = raw.split(".")
    for bad in (f"{head}.{body}.{sig[:-4]}AAAA", "not-a-jwt", ""):
        with pytest.raises(TokenError) as caught:
            verify_access_token(emulator.state, bad)
        assert caught.value.kind == "invalid"


def test_reset_empties_the_world_and_state_dumps_it(emulator, world):
    dump = emulator.control.get("/state").json()
    assert {u["user_principal_name"] for u in dump["directory"]["users"]} >= {"megan@contoso.onmicrosoft.com"}
    assert "value_hash" in dump["directory"]["apps"][0]["secrets"][0]
    emulator.reset()
    after = emulator.control.get("/state").json()
    assert after["directory"]["users"] == [] and after["directory"]["apps"] == []


def test_the_world_survives_a_restart(tmp_path):
    with EmulatorServer(state_dir=tmp_path) as first:
        seeded = first.seed(standard_world())
        first.control.post("/save").raise_for_status()
        key = (tmp_path / "signing-key.pem").read_bytes()
    reloaded = EmulatorState(tmp_path)
    assert reloaded.directory.user_by_login("pat@outlook.com").oid == seeded["personal_users"][0]["oid"]
    assert reloaded.directory.app(seeded["apps"][0]["client_id"]).secrets[0].hint == "Sd1"
    with EmulatorServer(state_dir=tmp_path) as second:
        assert (tmp_path / "signing-key.pem").read_bytes() == key  # tokens issued before stay valid
        assert second.control.get(f"/apps/{seeded['apps'][0]['client_id']}").status_code == 200


def test_changes_are_saved_on_shutdown_without_an_explicit_save(tmp_path):
    with EmulatorServer(state_dir=tmp_path) as server:
        server.seed(standard_world())
    assert EmulatorState(tmp_path).directory.user_by_login("megan@contoso.onmicrosoft.com") is not None


def test_a_damaged_state_file_does_not_stop_the_emulator(tmp_path):
    (tmp_path / "state.json").write_text("{not json")
    state = EmulatorState(tmp_path)
    assert state.directory.users == {}
    assert list(tmp_path.glob("state.broken-*"))


def test_tokens_can_be_issued_without_a_browser(emulator, world):
    cid = world["apps"][0]["client_id"]
    user = emulator.control.post("/tokens", json={"client_id": cid, "user": "megan@contoso.onmicrosoft.com"})
    assert user.status_code == 201
    claims = verify_access_token(emulator.state, user.json()["access_token"])
    assert claims.scopes == {"User.Read", "Calendars.ReadWrite", "Calendars.ReadWrite.Shared"}
    app = emulator.control.post("/tokens", json={"client_id": cid}).json()
    app_claims = verify_access_token(emulator.state, app["access_token"])
    assert app_claims.app_only and app_claims.scopes == {"Calendars.ReadWrite"}
    assert emulator.control.post("/tokens", json={"client_id": cid, "user": "nobody@x.y"}).status_code == 404


def test_the_openapi_document_lists_every_identity_control_route(emulator):
    from m365emulator.control import identity

    doc = emulator.control.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for route in identity.routes:
        assert route.path in doc["paths"], route.path
        for method in route.methods - {"HEAD"}:
            assert method.lower() in doc["paths"][route.path], (route.path, method)
