"""The Google OAuth 2 settings of this ShiftDesk system (Admin > Integrations): one row, the secret encrypted
and write-only (pages show only that one is stored and its last 4 characters)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from shiftdesk.lib.crypto import EncryptedTextField


class GoogleOAuthSettings(models.Model):
    """Singleton (pk=1). Read it with `GoogleOAuthSettings.load()`; write it through google.actions."""

    SINGLETON_PK = 1

    client_id = models.CharField("Client ID", max_length=255, blank=True)
    client_secret = EncryptedTextField("Client Secret", blank=True, default="")
    secret_last4 = models.CharField(max_length=4, blank=True)
    enabled = models.BooleanField("Enable Calendar Sync with Google OAuth 2", default=False)
    # When Google last accepted the client id and secret and the Redirect URL (Save Settings' live check).
    verified_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "Google OAuth 2 settings"

    def __repr__(self) -> str:  # never the secret
        return f"<GoogleOAuthSettings client={self.client_id or '-'} enabled={self.enabled}>"

    def __str__(self) -> str:
        return "Google OAuth 2 settings"

    @classmethod
    def load(cls) -> GoogleOAuthSettings:
        """The saved settings, or unsaved defaults when an admin never saved any (nothing is created)."""
        return cls.objects.filter(pk=cls.SINGLETON_PK).first() or cls(pk=cls.SINGLETON_PK)

    @property
    def has_secret(self) -> bool:
        return bool(self.client_secret)

    @property
    def is_configured(self) -> bool:
        return bool(self.client_id and self.has_secret)

    @property
    def is_active(self) -> bool:
        """Set up and Enabled: users may authorize and the sync engine may sync."""
        return self.enabled and self.is_configured


def redirect_url() -> str:
    """The Redirect URL exactly as it must be registered in Google Cloud's OAuth client (absolute)."""
    return settings.PUBLIC_BASE_URL + reverse("google_callback")
