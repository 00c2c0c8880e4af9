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
    # The admin's half of the allow-list of Exchange servers (network.py says what an entry may be); the
    # environment's EXCHANGE_ALLOWED_HOSTS is the other half.
    allowed_hosts = models.TextField("Allowed Exchange servers", blank=True, default="")
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


class ConnectionCheck(models.Model):
    """One press of Save in the Password Authentication box (a connection test to a server the user names):
    counted per user to rate-limit them (EXCHANGE_CHECKS_PER_WINDOW in EXCHANGE_CHECK_WINDOW_SECONDS).
    Kept in the database so every web process counts the same presses."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"connection check by {self.user_id} at {self.at:%Y-%m-%d %H:%M:%S}"
