"""/token by hand: every grant, Microsoft's error bodies (401 for invalid_client, 400 otherwise)."""

from __future__ import annotations

import base64
import time
import uuid

import pytest

from m365emulator.testing import STANDARD_REDIRECT, STANDARD_SECRET, redirect_params, sign_in
from m365emulator.tokens import verify_access_token
from tests.emulator.test_identity_authorize import VERIFIER, auth_uri, cid

TENANT = "contoso.onmicrosoft.com"


def token_url(emulator, tenant=TENANT):
    return f"{emulator.base_url}/{tenant}/oauth2/v2.0/token"


def get_code(emulator, world, login="megan@contoso.onmicrosoft.com", password="Megan-pw1", **extra):
    with emulator.http() as browser:
        return redirect_params(sign_in(browser, auth_uri(emulator, cid(world), **extra), login, password))[
            "code"
        ]


def redeem(emulator, world, the_code, **overrides):
    data = {
        "client_id": cid(world),
        "client_secret": STANDARD_SECRET,
        "grant_type": "authorization_code",
        "code": the_code,
        "redirect_uri": STANDARD_REDIRECT,
        "code_verifier": VERIFIER,
        "client_info": "1",
    }
    data.update(overrides)
    data = {k: v for k, v in data.items() if v is not None}
    with emulator.http() as http:
        return http.post(token_url(emulator), data=data)


def assert_aad_error(response, status, error, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    for key in ("timestamp", "trace_id", "correlation_id"):
        assert key in body
    assert f"Trace ID: {body['trace_id']}" in body["error_description"]
    assert body["error_uri"] == f"https://login.microsoftonline.com/error?code={code}"
    return body


def test_it_redeems_a_code_once(emulator, world):
    code = get_code(emulator, world)
    ok = redeem(emulator, world, code)
    assert ok.status_code == 200
    body = ok.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "User.Read Calendars.ReadWrite openid profile offline_access"
    assert body["expires_in"] == 3599 and body["ext_expires_in"] == 3599
    assert {"access_token", "refresh_token", "id_token", "client_info"} <= body.keys()
    assert ok.headers["cache-control"].startswith("no-store")
    again = redeem(emulator, world, code)
    assert_aad_error(again, 400, "invalid_grant", 54005)


def test_an_expired_code_is_refused(emulator, world):
    code = get_code(emulator, world)
    with emulator.state.lock:
        emulator.state.directory.codes[code].expires = time.time() - 1
    assert_aad_error(redeem(emulator, world, code), 400, "invalid_grant", 70008)


def test_a_wrong_pkce_verifier_is_refused(emulator, world):
    code = get_code(emulator, world)
    assert_aad_error(redeem(emulator, world, code, code_verifier="w" * 50), 400, "invalid_grant", 501481)


def test_a_missing_pkce_verifier_is_refused(emulator, world):
    code = get_code(emulator, world)
    assert_aad_error(redeem(emulator, world, code, code_verifier=None), 400, "invalid_grant", 501481)


def test_the_plain_pkce_method_and_no_pkce_work(emulator, world):
    plain = get_code(emulator, world, code_challenge="p" * 43, code_challenge_method="plain")
    assert redeem(emulator, world, plain, code_verifier="p" * 43).status_code == 200
    without = get_code(emulator, world, code_challenge=None, code_challenge_method=None)
    assert redeem(emulator, world, without, code_verifier=None).status_code == 200


def test_an_unregistered_redirect_uri_at_the_token_endpoint_is_50011(emulator, world):
    code = get_code(emulator, world)
    assert_aad_error(
        redeem(emulator, world, code, redirect_uri="https://evil.example/cb"), 400, "invalid_request", 50011
    )


def test_a_different_registered_redirect_uri_is_refused(emulator, world):
    emulator.control.post("/apps", json={
        "tenant": "contoso.onmicrosoft.com", "name": "ShiftDesk", "client_id": cid(world),
        "sign_in_audience": "AzureADandPersonalMicrosoftAccount",
        "redirect_uris": [STANDARD_REDIRECT, "https://other.example/cb"],
        "secrets": [{"value": STANDARD_SECRET}],
    }).raise_for_status()  # fmt: skip
    code = get_code(emulator, world)
    assert_aad_error(
        redeem(emulator, world, code, redirect_uri="https://other.example/cb"), 400, "invalid_grant", 500112
    )


def test_a_wrong_secret_is_401_invalid_client(emulator, world):
    code = get_code(emulator, world)
    body = assert_aad_error(
        redeem(emulator, world, code, client_secret="nope"), 401, "invalid_client", 7000215
    )
    assert "not the client secret ID" in body["error_description"]


def test_the_secret_id_pasted_as_the_value_is_an_invalid_secret(emulator, world):
    code = get_code(emulator, world)
    key_id = world["apps"][0]["secrets"][0]["key_id"]
    assert_aad_error(redeem(emulator, world, code, client_secret=key_id), 401, "invalid_client", 7000215)


def test_an_expired_secret_is_401_invalid_client(emulator, world):
    code = get_code(emulator, world)
    key_id = world["apps"][0]["secrets"][0]["key_id"]
    emulator.control.post(f"/apps/{cid(world)}/secrets/{key_id}/expire").raise_for_status()
    assert_aad_error(redeem(emulator, world, code), 401, "invalid_client", 7000222)


def test_no_credential_at_all_is_invalid_client(emulator, world):
    code = get_code(emulator, world)
    assert_aad_error(redeem(emulator, world, code, client_secret=None), 401, "invalid_client", 7000218)


def test_an_unknown_app_is_unauthorized_client(emulator, world):
    body = assert_aad_error(
        redeem(emulator, world, "x", client_id="6731de76-14a6-49ae-97bc-6eba6914391e"),
        400,
        "unauthorized_client",
        700016,
    )
    assert "was not found in the directory 'Contoso'" in body["error_description"]


@pytest.mark.parametrize("missing", ["grant_type", "client_id", "code", "redirect_uri"])
def test_missing_parameters_are_named(emulator, world, missing):
    body = assert_aad_error(
        redeem(emulator, world, "somecode", **{missing: None}), 400, "invalid_request", 900144
    )
    assert f"'{missing}'" in body["error_description"]


def test_an_unknown_tenant_is_90002(emulator, world):
    with emulator.http() as http:
        response = http.post(
            token_url(emulator, "nowhere.onmicrosoft.com"), data={"grant_type": "client_credentials"}
        )
    assert_aad_error(response, 400, "invalid_tenant", 90002)


def test_an_unsupported_grant_type(emulator, world):
    assert_aad_error(
        redeem(emulator, world, "c", grant_type="password"), 400, "unsupported_grant_type", 70003
    )


def test_the_correlation_id_echoes_client_request_id(emulator, world):
    corr = str(uuid.uuid4())
    with emulator.http() as http:
        response = http.post(
            token_url(emulator),
            data={"grant_type": "authorization_code"},
            headers={"client-request-id": corr},
        )
    assert response.json()["correlation_id"] == corr
    assert f"Correlation ID: {corr}" in response.json()["error_description"]


def test_client_secret_basic_works(emulator, world):
    code = get_code(emulator, world)
    basic = base64.b64encode(f"{cid(world)}:{STANDARD_SECRET}".encode()).decode()
    with emulator.http() as http:
        response = http.post(
            token_url(emulator),
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": STANDARD_REDIRECT,
                  "code_verifier": VERIFIER},
            headers={"Authorization": f"Basic {basic}"},
        )  # fmt: skip
    assert response.status_code == 200, response.text


