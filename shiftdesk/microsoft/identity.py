"""Microsoft's facts in one place: account types and their authorities, scopes, and what AADSTS codes mean.

Nothing here talks to the network or reads the database; auth.py and the views combine these facts with the
saved settings. Wording for admins follows the seed FAQ ("App ID or Secret is incorrect", ...).
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlencode

from django.db import models


class AccountType(models.TextChoices):
    """The app registration's "Supported account types", with the portal's (and the seed's) labels."""

    SINGLE = "single", "Accounts in this organizational directory only"
    MULTI = "multi", "Accounts in any organizational directory"
    MULTI_AND_PERSONAL = (
        "multi_personal",
        ("Accounts in any organizational directory and personal Microsoft accounts"),
    )


# Delegated Graph permissions ShiftDesk asks each user for. MSAL adds openid, profile and offline_access
# itself and raises ValueError if they are passed (reserved scopes), yet the refresh token still comes back.
USER_SCOPES = ["User.Read", "Calendars.ReadWrite"]
SHARED_SCOPE = (
    "Calendars.ReadWrite.Shared"  # calendars other users shared with the user (Admin > Integrations)
)


def user_scopes(shared: bool) -> list[str]:
    """What a user is asked for: USER_SCOPES, plus Calendars.ReadWrite.Shared when the admin asked for it."""
    return USER_SCOPES + [SHARED_SCOPE] if shared else list(USER_SCOPES)


# Client-credentials scope used only to check the app's credentials when the admin saves them.
APP_CHECK_SCOPES = ["https://graph.microsoft.com/.default"]

# Client credentials against /organizations or /common (multi-tenant types, no tenant of our own): Microsoft
# refuses to issue an app token without a tenant: AADSTS50059. An unknown Application ID fails first (700016);
# whether the secret is checked before 50059 is not documented, so 50059 proves the Application ID only and
# the secret is proven by the first successful authorization (auth.complete_authorization).
CLIENT_AUTHENTICATED_NO_TENANT = "AADSTS50059"
APP_ID_ACCEPTED_MESSAGE = (
    "Application ID accepted; Microsoft will check the secret at the first authorization."
)

# The tenant id of personal Microsoft accounts (Outlook.com, Hotmail).
CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"

_DOMAIN_RE = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", re.IGNORECASE)
_AADSTS_RE = re.compile(r"AADSTS(\d{5,7})")


def is_guid(value: str) -> bool:
    """A GUID in its usual 36-character form, as the Azure portal shows Application and Directory IDs."""
    if len(value) != 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def is_tenant_id(value: str) -> bool:
    """A Directory (tenant) ID: a GUID or a verified domain such as contoso.onmicrosoft.com."""
    return is_guid(value) or bool(_DOMAIN_RE.match(value))


def tenant_segment(account_type: str, tenant_id: str) -> str:
    """The authority path segment for users signing in: the tenant for single-directory apps,
    `organizations` for multi-tenant, `common` for multi-tenant + personal accounts."""
    if account_type == AccountType.SINGLE:
        return tenant_id.strip().lower()
    if account_type == AccountType.MULTI:
        return "organizations"
    return "common"


def authority_url(login_url: str, segment: str) -> str:
    return f"{login_url.rstrip('/')}/{segment}"


def admin_consent_url(login_url: str, segment: str, client_id: str, redirect_uri: str, state: str) -> str:
    """Where an organization's admin grants ShiftDesk's permissions for everyone in the tenant."""
    # Personal accounts have no admins; a multi-tenant app is consented per organization.
    if segment in ("common", "consumers"):
        segment = "organizations"
    query = urlencode({"client_id": client_id, "redirect_uri": redirect_uri, "state": state})
    return f"{login_url.rstrip('/')}/{segment}/adminconsent?{query}"


def aadsts_code(result: dict) -> str:
    """'AADSTS7000215' from an MSAL error dict (error_codes, or the start of error_description), or ''."""
    codes = result.get("error_codes") or []
    if codes:
        return f"AADSTS{codes[0]}"
    match = _AADSTS_RE.search(result.get("error_description") or "")
    return f"AADSTS{match.group(1)}" if match else ""


# --- what the admin sees after Save Settings --------------------------------------------------------------
WAIT_NOTE = (
    "If you just registered the app with Microsoft, please wait several minutes and try again. This error can "
    "also indicate that your app's permissions are not set correctly: please work with the person who registered "
    "your app to ensure its Supported account types option matches the Supported Account Type selected here."
)
ADMIN_MESSAGES: dict[str, str] = {
    "AADSTS7000215": "App ID or Secret is incorrect. Check that you entered the Client Secret Value, not the "
    "Secret ID. " + WAIT_NOTE,
    "AADSTS700016": "App ID or Secret is incorrect: Microsoft does not know this Application ID in this "
    "directory. " + WAIT_NOTE,
    "AADSTS7000222": "The secret has expired. Create a new client secret under Certificates & secrets in the "
    "Azure portal and enter its Value here.",
    "AADSTS90002": "Tenant not found. Check the Tenant ID (the Directory (tenant) ID on the app's Overview page, "
    "or a verified domain such as contoso.onmicrosoft.com).",
    "AADSTS50194": "The app is registered for Accounts in this organizational directory only. Choose that "
    "Supported Account Type and enter the Tenant ID, or change the app registration to multi-tenant.",
    "AADSTS700027": "The certificate was rejected. Upload the certificate's public key to the app under "
    "Certificates & secrets, or check that the uploaded file holds the matching private key.",
    "AADSTS700024": "The certificate assertion was refused as outside its valid time: check this server's clock.",
    "AADSTS7000218": "Microsoft received no credential: enter the Client Secret Value or upload a certificate.",
}


def admin_message(code: str, description: str = "") -> str:
    """What the admin can act on after a failed credentials check. Unknown codes keep the code visible."""
    if code in ADMIN_MESSAGES:
        return ADMIN_MESSAGES[code]
    shown = code or "an unknown error"
    return (
        f"Microsoft refused these settings ({shown}). Look the code up in Microsoft's sign-in error reference, "
        "or check the app registration with the person who created it."
    )


# --- what a user sees after "Authorize with Microsoft Account" ---------------------------------------------
TRY_AGAIN = "Press Authorize with Microsoft Account to try again."
ADMIN_APPROVAL_CODES = {"AADSTS65001", "AADSTS90094", "AADSTS90095", "AADSTS90008"}
USED_OR_EXPIRED_CODES = {"AADSTS54005", "AADSTS70008", "AADSTS501481", "AADSTS500112", "AADSTS70000"}
APP_CREDENTIAL_CODES = {"AADSTS7000215", "AADSTS7000222", "AADSTS700016", "AADSTS700027", "AADSTS7000218"}

CANCELLED_MESSAGE = (
    "You cancelled the authorization at Microsoft, so Outlook calendar sync was not set up. " + (TRY_AGAIN)
)
# access_denied without error_subcode=cancel: a decline the user may not have chosen, e.g. "Return to the
# application without granting consent" on Microsoft's "Need admin approval" page (what that returns is not
# documented; the emulator's variant admin_approval_return plays consent_required and access_denied).
NOT_GRANTED_MESSAGE = (
    "Microsoft did not give ShiftDesk access to your calendar, so Outlook calendar sync was not set up. If "
    'Microsoft said "Need admin approval", your organization requires an administrator to approve ShiftDesk '
    "first: ask your Office 365 administrator (or your ShiftDesk admin) to grant admin consent; then try again."
)
ADMIN_APPROVAL_MESSAGE = (
    "Your organization requires an administrator to approve ShiftDesk before you can connect your Outlook "
    "calendar. Please contact your Office 365 administrator (or your ShiftDesk admin) and ask them to grant "
    "admin consent; then try again."
)
USED_OR_EXPIRED_MESSAGE = "This Microsoft sign-in was already used or has expired. " + TRY_AGAIN
STATE_MESSAGE = (
    "This Microsoft sign-in was not started from your ShiftDesk session, or your session changed meanwhile, so "
    "it was not accepted. " + TRY_AGAIN
)
DISABLED_MEANWHILE_MESSAGE = (
    "Calendar Sync with Azure AD OAuth 2 was disabled by your ShiftDesk admin while you were signing in, so "
    "nothing was connected. Please contact your ShiftDesk admin."
)
APP_CREDENTIALS_MESSAGE = (
    "Microsoft refused ShiftDesk's app credentials ({code}), so your account could not be connected. Please "
    "tell your ShiftDesk admin: the Azure AD OAuth 2 settings in Admin > Integrations need attention."
)
UNREACHABLE_MESSAGE = "Microsoft's sign-in service could not be reached. Nothing was connected; please try again in a few minutes."


def user_message(error: str, code: str, subcode: str = "") -> str:
    """What a user sees when the callback brings an error (from the redirect, or from the code redemption).
    Only a pressed Cancel (error_subcode=cancel) is told "You cancelled"; any other decline is shown the
    admin-consent path."""
    if error == "access_denied" or code == "AADSTS65004":
        return CANCELLED_MESSAGE if subcode == "cancel" else NOT_GRANTED_MESSAGE
    if code in ADMIN_APPROVAL_CODES or error in ("consent_required", "admin_consent_required"):
        return ADMIN_APPROVAL_MESSAGE
    if code in USED_OR_EXPIRED_CODES or error == "invalid_grant":
        return USED_OR_EXPIRED_MESSAGE
    if code in APP_CREDENTIAL_CODES or error in ("invalid_client", "unauthorized_client"):
        return APP_CREDENTIALS_MESSAGE.format(code=code or error)
    shown = code or error or "an unknown error"
    return f"Microsoft did not authorize ShiftDesk ({shown}). {TRY_AGAIN}"


def shows_admin_path(message: str) -> bool:
    """Whether the Calendar Sync page should also show the admin-consent path next to this message."""
    return message in (ADMIN_APPROVAL_MESSAGE, NOT_GRANTED_MESSAGE)


# --- the answer to Admin > Integrations' "grant admin consent" ------------------------------------------------
def admin_consent_outcome(query: dict[str, str]) -> tuple[bool, str]:
    """(granted, what the admin is told) for the redirect back from /adminconsent. A grant is
    admin_consent=True with no error: Microsoft documents declines both as `error=permission_denied&
    error_description=The admin canceled the request` (/{tenant}/adminconsent) and as `admin_consent=True&
    error=consent_required&error_description=AADSTS65004…` (/{tenant}/v2.0/adminconsent), so the flag alone
    proves nothing."""
    error = query.get("error", "")
    if query.get("admin_consent", "").lower() == "true" and not error:
        return True, "Admin consent granted: users of your organization can now authorize without asking you."
    code = aadsts_code({"error_description": query.get("error_description", "")})
    declined = (
        error in ("permission_denied", "access_denied")
        or code == "AADSTS65004"
        or (error == "consent_required" and query.get("admin_consent", "").lower() == "true")
    )
    if declined:
        return False, (
            "Admin consent was declined at Microsoft, so nothing was granted: users who may not consent "
            "themselves still cannot authorize." + (f" ({code})" if code else "")
        )
    shown = code or error or "no answer"
    return False, f"Admin consent was not granted ({shown})."


# --- why a user's grant died (stored on the connection, shown to them) ---------------------------------------
REAUTH_REASONS: dict[str, str] = {
    "AADSTS50173": "Microsoft revoked ShiftDesk's access, for example after your password changed.",
    "AADSTS700082": "ShiftDesk's access expired after 90 days without use.",
    "AADSTS70008": "ShiftDesk's access expired.",
    "AADSTS70000": "ShiftDesk's access was revoked or is no longer valid.",
    "AADSTS65001": "The permission you gave ShiftDesk was withdrawn.",
    "AADSTS50057": "Your Microsoft account is disabled.",
    "AADSTS50034": "Your Microsoft account no longer exists.",
}


def reauth_reason(code: str) -> str:
    reason = REAUTH_REASONS.get(code, "Microsoft no longer accepts ShiftDesk's access to your calendar.")
    return f"{reason} Authorize with Microsoft Account again to resume syncing." + (
        f" ({code})" if code else ""
    )
