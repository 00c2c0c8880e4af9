"""/authorize and its pages: login, consent, "Need admin approval", error page vs redirect errors."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlencode

from m365emulator.testing import STANDARD_REDIRECT, parse_form, redirect_params, sign_in

VERIFIER = "v" * 50
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


def auth_uri(emulator, client_id, tenant="contoso.onmicrosoft.com", **extra):
    params = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": STANDARD_REDIRECT,
        "scope": "User.Read Calendars.ReadWrite openid profile offline_access",
        "state": "st-123",
        "nonce": "n-456",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        "response_mode": "query",
    }
    params.update(extra)
    params = {k: v for k, v in params.items() if v is not None}
    return f"{emulator.base_url}/{tenant}/oauth2/v2.0/authorize?{urlencode(params)}"


def cid(world):
    return world["apps"][0]["client_id"]


def test_it_shows_a_login_form_with_the_login_hint(emulator, world):
    with emulator.http() as browser:
        page = browser.get(auth_uri(emulator, cid(world), login_hint="megan@contoso.onmicrosoft.com"))
    assert page.status_code == 200
    assert "Email, phone, or Skype" in page.text and "Password" in page.text
    action, fields = parse_form(page.text)
    assert action == "/contoso.onmicrosoft.com/login"
    assert fields["login"] == "megan@contoso.onmicrosoft.com"
    assert "to continue to ShiftDesk" in page.text
    assert "ESTSAUTH" not in page.headers.get("set-cookie", "")


def test_it_rejects_a_wrong_password_on_the_login_page(emulator, world):
    with emulator.http() as browser:
        page = sign_in(browser, auth_uri(emulator, cid(world)), "megan@contoso.onmicrosoft.com", "wrong")
    assert page.status_code == 200
    assert "Your account or password is incorrect." in page.text
    assert "AADSTS50126" in page.text


def test_it_says_an_unknown_username_may_be_incorrect(emulator, world):
    with emulator.http() as browser:
        page = sign_in(browser, auth_uri(emulator, cid(world)), "nobody@contoso.onmicrosoft.com", "x")
    assert "This username may be incorrect." in page.text
    assert "AADSTS50034" in page.text


def test_it_lists_the_requested_permissions_and_redirects_with_a_code(emulator, world):
    with emulator.http() as browser:
        page = browser.get(auth_uri(emulator, cid(world)))
        action, fields = parse_form(page.text)
        consent = browser.post(
            emulator.base_url + action,
            data={**fields, "login": "megan@contoso.onmicrosoft.com", "passwd": "Megan-pw1"},
        )
        assert "Permissions requested" in consent.text
        for wording in (
            "Sign you in and read your profile",
            "Have full access to your calendars",
            "Maintain access to data you have given it access to",
            "View your basic profile",
        ):
            assert wording in consent.text
        assert "Consent on behalf of your organization" not in consent.text  # Megan is no admin
        action, fields = parse_form(consent.text)
        done = browser.post(emulator.base_url + action, data={**fields, "action": "accept"})
    params = redirect_params(done)
    assert done.headers["location"].startswith(STANDARD_REDIRECT + "?")
    assert params["state"] == "st-123"
    assert params["code"]


def test_it_reuses_the_session_and_skips_consent_already_given(emulator, world):
    with emulator.http() as browser:
        redirect_params(
            sign_in(browser, auth_uri(emulator, cid(world)), "megan@contoso.onmicrosoft.com", "Megan-pw1")
        )
        again = browser.get(auth_uri(emulator, cid(world)))
        assert redirect_params(again)["code"]
        forced = browser.get(auth_uri(emulator, cid(world), prompt="login"))
        assert 'name="passwd"' in forced.text
        reconsent = browser.get(auth_uri(emulator, cid(world), prompt="consent"))
        assert "Permissions requested" in reconsent.text


def test_prompt_none_without_a_session_answers_login_required(emulator, world):
    with emulator.http() as browser:
        response = browser.get(auth_uri(emulator, cid(world), prompt="none"))
    params = redirect_params(response)
    assert params["error"] == "login_required"
    assert params["error_description"].startswith("AADSTS50058: ")
    assert params["state"] == "st-123"


def test_cancel_on_consent_comes_back_as_access_denied(emulator, world):
    with emulator.http() as browser:
        response = sign_in(
            browser,
            auth_uri(emulator, cid(world)),
            "megan@contoso.onmicrosoft.com",
            "Megan-pw1",
            consent="cancel",
        )
    params = redirect_params(response)
    assert params["error"] == "access_denied"
    assert params["error_subcode"] == "cancel"
    assert params["error_description"].startswith("AADSTS65004: User declined to consent to access the app.")
    assert "Trace ID: " in params["error_description"] and "Correlation ID: " in params["error_description"]
    assert params["state"] == "st-123"


def test_users_who_may_not_consent_see_need_admin_approval(emulator, world):
    emulator.control.patch(
        "/tenants/contoso.onmicrosoft.com", json={"users_may_consent": False}
    ).raise_for_status()
    with emulator.http() as browser:
        page = sign_in(
            browser, auth_uri(emulator, cid(world)), "megan@contoso.onmicrosoft.com", "Megan-pw1", None
        )
        assert page.status_code == 200
        assert "Need admin approval" in page.text
        assert (
            "needs permission to access resources in your organization that only an admin can grant"
            in page.text
        )
        assert "AADSTS90094" in page.text
        action, fields = parse_form(page.text)
        back = browser.post(emulator.base_url + action, data={**fields, "action": "return"})
    params = redirect_params(back)
    assert params["error"] == "consent_required"
    assert params["error_description"].startswith("AADSTS65001: ")


def test_an_admin_may_consent_for_the_whole_organization(emulator, world):
    emulator.control.patch("/tenants/contoso.onmicrosoft.com", json={"users_may_consent": False})
    with emulator.http() as admin:
        page = sign_in(
            admin, auth_uri(emulator, cid(world)), "adele@contoso.onmicrosoft.com", "Adele-pw1", None
        )
        assert "Consent on behalf of your organization" in page.text
        action, fields = parse_form(page.text)
        redirect_params(
            admin.post(emulator.base_url + action, data={**fields, "consent_org": "1", "action": "accept"})
        )
    with emulator.http() as browser:
        response = sign_in(
            browser, auth_uri(emulator, cid(world)), "megan@contoso.onmicrosoft.com", "Megan-pw1", None
        )
    assert redirect_params(response)["code"]  # no consent page for Megan any more


def test_unknown_client_stays_on_the_error_page(emulator, world):
    with emulator.http() as browser:
        page = browser.get(auth_uri(emulator, "6731de76-14a6-49ae-97bc-6eba6914391e"))
    assert page.status_code == 400
    assert "location" not in page.headers
    assert (
        "AADSTS700016: Application with identifier &#39;6731de76-14a6-49ae-97bc-6eba6914391e&#39;"
        in page.text
    )
    assert "Correlation Id" in page.text


def test_a_redirect_uri_mismatch_stays_on_the_error_page(emulator, world):
    with emulator.http() as browser:
        page = browser.get(auth_uri(emulator, cid(world), redirect_uri="https://evil.example/cb"))
    assert page.status_code == 400
    assert "location" not in page.headers
    assert "AADSTS50011" in page.text


def test_an_unknown_tenant_stays_on_the_error_page(emulator, world):
    with emulator.http() as browser:
        page = browser.get(auth_uri(emulator, cid(world), tenant="nowhere.onmicrosoft.com"))
    assert page.status_code == 400
    assert "AADSTS90002: Tenant &#39;nowhere.onmicrosoft.com&#39; not found." in page.text


def test_a_missing_client_id_is_a_missing_parameter(emulator, world):
    with emulator.http() as browser:
        page = browser.get(auth_uri(emulator, None))
    assert page.status_code == 400
    assert "AADSTS900144" in page.text


def test_a_single_tenant_app_on_common_is_refused(emulator, world):
    app = emulator.control.post(
        "/apps",
        json={"tenant": "contoso.onmicrosoft.com", "name": "Inside", "redirect_uris": [STANDARD_REDIRECT]},
    ).json()
    with emulator.http() as browser:
        page = browser.get(auth_uri(emulator, app["client_id"], tenant="common"))
        assert "AADSTS50194" in page.text and page.status_code == 400
        organizations = browser.get(auth_uri(emulator, app["client_id"], tenant="organizations"))
        assert "AADSTS50194" in organizations.text
        elsewhere = browser.get(auth_uri(emulator, app["client_id"], tenant="fabrikam.onmicrosoft.com"))
        assert "AADSTS700016" in elsewhere.text


def test_a_personal_account_cannot_use_a_single_tenant_app(emulator, world):
    app = emulator.control.post(
        "/apps",
        json={"tenant": "contoso.onmicrosoft.com", "name": "Inside", "redirect_uris": [STANDARD_REDIRECT]},
    ).json()
    with emulator.http() as browser:
        page = sign_in(browser, auth_uri(emulator, app["client_id"]), "pat@outlook.com", "Pat-pw1")
    assert page.status_code == 400
    assert (
        "AADSTS50020: User account &#39;pat@outlook.com&#39; from identity provider &#39;live.com&#39;"
        in page.text
    )


def test_a_personal_account_signs_in_through_common(emulator, world):
    with emulator.http() as browser:
        page = sign_in(
            browser, auth_uri(emulator, cid(world), tenant="common"), "pat@outlook.com", "Pat-pw1", None
        )
        assert "Let this app access your info?" in page.text
        assert ">Yes</button>" in page.text and ">No</button>" in page.text
        response = sign_in(
            browser, auth_uri(emulator, cid(world), tenant="common"), "pat@outlook.com", "Pat-pw1"
        )
    assert redirect_params(response)["code"]


def test_organizations_refuses_personal_and_consumers_refuses_work_accounts(emulator, world):
    with emulator.http() as browser:
        page = sign_in(
            browser, auth_uri(emulator, cid(world), tenant="organizations"), "pat@outlook.com", "Pat-pw1"
        )
        assert "AADSTS50020" in page.text
    with emulator.http() as browser:
        page = sign_in(
            browser,
            auth_uri(emulator, cid(world), tenant="consumers"),
            "megan@contoso.onmicrosoft.com",
            "Megan-pw1",
        )
        assert "AADSTS50020" in page.text


def test_a_user_of_another_tenant_cannot_use_the_tenant_authority(emulator, world):
    with emulator.http() as browser:
        page = sign_in(
            browser, auth_uri(emulator, cid(world)), "nestor@fabrikam.onmicrosoft.com", "Nestor-pw1"
        )
    assert "AADSTS50020" in page.text


def test_request_errors_go_back_to_the_app(emulator, world):
    with emulator.http() as browser:
        no_scope = redirect_params(browser.get(auth_uri(emulator, cid(world), scope=None)))
        bad_type = redirect_params(browser.get(auth_uri(emulator, cid(world), response_type="token")))
        bad_scope = redirect_params(browser.get(auth_uri(emulator, cid(world), scope="Bogus.Scope")))
    assert no_scope["error"] == "invalid_request" and no_scope["error_description"].startswith("AADSTS900144")
    assert bad_type["error"] == "unsupported_response_type"
    assert bad_scope["error"] == "invalid_scope" and bad_scope["error_description"].startswith("AADSTS70011")
    assert no_scope["state"] == bad_type["state"] == "st-123"


def test_fragment_and_form_post_response_modes(emulator, world):
    with emulator.http() as browser:
        redirect_params(
            sign_in(browser, auth_uri(emulator, cid(world)), "megan@contoso.onmicrosoft.com", "Megan-pw1")
        )
        fragment = browser.get(auth_uri(emulator, cid(world), response_mode="fragment"))
        assert "#code=" in fragment.headers["location"]
        form_post = browser.get(auth_uri(emulator, cid(world), response_mode="form_post"))
    action, fields = parse_form(form_post.text)
    assert action == STANDARD_REDIRECT
    assert fields["code"] and fields["state"] == "st-123"


def test_logout_ends_the_session_and_returns_to_a_registered_uri(emulator, world):
    with emulator.http() as browser:
        redirect_params(
            sign_in(browser, auth_uri(emulator, cid(world)), "megan@contoso.onmicrosoft.com", "Megan-pw1")
        )
        out = browser.get(
            f"{emulator.base_url}/common/oauth2/v2.0/logout?post_logout_redirect_uri={STANDARD_REDIRECT}"
        )
        assert out.status_code == 302 and out.headers["location"] == STANDARD_REDIRECT
        again = browser.get(auth_uri(emulator, cid(world)))
        assert 'name="passwd"' in again.text
        elsewhere = browser.get(
            f"{emulator.base_url}/common/oauth2/v2.0/logout?post_logout_redirect_uri=https://evil.example/"
        )
    assert elsewhere.status_code == 200 and "You signed out of your account" in elsewhere.text


def test_garbage_parameters_never_crash(emulator, world):
    with emulator.http() as browser:
        for query in ("client_id=%00%ff", "client_id=" + "x" * 5000, "client_id[]=1", "scope=%20"):
            response = browser.get(f"{emulator.base_url}/common/oauth2/v2.0/authorize?{query}")
            assert response.status_code == 400, query
        posted = browser.post(
            f"{emulator.base_url}/common/login",
            content=b"\xff\xfe",
            headers={"content-type": "multipart/form-data"},
        )
        assert posted.status_code == 400
        consent = browser.post(f"{emulator.base_url}/common/Consent/Set", data={"ctx": "nope"})
        assert consent.status_code == 400
