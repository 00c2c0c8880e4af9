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


class GoogleChannel(models.Model):
    """A Calendar API push channel (events.watch) on one of a Google connection's chosen calendars (Calendar to
    Sync shifts with, Calendar to Check Free/Busy Status; one channel when both are the same calendar), so a
    change there makes that connection's verification and/or free/busy refresh due at once instead of at the
    next poll. Kept and reconciled only by google/push.py.

    `token` is the channel token Google echoes in X-Goog-Channel-Token: a push without the right one is not
    trusted. `connection` becomes NULL when the connection is removed: the row stays (no credential) until
    the channel expires, so its pushes are recognised and ignored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(
        "calendarsync.CalendarConnection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="google_channels",
    )
    account_id = models.TextField(blank=True)  # the Google account (sub) whose token created it
    calendar_id = models.TextField()  # the calendar watched
    address = models.TextField(blank=True)  # where Google posts; a changed public URL means a new channel
    channel_id = models.CharField(max_length=64, unique=True)  # ours (a UUID): Google's limit is 64
    resource_id = models.CharField(max_length=255, blank=True)  # Google's, needed by channels.stop
    token = EncryptedTextField(blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)  # the last trusted push
    created_at = models.DateTimeField(auto_now_add=True)

    def __repr__(self) -> str:  # never the token
        return f"<GoogleChannel user={self.user_id} calendar={self.calendar_id!r} id={self.channel_id}>"

    def __str__(self) -> str:
        return f"Google Calendar push channel of user {self.user_id}"


class GooglePushProblem(models.Model):
    """Why push notifications are not in use for a connection (the public URL is not https, Google refused
    the watch...), in words for admins, and when to try again. No row: no problem."""

    connection = models.OneToOneField(
        "calendarsync.CalendarConnection", on_delete=models.CASCADE, related_name="google_push_problem"
    )
    problem = models.TextField()
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Google push problem of connection {self.connection_id}"
