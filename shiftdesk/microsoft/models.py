"""The Azure AD OAuth 2 settings of this ShiftDesk system (Admin > Integrations): one row, secrets encrypted.

The client secret and the certificate's private key are stored encrypted and are write-only: pages show only
that one is stored, its last 4 characters / thumbprint, and its expiry date.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from shiftdesk.lib.crypto import EncryptedTextField
from shiftdesk.microsoft import identity
from shiftdesk.microsoft.identity import AccountType

EXPIRY_WARNING_DAYS = 30


class AzureADSettings(models.Model):
    """Singleton (pk=1). Read it with `AzureADSettings.load()`; write it through microsoft.actions."""

    SINGLETON_PK = 1

    application_id = models.CharField("Application ID", max_length=36, blank=True)
    client_secret = EncryptedTextField("Client Secret: Value", blank=True, default="")
    secret_last4 = models.CharField(max_length=4, blank=True)
    secret_expires_on = models.DateField("Client Secret: Expires", null=True, blank=True)
    account_type = models.CharField(
        "Supported Account Type", max_length=16, choices=AccountType.choices, default=AccountType.MULTI
    )
    tenant_id = models.CharField("Tenant ID", max_length=253, blank=True)
    enabled = models.BooleanField("Enable Calendar Sync with Azure AD OAuth 2", default=False)
    # Ask users for Calendars.ReadWrite.Shared too (the FAQ: "Some sites may also require the
    # Calendars.ReadWrite.Shared permission"): calendars other people shared with them can then be chosen.
    request_shared_calendars = models.BooleanField("Also request Calendars.ReadWrite.Shared", default=False)
    # Certificate credential, the alternative to a secret: PEM private key (encrypted) and the certificate's
    # SHA-1 thumbprint (hex, upper case, as the Azure portal shows it). When present it is used instead.
    certificate_private_key = EncryptedTextField(blank=True, default="")
    certificate_thumbprint = models.CharField(max_length=40, blank=True)
    certificate_expires_on = models.DateField(null=True, blank=True)
    # When the credentials were last proven, and by whom: the admin whose Save Settings got a token, or the user
    # whose authorization was the first one Microsoft completed with them (a multi-tenant check cannot prove
    # the secret: AADSTS50059 may come before the secret is looked at). None after "Save anyway" or while the
    # secret is unproven.
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_via = models.CharField(max_length=16, blank=True, default="")  # "check" | "authorization"
    # Save Settings of a multi-tenant type got AADSTS50059: the Application ID exists, the secret is unproven.
    app_id_accepted_at = models.DateTimeField(null=True, blank=True)
    # Microsoft refused the app's credentials when redeeming a user's code (AADSTS7000215...): the admin's words.
    credentials_problem = models.TextField(blank=True, default="")
    credentials_problem_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "Azure AD OAuth 2 settings"

    def __repr__(self) -> str:  # never the secret or the key
        return f"<AzureADSettings app={self.application_id or '-'} enabled={self.enabled}>"

    def __str__(self) -> str:
        return "Azure AD OAuth 2 settings"

    @classmethod
    def load(cls) -> AzureADSettings:
        """The saved settings, or unsaved defaults when an admin never saved any (nothing is created)."""
        return cls.objects.filter(pk=cls.SINGLETON_PK).first() or cls(pk=cls.SINGLETON_PK)

    # --- state ---------------------------------------------------------------------------------------
    @property
    def has_secret(self) -> bool:
        return bool(self.client_secret)

    @property
    def has_certificate(self) -> bool:
        return bool(self.certificate_private_key and self.certificate_thumbprint)

    @property
    def is_configured(self) -> bool:
        """An application ID and a credential, and the tenant when the account type needs one."""
        if not self.application_id or not (self.has_secret or self.has_certificate):
            return False
        return self.account_type != AccountType.SINGLE or bool(self.tenant_id)

    @property
    def is_active(self) -> bool:
        """Set up and Enabled: users may authorize and the sync engine may sync."""
        return self.enabled and self.is_configured

    def msal_credential(self) -> str | dict:
        """MSAL's `client_credential`: the certificate (client assertion) when present, else the secret."""
        if self.has_certificate:
            return {"private_key": self.certificate_private_key, "thumbprint": self.certificate_thumbprint}
        return self.client_secret

    def fingerprint(self) -> str:
        """Changes whenever anything MSAL depends on changes (used to key per-settings caches); no secret
        material can be recovered from it."""
        raw = "|".join(
            [
                self.application_id,
                self.account_type,
                self.tenant_id,
                self.secret_last4,
                self.certificate_thumbprint,
                self.updated_at.isoformat() if self.updated_at else "",
            ]
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    # --- Microsoft facts for these settings ---------------------------------------------------------------
    @property
    def tenant_segment(self) -> str:
        return identity.tenant_segment(self.account_type, self.tenant_id)

    def authority(self) -> str:
        return identity.authority_url(settings.MICROSOFT_LOGIN_URL, self.tenant_segment)

    # --- expiry ----------------------------------------------------------------------------------------
    def credential_expires_on(self) -> dt.date | None:
        """The expiry date of the credential in use (certificate if present, else secret), if known."""
        return self.certificate_expires_on if self.has_certificate else self.secret_expires_on

    def expiry_warning(self, today: dt.date | None = None) -> str:
        """For admins, from 30 days before the credential in use expires; '' otherwise."""
        expires = self.credential_expires_on()
        if not self.is_configured or expires is None:
            return ""
        today = today or timezone.localdate()
        what = "certificate" if self.has_certificate else "client secret"
        days = (expires - today).days
        if days < 0:
            return (
                f"The Azure AD OAuth 2 {what} expired on {expires:%B} {expires.day}, {expires.year}: Outlook "
                "calendar sync has stopped. Create a new one in the Azure portal and enter it in Admin > "
                "Integrations."
            )
        if days <= EXPIRY_WARNING_DAYS:
            when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
            return (
                f"The Azure AD OAuth 2 {what} expires {when} ({expires:%B} {expires.day}, {expires.year}). "
                "Create a new one in the Azure portal and enter it in Admin > Integrations before then, or "
                "Outlook calendar sync will stop."
            )
        return ""


def redirect_url() -> str:
    """The Redirect URL exactly as it must be registered with Microsoft (absolute, from PUBLIC_BASE_URL)."""
    return settings.PUBLIC_BASE_URL + reverse("microsoft_callback")