def test_refresh_rotates_and_old_tokens_stay_valid_like_azure(emulator, world):
    body = redeem(emulator, world, get_code(emulator, world)).json()
    data = {"client_id": cid(world), "client_secret": STANDARD_SECRET, "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"], "scope": "User.Read offline_access"}  # fmt: skip
    with emulator.http() as http:
        first = http.post(token_url(emulator), data=data).json()
        second = http.post(token_url(emulator), data=data).json()
    assert first["refresh_token"] != body["refresh_token"] != second["refresh_token"]
    assert first["scope"] == "User.Read offline_access"
    assert verify_access_token(emulator.state, first["access_token"]).scopes == {"User.Read"}


def test_refresh_for_scopes_never_consented_is_65001(emulator, world):
    body = redeem(emulator, world, get_code(emulator, world)).json()
    with emulator.http() as http:
        response = http.post(token_url(emulator), data={
            "client_id": cid(world), "client_secret": STANDARD_SECRET, "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"], "scope": "Calendars.ReadWrite.Shared",
        })  # fmt: skip
    assert_aad_error(response, 400, "invalid_grant", 65001)


def test_an_unknown_refresh_token_is_invalid_grant(emulator, world):
    with emulator.http() as http:
        response = http.post(token_url(emulator), data={
            "client_id": cid(world), "client_secret": STANDARD_SECRET, "grant_type": "refresh_token",
            "refresh_token": "garbage"})  # fmt: skip
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_an_admin_revoking_the_app_kills_every_refresh_token_of_the_tenant(emulator, world):
    body = redeem(emulator, world, get_code(emulator, world)).json()
    revoked = emulator.control.post("/revoke", json={"client_id": cid(world), "tenant": TENANT}).json()
    assert revoked == {"revoked_refresh_tokens": 1}
    with emulator.http() as http:
        response = http.post(token_url(emulator), data={
            "client_id": cid(world), "client_secret": STANDARD_SECRET, "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"]})  # fmt: skip
    assert_aad_error(response, 400, "invalid_grant", 70000)


def test_client_credentials_carry_admin_consented_roles(emulator, world):
    emulator.control.post("/consents", json={"client_id": cid(world), "tenant": TENANT,
                                              "app_roles": ["Calendars.ReadWrite"]}).raise_for_status()  # fmt: skip
    with emulator.http() as http:
        response = http.post(token_url(emulator), data={
            "client_id": cid(world), "client_secret": STANDARD_SECRET, "grant_type": "client_credentials",
            "scope": "https://graph.microsoft.com/.default"})  # fmt: skip
    body = response.json()
    assert set(body) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    claims = verify_access_token(emulator.state, body["access_token"])
    assert claims.app_only and claims.scopes == {"Calendars.ReadWrite"}


