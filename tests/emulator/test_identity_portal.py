"""The app-registration portal, walked over HTTP exactly as the seed's Step 1 describes, then used by MSAL."""

from __future__ import annotations

import contextlib
import re

import msal

from m365emulator.testing import parse_form

REDIRECT = "https://shiftdesk.example/microsoft/callback"


@contextlib.contextmanager
def signed_in(emulator, login="adele@contoso.onmicrosoft.com", password="Adele-pw1"):
    with emulator.http(base_url=emulator.base_url, follow_redirects=True) as browser:
        page = browser.get("/portal/")
        assert "Email, phone, or Skype" in page.text
        page = browser.post("/portal/signin", data={"login": login, "passwd": password})
        assert "App registrations" in page.text and "New registration" in page.text
        yield browser


def csrf_of(page):
    return parse_form(page.text)[1]["csrf"]


def register(browser, name="ShiftDesk", audience="AzureADandPersonalMicrosoftAccount", uri=REDIRECT):
    page = browser.get("/portal/register")
    assert "Supported account types" in page.text and "Redirect URI (optional)" in page.text
    assert "Accounts in this organizational directory only (Contoso only - Single tenant)" in page.text
    return browser.post(
        "/portal/register",
        data={
            "csrf": csrf_of(page),
            "name": name,
            "sign_in_audience": audience,
            "platform": "web",
            "redirect_uri": uri,
        },
    )


def test_step_1_registers_an_app_that_msal_can_use(emulator, world):
    with signed_in(emulator) as browser:
        overview = register(browser)
        assert overview.status_code == 200
        assert "Successfully created application ShiftDesk" in overview.text
        client_id = re.search(r'id="client-id">([^<]+)<', overview.text).group(1)
        tenant_id = re.search(r'id="tenant-id">([^<]+)<', overview.text).group(1)
        assert tenant_id == world["tenants"][0]["id"]
        assert "Application (client) ID" in overview.text and "Directory (tenant) ID" in overview.text

        secrets_page = browser.get(f"/portal/apps/{client_id}/credentials")
        assert "Certificates &amp; secrets" in secrets_page.text and "New client secret" in secrets_page.text
        form_page = browser.get(f"/portal/apps/{client_id}/credentials/new")
        assert "Add a client secret" in form_page.text
        for option in ("180 days (6 months)", "365 days (12 months)", "730 days (24 months)", "Custom"):
            assert option in form_page.text
        created = browser.post(
            f"/portal/apps/{client_id}/credentials/new",
            data={"csrf": csrf_of(form_page), "description": "ShiftDesk", "expires": "730"},
        )
        assert "Client secret values cannot be viewed, except for immediately after creation" in created.text
        value = re.search(r'<td class="value">([^<]+)</td>', created.text).group(1)
        secret_id = re.search(r'<td class="secret-id">([^<]+)</td>', created.text).group(1)
        assert len(value) == 40 and value != secret_id
        later = browser.get(f"/portal/apps/{client_id}/credentials")
        assert value not in later.text and f"{value[:3]}******" in later.text

        add = browser.get(f"/portal/apps/{client_id}/permissions/add")
        assert "Microsoft Graph" in add.text
        assert (
            "Delegated permissions" in browser.get(f"/portal/apps/{client_id}/permissions/add?api=graph").text
        )
        delegated = browser.get(f"/portal/apps/{client_id}/permissions/add?api=graph&type=delegated")
        assert "offline_access" in delegated.text and "Calendars.ReadWrite.Shared" in delegated.text
        perms = browser.post(
            f"/portal/apps/{client_id}/permissions/add",
            data={
                "csrf": csrf_of(delegated),
                "type": "delegated",
                "permission": ["offline_access", "Calendars.ReadWrite", "Calendars.ReadWrite.Shared"],
            },
        )
        assert "Configured permissions" in perms.text
        for name in ("User.Read", "offline_access", "Calendars.ReadWrite", "Calendars.ReadWrite.Shared"):
            assert f"<td>{name}</td>" in perms.text
        assert "Grant admin consent for Contoso" in perms.text  # Adele is an admin

    app = msal.ConfidentialClientApplication(
        client_id,
        client_credential=value,
        authority=f"{emulator.base_url}/{tenant_id}",
        instance_discovery=False,
        http_client=emulator.requests_session(),
    )
    flow = app.initiate_auth_code_flow(["User.Read", "Calendars.ReadWrite"], redirect_uri=REDIRECT)
    assert flow["auth_uri"].startswith(emulator.base_url)
    wrong = msal.ConfidentialClientApplication(
        client_id,
        client_credential=secret_id,
        authority=f"{emulator.base_url}/{tenant_id}",
        instance_discovery=False,
        http_client=emulator.requests_session(),
    )
    assert wrong.acquire_token_for_client(["https://graph.microsoft.com/.default"])["error_codes"] == [
        7000215
    ]


def test_registration_rejects_http_redirects_and_empty_names(emulator, world):
    with signed_in(emulator) as browser:
        bad = register(browser, uri="http://shiftdesk.example/cb")
        assert bad.status_code == 400 and "https" in bad.text
        nameless = register(browser, name="")
        assert nameless.status_code == 400 and "Name is required." in nameless.text
        local = register(browser, uri="http://localhost:8000/cb")
        assert local.status_code == 200


def test_a_custom_expiry_and_admin_consent(emulator, world):
    with signed_in(emulator) as browser:
        overview = register(browser)
        client_id = re.search(r'id="client-id">([^<]+)<', overview.text).group(1)
        form_page = browser.get(f"/portal/apps/{client_id}/credentials/new")
        past = browser.post(
            f"/portal/apps/{client_id}/credentials/new",
            data={"csrf": csrf_of(form_page), "expires": "custom", "end": "2001-01-01"},
        )
        assert past.status_code == 400 and "must be in the future" in past.text
        perms = browser.get(f"/portal/apps/{client_id}/permissions")
        consent_form = parse_form(perms.text, 1)[1]  # form 0 is Sign out in the header
        granted = browser.post(f"/portal/apps/{client_id}/permissions/consent", data=consent_form)
        assert "Successfully granted admin consent" in granted.text and "Granted for Contoso" in granted.text


def test_users_see_only_their_directory_and_forms_need_the_session_token(emulator, world):
    with signed_in(emulator, "nestor@fabrikam.onmicrosoft.com", "Nestor-pw1") as browser:
        other = browser.get(f"/portal/apps/{world['apps'][0]['client_id']}/credentials")
        assert other.status_code == 404
        assert "ShiftDesk" not in browser.get("/portal/").text
        forged = browser.post(
            "/portal/register", data={"csrf": "forged", "name": "X", "sign_in_audience": "AzureADMyOrg"}
        )
        assert forged.status_code == 400
        perms = browser.get("/portal/register")
        assert "Grant admin consent" not in perms.text


def test_signed_out_visitors_are_sent_to_sign_in(emulator, world):
    with emulator.http(base_url=emulator.base_url) as browser:
        for path in ("/portal/", "/portal/register", f"/portal/apps/{world['apps'][0]['client_id']}"):
            response = browser.get(path)
            assert response.status_code == 303 and response.headers["location"] == "/portal/signin"
        wrong = browser.post(
            "/portal/signin", data={"login": "adele@contoso.onmicrosoft.com", "passwd": "no"}
        )
        assert "Your account or password is incorrect" in wrong.text
