"""Identity answers Microsoft leaves open, end to end through the emulator over HTTPS and ShiftDesk's real views:
- point 5: AADSTS50059 before or after the secret check (variant multitenant_50059). Save Settings of a
  multi-tenant type never calls the secret verified; the first successful authorization proves it (who and
  when on the box); a 7000215 at code redemption tells the admin "App ID or Secret is incorrect".
- point 6: admin-consent declines (documented forms) are declines; the return from "Need admin approval"
  (variant admin_approval_return, both answers) guides the user to the admin-consent path, not "You cancelled"."""

from __future__ import annotations

import pytest
from django.test import Client

from m365emulator.testing import redirect_params, sign_in
from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.microsoft.models import AzureADSettings
from tests.microsoft.conftest import MEGAN, SECRET, authorize

SETTINGS = "/admin/integrations/azure/"
WRONG = "wrong8Q~secretvalue-0000000000000000000"


def save(client, app_id, secret=SECRET, **extra):
    data = {"application_id": app_id, "client_secret": secret, "secret_expires_on": "2030-01-31",
            "account_type": "multi_personal", "tenant_id": "", "enabled": "enabled", **extra}  # fmt: skip
    return client.post(SETTINGS, data)


@pytest.fixture
def admin(alice):
    """Alice (system admin) in her own browser, apart from Bob's."""
    browser = Client()
    browser.force_login(alice)
    return browser


def box(client) -> str:
    return client.get("/admin/integrations/").content.decode()


@pytest.mark.parametrize("order", ["after_secret_check", "before_secret_check"])
def test_the_first_authorization_proves_the_secret_with_who_and_when(admin, bob, bob_client, emulator,
                                                                      app_id, order):  # fmt: skip
    emulator.control.patch("/variants", json={"multitenant_50059": order}).raise_for_status()
    assert save(admin, app_id).status_code == 302
    saved = AzureADSettings.load()
    assert saved.verified_at is None and saved.app_id_accepted_at is not None
    assert "Application ID accepted; Microsoft will check the secret at the first authorization." in box(
        admin
    )

    response, _ = authorize(bob_client, emulator, *MEGAN)
    assert response.status_code == 302 and CalendarConnection.objects.filter(user=bob).exists()
    proven = AzureADSettings.load()
    assert (
        proven.verified_at is not None
        and proven.verified_by == bob
        and proven.verified_via == "authorization"
    )
    html = box(admin)
    assert "at the first authorization by" in html and bob.get_full_name() in html
    assert "Microsoft will check the secret" not in html


def test_a_wrong_secret_accepted_by_50059_is_reported_to_the_admin_at_the_first_authorization(
    admin, bob_client, emulator, app_id
):
    # The order in which Microsoft would let a wrong secret through Save Settings.
    emulator.control.patch("/variants", json={"multitenant_50059": "before_secret_check"}).raise_for_status()
    assert save(admin, app_id, secret=WRONG).status_code == 302
    assert "Microsoft accepted the Application ID and credentials" not in box(admin)

    response, params = authorize(bob_client, emulator, *MEGAN)
    assert "code" in params  # the user got through Microsoft's pages; the redemption is what fails
    assert not CalendarConnection.objects.exists()
    user_page = bob_client.get("/account/calendar-sync/").content.decode()
    assert "Microsoft refused ShiftDesk&#x27;s app credentials (AADSTS7000215)" in user_page
    saved = AzureADSettings.load()
    assert saved.verified_at is None and "App ID or Secret is incorrect" in saved.credentials_problem
    html = box(admin)
    assert "App ID or Secret is incorrect" in html and "AADSTS7000215" in html
    # Saving the right secret clears the report; the next authorization proves it.
    assert save(admin, app_id).status_code == 302
    assert AzureADSettings.load().credentials_problem == ""
    authorize(bob_client, emulator, *MEGAN)
    assert AzureADSettings.load().verified_via == "authorization"


def test_an_admin_who_declines_admin_consent_is_told_it_was_declined(alice_client, emulator, azure):
    start = alice_client.get("/admin/integrations/azure/admin-consent/")
    with emulator.http() as browser:
        response = sign_in(browser, start["Location"], "adele@contoso.onmicrosoft.com", "Adele-pw1", "cancel")
    params = redirect_params(response)
    assert params["error"] == "permission_denied"
    done = alice_client.get("/microsoft/oauth2/callback/", params, follow=True).content.decode()
    assert "Admin consent was declined at Microsoft" in done and "Admin consent granted" not in done


def test_a_v2_decline_with_admin_consent_true_is_not_shown_as_granted(alice_client, emulator, azure, app_id):
    # The v2.0 endpoint's documented decline carries admin_consent=True next to the error.
    start = alice_client.get("/admin/integrations/azure/admin-consent/")
    v2 = start["Location"].replace("/adminconsent?", "/v2.0/adminconsent?")
    with emulator.http() as browser:
        params = redirect_params(sign_in(browser, v2, "adele@contoso.onmicrosoft.com", "Adele-pw1", "cancel"))
    assert params["admin_consent"] == "True" and params["error"] == "consent_required"
    done = alice_client.get("/microsoft/oauth2/callback/", params, follow=True).content.decode()
    assert "Admin consent was declined at Microsoft" in done and "Admin consent granted" not in done


@pytest.mark.parametrize("answer", ["consent_required", "access_denied"])
def test_need_admin_approval_leads_to_the_admin_consent_path(admin, bob_client, emulator, azure, answer):
    emulator.control.patch("/variants", json={"admin_approval_return": answer}).raise_for_status()
    emulator.control.patch(
        "/tenants/contoso.onmicrosoft.com", json={"users_may_consent": False}
    ).raise_for_status()
    for client in (bob_client, admin):
        _, params = authorize(client, emulator, *MEGAN, consent="return")
        assert params["error"] == answer
        html = client.get("/account/calendar-sync/").content.decode()
        assert "You cancelled" not in html
        assert "admin consent" in html
        # A ShiftDesk admin gets the link to the admin-consent path itself; Bob is told whom to ask.
        assert ("/admin/integrations/azure/admin-consent/" in html) is (client is admin)


def test_a_pressed_cancel_is_still_told_you_cancelled(bob_client, emulator, azure):
    _, params = authorize(bob_client, emulator, *MEGAN, consent="cancel")
    assert params["error"] == "access_denied" and params["error_subcode"] == "cancel"
    assert (
        "You cancelled the authorization at Microsoft"
        in bob_client.get("/account/calendar-sync/").content.decode()
    )


def test_a_personal_account_is_named_by_its_user_principal_name(bob_client, emulator, azure):
    # Point 8: for a personal Microsoft account Graph's /me has `mail: null` and a 16-hex-digit id.
    from tests.microsoft.conftest import PAT

    response, _ = authorize(bob_client, emulator, *PAT)
    assert response.status_code == 302
    connection = CalendarConnection.objects.get(user__email="bob@example.org")
    assert connection.account_email == "pat@outlook.com"
    assert len(connection.account_id) == 16 and int(connection.account_id, 16) >= 0
    assert "pat@outlook.com" in bob_client.get("/account/calendar-sync/").content.decode()