@pytest.mark.parametrize(("tenant", "scope", "code"), [
    (TENANT, "User.Read", 1002012),
    ("common", "https://graph.microsoft.com/.default", 50059),
    ("fabrikam.onmicrosoft.com", "https://graph.microsoft.com/.default", 700016),
])  # fmt: skip
def test_client_credentials_errors(emulator, world, tenant, scope, code):
    with emulator.http() as http:
        response = http.post(token_url(emulator, tenant), data={
            "client_id": cid(world), "client_secret": STANDARD_SECRET, "grant_type": "client_credentials",
            "scope": scope})  # fmt: skip
    assert response.status_code == 400 and response.json()["error_codes"] == [code]


def test_a_non_form_body_is_a_documented_error(emulator, world):
    with emulator.http() as http:
        as_json = http.post(token_url(emulator), json={"grant_type": "client_credentials"})
        garbage = http.post(
            token_url(emulator),
            content=b"%zz=\xff&&==",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        bad_basic = http.post(
            token_url(emulator),
            data={"grant_type": "client_credentials"},
            headers={"Authorization": "Basic !!!"},
        )
    assert_aad_error(as_json, 400, "invalid_request", 900144)
    assert garbage.status_code == 400 and bad_basic.status_code == 400


def test_token_requests_are_in_the_request_log_with_the_client_id(emulator, world):
    redeem(emulator, world, get_code(emulator, world))
    log = emulator.control.get(
        "/graph/requests", params={"path_prefix": "/contoso.onmicrosoft.com/oauth2"}
    ).json()
    token_rows = [r for r in log["value"] if r["path"].endswith("/token")]
    assert token_rows[-1]["client_id"] == cid(world)
    assert token_rows[-1]["status"] == 200 and token_rows[-1]["method"] == "POST"
    assert token_rows[-1]["ms"] >= 0


def test_a_propagation_delay_makes_new_apps_and_secrets_fail_for_a_while(emulator, world):
    emulator.control.patch("/identity/settings", json={"propagation_delay_seconds": 300}).raise_for_status()
    new = emulator.control.post(
        "/apps", json={"tenant": TENANT, "name": "Fresh", "secrets": [{"value": "fresh-secret-value"}]}
    ).json()
    data = {"client_id": new["client_id"], "client_secret": "fresh-secret-value", "grant_type": "client_credentials",
            "scope": "https://graph.microsoft.com/.default"}  # fmt: skip
    with emulator.http() as http:
        assert_aad_error(http.post(token_url(emulator), data=data), 400, "unauthorized_client", 700016)
        with emulator.state.lock:  # five minutes later, for the app but not yet for a second secret
            app = emulator.state.directory.app(new["client_id"])
            app.created -= 301
            app.secrets[0].start -= 301
        assert http.post(token_url(emulator), data=data).status_code == 200
        second = emulator.control.post(
            f"/apps/{new['client_id']}/secrets", json={"value": "second-secret"}
        ).json()
        late = http.post(token_url(emulator), data={**data, "client_secret": second["value"]})
        assert_aad_error(late, 401, "invalid_client", 7000215)
    assert emulator.control.get("/identity/settings").json() == {"propagation_delay_seconds": 300}
    assert (
        emulator.control.patch("/identity/settings", json={"propagation_delay_seconds": -1}).status_code
        == 400
    )


@pytest.mark.parametrize(("mode", "wrong_secret_code"), [("after_secret_check", 7000215),
                                                         ("before_secret_check", 50059)])  # fmt: skip
def test_50059_before_or_after_the_secret_check_variant(emulator, world, mode, wrong_secret_code):
    emulator.control.patch("/variants", json={"multitenant_50059": mode}).raise_for_status()
    with emulator.http() as http:
        for tenant in ("organizations", "common"):
            wrong = http.post(token_url(emulator, tenant), data={
                "client_id": cid(world), "client_secret": "not-the-secret", "grant_type": "client_credentials",
                "scope": "https://graph.microsoft.com/.default"})  # fmt: skip
            assert wrong.json()["error_codes"] == [wrong_secret_code]
            right = http.post(token_url(emulator, tenant), data={
                "client_id": cid(world), "client_secret": STANDARD_SECRET, "grant_type": "client_credentials",
                "scope": "https://graph.microsoft.com/.default"})  # fmt: skip
            assert right.json()["error_codes"] == [50059]
        # An unknown Application ID is still refused first, whatever the order of the secret check.
        unknown = http.post(token_url(emulator, "organizations"), data={
            "client_id": "00000000-0000-0000-0000-00000000dead", "client_secret": "x",
            "grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default"})  # fmt: skip
        assert unknown.json()["error_codes"] == [700016]
