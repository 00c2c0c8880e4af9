"""MSAL for Python, unmodified, against the emulator: authorization code + PKCE, silent refresh, errors."""

from __future__ import annotations

import hashlib

import msal
import pytest

from m365emulator.directory import CONSUMERS_TENANT_ID
from m365emulator.testing import STANDARD_REDIRECT, STANDARD_SECRET, redirect_params, sign_in
from m365emulator.tokens import verify_access_token

SCOPES = ["User.Read", "Calendars.ReadWrite"]


def make_app(emulator, client_id, tenant="contoso.onmicrosoft.com", secret=STANDARD_SECRET, cache=None):
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=secret,
        authority=emulator.authority(tenant),
        instance_discovery=False,
        http_client=emulator.requests_session(),
        token_cache=cache,
    )


def sign_in_with_msal(emulator, app, login, password, consent="accept"):
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=STANDARD_REDIRECT, login_hint=login)
    with emulator.http() as browser:
        response = sign_in(browser, flow["auth_uri"], login, password, consent)
    return flow, redirect_params(response)


def client_id(world):
    return world["apps"][0]["client_id"]


def test_it_completes_auth_code_with_pkce_and_consent(emulator, world):
    app = make_app(emulator, client_id(world))
    flow, params = sign_in_with_msal(emulator, app, "megan@contoso.onmicrosoft.com", "Megan-pw1")
    assert params["state"] == flow["state"]
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == "megan@contoso.onmicrosoft.com"
    # MSAL sends the SHA-256 of its nonce and checks the id token carries exactly what it sent.
    assert result["id_token_claims"]["nonce"] == hashlib.sha256(flow["nonce"].encode()).hexdigest()
    assert "refresh_token" in result
    claims = verify_access_token(emulator.state, result["access_token"])
    megan = emulator.state.directory.user_by_login("megan@contoso.onmicrosoft.com")
    assert claims.oid == megan.oid
    assert claims.scopes == frozenset(SCOPES)
    assert claims.client_id == client_id(world)
    accounts = app.get_accounts()
    assert accounts[0]["username"] == "megan@contoso.onmicrosoft.com"
    assert accounts[0]["home_account_id"] == f"{megan.oid}.{megan.tenant_id}"


def test_it_refreshes_silently_with_a_rotated_refresh_token(emulator, world):
    cache = msal.SerializableTokenCache()
    app = make_app(emulator, client_id(world), cache=cache)
    flow, params = sign_in_with_msal(emulator, app, "megan@contoso.onmicrosoft.com", "Megan-pw1")
    first = app.acquire_token_by_auth_code_flow(flow, params)
    account = app.get_accounts()[0]
    cached = app.acquire_token_silent(SCOPES, account=account)
    assert cached["access_token"] == first["access_token"]  # served from MSAL's cache: scopes matched
    refreshed = app.acquire_token_silent(SCOPES, account=account, force_refresh=True)
    assert refreshed["access_token"] != first["access_token"]
    assert refreshed["refresh_token"] != first["refresh_token"]
    verify_access_token(emulator.state, refreshed["access_token"])


def test_it_reports_a_revoked_refresh_token_as_invalid_grant(emulator, world):
    app = make_app(emulator, client_id(world))
    flow, params = sign_in_with_msal(emulator, app, "megan@contoso.onmicrosoft.com", "Megan-pw1")
    app.acquire_token_by_auth_code_flow(flow, params)
    emulator.control.post(
        "/revoke", json={"client_id": client_id(world), "user": "megan@contoso.onmicrosoft.com"}
    ).raise_for_status()
    result = app.acquire_token_silent_with_error(SCOPES, account=app.get_accounts()[0], force_refresh=True)
    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [70000]


@pytest.mark.parametrize(
    ("mutate", "code"),
    [("password", 50173), ("expire", 700082)],
)
def test_it_reports_dead_refresh_tokens(emulator, world, mutate, code):
    app = make_app(emulator, client_id(world))
    flow, params = sign_in_with_msal(emulator, app, "megan@contoso.onmicrosoft.com", "Megan-pw1")
    first = app.acquire_token_by_auth_code_flow(flow, params)
    if mutate == "password":
        emulator.control.post("/users/megan@contoso.onmicrosoft.com/password", json={"password": "New-pw2"})
    else:
        emulator.control.post("/tokens/expire", json={"refresh_token": first["refresh_token"]})
    result = app.acquire_token_silent_with_error(SCOPES, account=app.get_accounts()[0], force_refresh=True)
    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [code]
    assert result["error_description"].startswith(f"AADSTS{code}: ")


@pytest.mark.parametrize(
    ("authority", "login", "password", "tenant_index"),
    [
        ("common", "pat@outlook.com", "Pat-pw1", None),
        ("consumers", "pat@outlook.com", "Pat-pw1", None),
        ("organizations", "nestor@fabrikam.onmicrosoft.com", "Nestor-pw1", 1),
        ("common", "megan@contoso.onmicrosoft.com", "Megan-pw1", 0),
    ],
)
def test_multi_tenant_authorities_admit_the_right_accounts(
    emulator, world, authority, login, password, tenant_index
):
    app = make_app(emulator, client_id(world), tenant=authority)
    flow, params = sign_in_with_msal(emulator, app, login, password)
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert "access_token" in result, result
    expected_tid = world["tenants"][tenant_index]["id"] if tenant_index is not None else CONSUMERS_TENANT_ID
    assert result["id_token_claims"]["tid"] == expected_tid
    assert result["id_token_claims"]["iss"] == f"{emulator.base_url}/{expected_tid}/v2.0"
    assert verify_access_token(emulator.state, result["access_token"]).tid == expected_tid


def test_a_serialized_cache_refreshes_in_a_new_application_object(emulator, world):
    cache = msal.SerializableTokenCache()
    app = make_app(emulator, client_id(world), cache=cache)
    flow, params = sign_in_with_msal(emulator, app, "megan@contoso.onmicrosoft.com", "Megan-pw1")
    app.acquire_token_by_auth_code_flow(flow, params)
    saved = cache.serialize()  # what the product stores between requests

    restored = msal.SerializableTokenCache()
    restored.deserialize(saved)
    later = make_app(emulator, client_id(world), cache=restored)
    account = later.get_accounts(username="megan@contoso.onmicrosoft.com")[0]
    result = later.acquire_token_silent(SCOPES, account=account, force_refresh=True)
    assert verify_access_token(emulator.state, result["access_token"]).scopes == frozenset(SCOPES)
    assert restored.has_state_changed  # the rotated refresh token is in the cache to save again


def test_msal_surfaces_a_cancelled_consent(emulator, world):
    app = make_app(emulator, client_id(world))
    flow, params = sign_in_with_msal(
        emulator, app, "megan@contoso.onmicrosoft.com", "Megan-pw1", consent="cancel"
    )
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert result["error"] == "access_denied"
    assert result["error_description"].startswith("AADSTS65004")


def test_msal_surfaces_need_admin_approval(emulator, world):
    emulator.control.patch("/tenants/contoso.onmicrosoft.com", json={"users_may_consent": False})
    app = make_app(emulator, client_id(world))
    flow, params = sign_in_with_msal(
        emulator, app, "megan@contoso.onmicrosoft.com", "Megan-pw1", consent="return"
    )
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert result["error"] == "consent_required"
    assert result["error_description"].startswith("AADSTS65001")
