"""/adminconsent: a tenant admin grants the app for the whole organization."""

from __future__ import annotations

from urllib.parse import urlencode

from m365emulator.testing import STANDARD_REDIRECT, parse_form, redirect_params, sign_in
from tests.emulator.test_identity_authorize import auth_uri, cid


def admin_uri(emulator, client_id, tenant="contoso.onmicrosoft.com", **extra):
    params = {"client_id": client_id, "redirect_uri": STANDARD_REDIRECT, "state": "adm-1", **extra}
    return f"{emulator.base_url}/{tenant}/adminconsent?{urlencode(params)}"


def test_an_admin_grants_the_app_for_the_tenant(emulator, world):
    emulator.control.patch("/tenants/contoso.onmicrosoft.com", json={"users_may_consent": False})
    with emulator.http() as admin:
        page = sign_in(
            admin, admin_uri(emulator, cid(world)), "adele@contoso.onmicrosoft.com", "Adele-pw1", None
        )
        assert "Permissions requested — Accept for your organization" in page.text
        assert "for all users in your organization" in page.text
        action, fields = parse_form(page.text)
        done = admin.post(emulator.base_url + action, data={**fields, "action": "accept"})
    params = redirect_params(done)
    assert params == {"admin_consent": "True", "tenant": world["tenants"][0]["id"], "state": "adm-1"}
    with emulator.http() as browser:  # now Megan gets in without any consent page
        response = sign_in(
            browser, auth_uri(emulator, cid(world)), "megan@contoso.onmicrosoft.com", "Megan-pw1", None
        )
    assert redirect_params(response)["code"]


def test_an_admin_who_cancels_comes_back_with_permission_denied(emulator, world):
    # entra-docs v2-permissions-and-consent.md, "Request the permissions from a directory admin", error response.
    with emulator.http() as admin:
        response = sign_in(
            admin, admin_uri(emulator, cid(world)), "adele@contoso.onmicrosoft.com", "Adele-pw1", "cancel"
        )
    params = redirect_params(response)
    assert params == {"error": "permission_denied", "error_description": "The admin canceled the request",
                      "state": "adm-1"}  # fmt: skip


def test_an_admin_who_cancels_on_the_v2_endpoint_gets_admin_consent_true_with_an_error(emulator, world):
    # entra-docs v2-admin-consent.md, "Error response": admin_consent=True alongside error=consent_required.
    uri = admin_uri(emulator, cid(world)).replace("/adminconsent?", "/v2.0/adminconsent?")
    with emulator.http() as admin:
        response = sign_in(admin, uri, "adele@contoso.onmicrosoft.com", "Adele-pw1", "cancel")
    params = redirect_params(response)
    assert params["admin_consent"] == "True" and params["error"] == "consent_required"
    assert params["error_description"].startswith("AADSTS65004") and "tenant" not in params


def _approval_return(emulator, world):
    emulator.control.patch("/tenants/contoso.onmicrosoft.com", json={"users_may_consent": False})
    with emulator.http() as browser:
        response = sign_in(
            browser, auth_uri(emulator, cid(world)), "megan@contoso.onmicrosoft.com", "Megan-pw1", "return"
        )
    return redirect_params(response)


def test_need_admin_approval_return_default_is_consent_required(emulator, world):
    params = _approval_return(emulator, world)
    assert params["error"] == "consent_required" and params["error_description"].startswith("AADSTS65001")


def test_need_admin_approval_return_variant_access_denied(emulator, world):
    emulator.control.patch("/variants", json={"admin_approval_return": "access_denied"}).raise_for_status()
    params = _approval_return(emulator, world)
    assert params["error"] == "access_denied" and params["error_description"].startswith("AADSTS65004")
    assert "error_subcode" not in params  # unlike a pressed Cancel


def test_a_non_admin_sees_need_admin_approval(emulator, world):
    with emulator.http() as browser:
        page = sign_in(
            browser, admin_uri(emulator, cid(world)), "megan@contoso.onmicrosoft.com", "Megan-pw1", None
        )
    assert page.status_code == 200 and "Need admin approval" in page.text


def test_an_admin_of_another_tenant_is_refused(emulator, world):
    emulator.control.post("/users", json={"tenant": "fabrikam.onmicrosoft.com", "upn": "boss@fabrikam.onmicrosoft.com",
                                          "password": "Boss-pw1", "is_admin": True})  # fmt: skip
    with emulator.http() as browser:
        page = sign_in(
            browser, admin_uri(emulator, cid(world)), "boss@fabrikam.onmicrosoft.com", "Boss-pw1", None
        )
    assert page.status_code == 400 and "AADSTS50020" in page.text


def test_adminconsent_with_a_wrong_redirect_stays_on_the_error_page(emulator, world):
    with emulator.http() as browser:
        page = browser.get(admin_uri(emulator, cid(world), redirect_uri="https://evil.example/"))
    assert page.status_code == 400 and "AADSTS50011" in page.text
