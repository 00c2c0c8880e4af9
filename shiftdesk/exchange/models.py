"""Admin > Integrations > Password Authentication: the site-wide switch for Exchange (EWS) password sync.

The connection itself is calendarsync's CalendarConnection with provider "exchange": credentials = the
password (encrypted at rest), provider_settings = {server, username, email, auth_type, version}.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ExchangeSettings(models.Model):
    """A singleton row (pk=1), created on first use: password sync is on until an admin turns it off."""

    enabled = models.BooleanField("Enable Calendar Sync with Password Authentication", default=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return "Password Authentication " + ("enabled" if self.enabled else "disabled")

    @classmethod
    def load(cls) -> ExchangeSettings:
        found, _ = cls.objects.get_or_create(pk=1)
        return found
