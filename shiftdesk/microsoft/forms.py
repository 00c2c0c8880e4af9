"""Forms of the Azure AD OAuth 2 box (admin) and the OAuth 2 Authorization box (each user).

Malformed input is refused here, before any network call. Secret fields are write-only: never rendered back.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from django import forms
from django.utils import timezone

from shiftdesk.microsoft import identity
from shiftdesk.microsoft.identity import AccountType
from shiftdesk.microsoft.models import AzureADSettings

ENABLED, DISABLED = "enabled", "disabled"
MAX_CERTIFICATE_BYTES = 64 * 1024


@dataclass(frozen=True)
class ParsedCertificate:
    private_key_pem: str
    thumbprint: str  # SHA-1 of the DER certificate, hex upper case (the Azure portal's "Thumbprint")
    expires_on: dt.date


def parse_certificate(data: bytes) -> ParsedCertificate:
    """One PEM file holding the certificate and its unencrypted private key. Raises ValueError (for people)."""
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise ValueError("The file must contain a PEM certificate (-----BEGIN CERTIFICATE-----).") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise ValueError("The private key is password-protected: upload it without a password.") from None
    except ValueError:
        raise ValueError(
            "The file must also contain the certificate's private key (-----BEGIN PRIVATE KEY-----)."
        ) from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.PEM, public) != cert.public_key().public_bytes(
        serialization.Encoding.PEM, public
    ):
        raise ValueError("The private key does not belong to the certificate in the file.")
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return ParsedCertificate(
        private_key_pem=pem,
        thumbprint=cert.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303 - Azure's thumbprint is SHA-1
        expires_on=cert.not_valid_after_utc.date(),
    )


# Microsoft's portal (and the emulator's) offers "Recommended: 180 days (6 months)" first, up to 24 months.
PORTAL_DEFAULT_SECRET_DAYS = 180


def portal_default_secret_expiry() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=PORTAL_DEFAULT_SECRET_DAYS)


class AzureADSettingsForm(forms.Form):
    """Admin > Integrations > Azure AD OAuth 2. Labels are the seed's."""

    application_id = forms.CharField(
        label="Application ID",
        max_length=36,
        help_text="The Application (client) ID from the app's Overview page in the Azure portal.",
    )
    client_secret = forms.CharField(
        label="Client Secret: Value",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="The secret's Value (not the Secret ID). Leave empty to keep the stored secret.",
    )
    secret_expires_on = forms.DateField(
        label="Client Secret: Expires",
        # Required with a secret (clean()); not with a certificate only, whose date comes from the file.
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="The Expires date the portal shows for the secret under Certificates & secrets. Prefilled with "
        "the portal's default (180 days from today; the portal allows at most 24 months). ShiftDesk warns "
        "admins 30 days before it.",
    )
    account_type = forms.ChoiceField(
        label="Supported Account Type",
        choices=AccountType.choices,
        # The Azure portal preselects "Accounts in this organizational directory only"; the FAQ's advice (and
        # the only type that admits personal Outlook.com accounts too) is the multi-tenant + personal one.
        help_text="Select the type chosen when the app was registered. When registering, pick Accounts in any "
        "organizational directory and personal Microsoft accounts (the Azure portal preselects Accounts in this "
        "organizational directory only): it lets both work accounts and personal Outlook.com accounts authorize.",
    )
    tenant_id = forms.CharField(
        label="Tenant ID",
        required=False,
        max_length=253,
        help_text="The Directory (tenant) ID (a GUID) or a verified domain such as contoso.onmicrosoft.com.",
    )
    enabled = forms.ChoiceField(
        label="Enable Calendar Sync with Azure AD OAuth 2",
        choices=[(ENABLED, "Enabled"), (DISABLED, "Disabled")],
        initial=DISABLED,
    )
    certificate = forms.FileField(
        label="Certificate (instead of a secret)",
        required=False,
        help_text="Optional: one PEM file with the certificate and its private key. Upload the certificate's "
        "public part to the app under Certificates & secrets; ShiftDesk then signs in with it instead of the "
        "secret.",
    )
    remove_certificate = forms.BooleanField(label="Remove the stored certificate", required=False)
    request_shared_calendars = forms.BooleanField(
        label="Also request Calendars.ReadWrite.Shared",
        required=False,
        help_text="Some sites may also require the Calendars.ReadWrite.Shared permission: add it to the app under "
        "API permissions, then check this so users can choose a calendar someone shared with them (a department "
        "calendar, a manager's calendar). Users who authorized before keep their access; they authorize again "
        "to use shared calendars.",
    )

    def __init__(self, *args, stored: AzureADSettings, **kwargs) -> None:
        self.stored = stored
        kwargs.setdefault(
            "initial",
            {
                "application_id": stored.application_id,
                # The portal's default lifetime when nothing is stored yet, so the 30-day warning works
                # even for an admin who accepts the default there and here.
                "secret_expires_on": stored.secret_expires_on or portal_default_secret_expiry(),
                "account_type": stored.account_type,
                "tenant_id": stored.tenant_id,
                "enabled": ENABLED if stored.enabled else DISABLED,
                "request_shared_calendars": stored.request_shared_calendars,
            },
        )
        super().__init__(*args, **kwargs)
        self.parsed_certificate: ParsedCertificate | None = None
        self.fields["account_type"].widget.attrs.update(
            {"data-toggle-target": "#azure-tenant-row", "data-toggle-value": AccountType.SINGLE}
        )

    def clean_application_id(self) -> str:
        value = self.cleaned_data["application_id"].strip()
        if not identity.is_guid(value):
            raise forms.ValidationError(
                "Enter the Application (client) ID exactly as the Azure portal shows it, for example "
                "12345678-9abc-def0-1234-56789abcdef0."
            )
        return value.lower()

    def clean_client_secret(self) -> str:
        value = self.cleaned_data["client_secret"]
        if value and identity.is_guid(value):
            raise forms.ValidationError(
                "This looks like the Secret ID. Enter the Client Secret Value (the Value column) instead."
            )
        if any(ch.isspace() for ch in value):
            raise forms.ValidationError(
                "The Client Secret Value contains spaces; copy it again from the portal."
            )
        return value

    def clean_certificate(self):
        upload = self.cleaned_data.get("certificate")
        if not upload:
            return None
        if upload.size > MAX_CERTIFICATE_BYTES:
            raise forms.ValidationError("The certificate file is too large for a PEM certificate and key.")
        try:
            self.parsed_certificate = parse_certificate(upload.read())
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return upload

    def clean(self) -> dict:
        data = super().clean()
        account_type = data.get("account_type")
        tenant = (data.get("tenant_id") or "").strip()
        if account_type == AccountType.SINGLE:
            if not tenant:
                self.add_error(
                    "tenant_id",
                    "Enter the Tenant ID: it is required for Accounts in this organizational directory only.",
                )
            elif not identity.is_tenant_id(tenant):
                self.add_error(
                    "tenant_id", "Enter the Directory (tenant) ID (a GUID) or a verified domain name."
                )
        data["tenant_id"] = tenant.lower() if account_type == AccountType.SINGLE else ""
        keeps_certificate = self.stored.has_certificate and not data.get("remove_certificate")
        has_credential = bool(
            data.get("client_secret")
            or self.stored.has_secret
            or self.parsed_certificate
            or keeps_certificate
        )
        if not has_credential and "client_secret" not in self.errors:
            self.add_error("client_secret", "Enter the Client Secret Value.")
        uses_secret = bool(data.get("client_secret") or self.stored.has_secret) and not (
            self.parsed_certificate or keeps_certificate
        )
        if uses_secret and not data.get("secret_expires_on") and "secret_expires_on" not in self.errors:
            self.add_error(
                "secret_expires_on",
                "Enter the secret's Expires date as the portal shows it: ShiftDesk warns 30 days before it.",
            )
        return data

    # --- what would be saved -------------------------------------------------------------------------------
    def candidate(self) -> AzureADSettings:
        """An unsaved copy of the stored settings with this form's values applied."""
        data = self.cleaned_data
        new = copy.copy(self.stored)
        new.application_id = data["application_id"]
        new.account_type = data["account_type"]
        new.tenant_id = data["tenant_id"]
        new.enabled = data["enabled"] == ENABLED
        new.request_shared_calendars = bool(data.get("request_shared_calendars"))
        if data["client_secret"]:
            new.client_secret = data["client_secret"]
            new.secret_last4 = data["client_secret"][-4:]
        new.secret_expires_on = data.get("secret_expires_on")
        if data.get("remove_certificate"):
            new.certificate_private_key = ""
            new.certificate_thumbprint = ""
            new.certificate_expires_on = None
        if self.parsed_certificate:
            new.certificate_private_key = self.parsed_certificate.private_key_pem
            new.certificate_thumbprint = self.parsed_certificate.thumbprint
            new.certificate_expires_on = self.parsed_certificate.expires_on
        return new

    def needs_check(self, new: AzureADSettings) -> bool:
        """The live check runs when enabling, or when anything Microsoft would judge changed. Switching to
        Disabled alone does not call Microsoft (an admin must be able to turn sync off during an outage)."""
        old = self.stored
        changed = (
            bool(self.cleaned_data["client_secret"])
            or self.parsed_certificate is not None
            or (old.application_id, old.account_type, old.tenant_id, old.certificate_thumbprint)
            != (new.application_id, new.account_type, new.tenant_id, new.certificate_thumbprint)
        )
        return new.enabled or changed


class RemoveAuthorizationForm(forms.Form):
    delete_future_events = forms.BooleanField(
        label="Also delete my future ShiftDesk events from my Outlook calendar", required=False
    )
