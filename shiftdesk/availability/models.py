"""What ShiftDesk knows of staff's Outlook availability: the site's free/busy settings, each user's busy
intervals read from their Calendar to Check Free/Busy Status, and how fresh that knowledge is.

Only free/busy is stored: start, end, showAs, the remote id and, if the user allows it, the subject. Never
bodies, attendees, locations or anything else of an event. Instants are UTC.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from shiftdesk.lib.crypto import EncryptedTextField

# Graph's showAs values, in Outlook's words.
SHOW_AS_CHOICES = [
    ("busy", "Busy"),
    ("oof", "Away (out of office)"),
    ("workingElsewhere", "Working elsewhere"),
    ("tentative", "Tentative"),
    ("unknown", "Unknown"),
]
DEFAULT_UNAVAILABLE = ["busy", "oof", "workingElsewhere"]
DEFAULT_WARNING = ["tentative"]


def _default_unavailable() -> list[str]:
    return list(DEFAULT_UNAVAILABLE)


def _default_warning() -> list[str]:
    return list(DEFAULT_WARNING)


class AvailabilitySettings(models.Model):
    """The site's free/busy settings. Singleton (pk=1), written only by do_update_availability_settings."""

    horizon_weeks = models.PositiveIntegerField(
        "Weeks ahead to read", default=8, help_text="How far ahead busy times are read from Outlook."
    )
    refresh_minutes = models.PositiveIntegerField(
        "Refresh every (minutes)", default=15, help_text="How often each user's busy times are read again."
    )
    # showAs values that make a person unavailable (assigning needs an override) and those that only warn.
    unavailable_show_as = models.JSONField(default=_default_unavailable)
    warning_show_as = models.JSONField(default=_default_warning)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "availability settings"

    def __str__(self) -> str:
        return f"Free/busy: {self.horizon_weeks} weeks, every {self.refresh_minutes} min"

    @classmethod
    def load(cls) -> AvailabilitySettings:
        """The saved settings, or the defaults unsaved (one query; reading never writes)."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)

    @property
    def horizon(self) -> timedelta:
        return timedelta(weeks=self.horizon_weeks)

    @property
    def refresh_interval(self) -> timedelta:
        return timedelta(minutes=self.refresh_minutes)

    def severity(self, show_as: str) -> str | None:
        """'unavailable', 'warning' or None (available) for an event's showAs."""
        if show_as in self.unavailable_show_as:
            return "unavailable"
        if show_as in self.warning_show_as:
            return "warning"
        return None


class FreeBusyState(models.Model):
    """One user's free/busy bookkeeping: the privacy choice, freshness, and the refresh worker's claim."""

    class Status(models.TextChoices):
        OK = "ok", "Up to date"
        STALE = "stale", "Stale"
        ERROR = "error", "Not available"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="freebusy_state"
    )
    # "Show meeting subjects to schedulers": subjects are stored only while this is on.
    show_subjects = models.BooleanField("Show meeting subjects to schedulers", default=False)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OK)
    reason = models.TextField(blank=True)  # in words, for the user and the grid; never a token
    last_refreshed_at = models.DateTimeField(null=True, blank=True)  # last successful read
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # NULL or past: due. The worker sets it after each attempt (interval, or backoff after a failure).
    next_refresh_at = models.DateTimeField(null=True, blank=True)
    # A worker's claim, taken with a conditional UPDATE; expires so a crashed worker loses it.
    claimed_until = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["next_refresh_at"])]

    def __str__(self) -> str:
        return f"Free/busy of user {self.user_id}: {self.get_status_display()}"

    @property
    def is_trustworthy(self) -> bool:
        """Whether the stored intervals are the user's current busy times (only then may 'no interval'
        be read as 'free')."""
        return self.status == self.Status.OK and self.last_refreshed_at is not None

    def describe(self) -> str:
        if self.status == self.Status.OK:
            if self.last_refreshed_at is None:
                return "Busy times have not been read from Outlook yet."
            return "Up to date."
        if self.status == self.Status.STALE:
            return "Busy data is stale: " + (self.reason or "Outlook could not be read.")
        return self.reason or "Busy times could not be read from Outlook."


class BusyInterval(models.Model):
    """One busy (or tentative, oof, ...) stretch of a user's free/busy calendar, as Outlook said at the last
    refresh. Occurrences of recurring meetings are separate rows (calendarView expands them)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="busy_intervals"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    show_as = models.CharField(max_length=20)
    # Only when the user allows it (FreeBusyState.show_subjects) and the event is not private.
    subject = models.CharField(max_length=255, blank=True)
    is_all_day = models.BooleanField(default=False)
    remote_id = models.TextField()  # Graph event (or occurrence) id; Microsoft's ids can be long
    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["start", "end", "id"]
        indexes = [models.Index(fields=["user", "start"]), models.Index(fields=["start", "end"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="busy_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.show_as} {self.start:%Y-%m-%d %H:%M}Z–{self.end:%H:%M}Z (user {self.user_id})"

    @property
    def label(self) -> str:
        """What schedulers see: the subject if the user allows it, else "busy"."""
        return self.subject or "busy"


class GraphSubscription(models.Model):
    """A Microsoft Graph change-notification subscription on one Outlook connection's Calendar to Check
    Free/Busy Status, so a meeting added, moved or deleted there makes the user's refresh due at once instead
    of at the next interval. Kept and reconciled only by availability/notifications.py.

    `problem` says, in words for admins, why notifications are not in use for this connection (the URL was
    refused, validation failed, Graph errors...); busy times are then read on the refresh interval alone.
    `connection` becomes NULL when the connection is removed: the row is kept (without any credential) until
    the subscription expires at Graph, so its notifications are recognised and ignored, and so a later
    connection of the same account can delete it.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    connection = models.OneToOneField(
        "calendarsync.CalendarConnection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="graph_subscription",
    )
    account_id = models.TextField(blank=True)  # the mailbox (Graph user id) it watches
    calendar_id = models.TextField(blank=True)  # the calendar it watches; Microsoft's ids can be long
    notification_url = models.TextField(blank=True)  # where Graph posts; a changed public URL means re-create
    subscription_id = models.CharField(max_length=128, blank=True, db_index=True)  # "": none at Graph
    # Graph echoes it in every notification: a notification without the right one is not trusted.
    client_state = EncryptedTextField(blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)  # the last trusted notification
    problem = models.TextField(blank=True)  # why notifications are not in use here; "" when they are
    problem_since = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)  # after a failure: not before this
    # A worker's claim, taken with a conditional UPDATE; expires so a crashed worker loses it.
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __repr__(self) -> str:  # never the client state
        return f"<GraphSubscription user={self.user_id} connection={self.connection_id} id={self.subscription_id!r}>"

    def __str__(self) -> str:
        return f"Outlook change notifications for user {self.user_id}"
