"""A user's connection to an external calendar (Outlook through Graph, or Exchange through EWS), and the sync
engine's state beside it: one EventLink per (connection, shift) the engine is responsible for, a bounded
per-connection SyncLogEntry log, and ExportJob for "Run the Export".

A user has at most one connection. Its credentials (MSAL's token cache, or an EWS password) are encrypted at
rest and never rendered. Remote ids and change keys are TextFields: Microsoft's can be long.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from shiftdesk.lib.crypto import EncryptedTextField

# Where a connection's events are, as a user says it: engine messages ("The event was deleted in Outlook.")
# and the pages name the user's own calendar service. Exchange (password) is Outlook too.
CALENDAR_PLACE = {"google": "Google Calendar"}


def calendar_place(provider: str) -> str:
    """ "Outlook" or "Google Calendar"."""
    return CALENDAR_PLACE.get(provider, "Outlook")


class CalendarConnection(models.Model):
    class Provider(models.TextChoices):
        MICROSOFT = "microsoft", "Outlook (OAuth 2)"
        EXCHANGE = "exchange", "Exchange (Password Authentication)"
        GOOGLE = "google", "Google Calendar (OAuth 2)"

    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        NEEDS_REAUTHORIZATION = "needs_reauthorization", "Needs reauthorization"
        ERROR = "error", "Error"
        PAUSED = "paused", "Paused for confirmation"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_connection"
    )
    provider = models.CharField(max_length=16, choices=Provider.choices)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.CONNECTED)
    # The remote account: Microsoft account (UPN/mail) or Exchange mailbox address, and its display name.
    account_email = models.CharField(max_length=320, blank=True)
    account_name = models.CharField(max_length=255, blank=True)
    account_id = models.TextField(blank=True)  # Graph user id (oid) / EWS primary SMTP; no short limits
    # Provider-specific secret material: MSAL SerializableTokenCache JSON, or the EWS password.
    credentials = EncryptedTextField(blank=True, default="")
    # Provider-specific non-secret settings (EWS server address and username, home tenant id, ...).
    provider_settings = models.JSONField(default=dict, blank=True)
    # "Calendar to Sync shifts with" and "Calendar to Check Free/Busy Status". Remote ids can be long.
    sync_calendar_id = models.TextField(blank=True)
    sync_calendar_name = models.CharField(max_length=255, blank=True)
    freebusy_calendar_id = models.TextField(blank=True)
    freebusy_calendar_name = models.CharField(max_length=255, blank=True)
    # When a chosen calendar lives in another person's mailbox (shared with the user in Outlook), that
    # mailbox's address (Graph: `owner.address` in GET /me/calendars); blank for the user's own calendars.
    # The Graph provider and free/busy still reach it through the user's own /me/calendars/{id}/... (the
    # documented sharee path, issue 13); the owner names it in messages when the share is withdrawn.
    sync_calendar_owner = models.CharField(max_length=320, blank=True)
    freebusy_calendar_owner = models.CharField(max_length=320, blank=True)
    # Shifts assigned after this instant are synced automatically; earlier ones only by an export.
    authorized_at = models.DateTimeField(default=timezone.now)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)  # in words, for the user and Integration Status; no secrets
    last_error_at = models.DateTimeField(null=True, blank=True)
    reauth_email_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # --- sync engine state (written only by calendarsync.engine / worker / listener) ---
    # When the connection next has work (dirty links due); NULL = nothing to do. Set by the listener in the
    # domain change's transaction, so a committed change is always picked up by some worker.
    sync_due_at = models.DateTimeField(null=True, blank=True)
    # The lease: the worker working this connection, until when. Taken with a conditional UPDATE.
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Graph said "Retry-After" for this mailbox: no worker sends anything to it before this instant.
    retry_after_until = models.DateTimeField(null=True, blank=True)
    # Consecutive failed steps (transient errors), for exponential backoff of the whole connection.
    consecutive_failures = models.PositiveIntegerField(default=0)
    # Why the connection is PAUSED (safety brake), in words; cleared when a person confirms.
    paused_reason = models.TextField(blank=True)
    # A person confirmed the paused deletes: the next pass may delete past the brake once.
    brake_confirmed = models.BooleanField(default=False)
    # Last time a refresh token of this connection was used successfully (90-day inactivity limit).
    token_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # Last check that upcoming events still exist in Outlook (to notice the ones the user deleted there).
    last_verified_at = models.DateTimeField(null=True, blank=True)
    # Change tracking on the sync calendar (calendarView/delta, verify.py): {"calendar": id, "link": the
    # deltaLink to ask next, "window_end": ISO instant}. Empty: the next verification starts a first round.
    # The link holds Graph's sync state, not a credential (it is useless without an access token).
    delta_state = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["provider", "status"]),
            models.Index(fields=["sync_due_at"]),
        ]

    def __repr__(self) -> str:  # never include credentials
        return f"<CalendarConnection user={self.user_id} provider={self.provider} status={self.status}>"

    def __str__(self) -> str:
        return (
            f"{self.get_provider_display()} connection of user {self.user_id} ({self.get_status_display()})"
        )

    @property
    def calendars_chosen(self) -> bool:
        return bool(self.sync_calendar_id)

    def calendar_owner(self, calendar_id: str) -> str:
        """The address of the mailbox a chosen calendar lives in when another person shared it; ''."""
        if calendar_id and calendar_id == self.sync_calendar_id and self.sync_calendar_owner:
            return self.sync_calendar_owner
        if calendar_id and calendar_id == self.freebusy_calendar_id:
            return self.freebusy_calendar_owner
        return ""


class EventLink(models.Model):
    """What the engine knows about the event of one shift in one connection's calendar.

    Desired state is derived from scheduling each time; this row holds the actual state we recorded after
    the last successful remote write (event id, change key, hash of what we wrote). `link_key` is what goes
    into the event's extended property and into Graph's transactionId: it depends only on (user, shift), so
    an event written before a crash, or by an earlier connection of the same user, is found and adopted.
    """

    connection = models.ForeignKey(CalendarConnection, on_delete=models.CASCADE, related_name="event_links")
    # SET_NULL: a deleted shift's link must survive until its remote event is deleted.
    shift = models.ForeignKey(
        "scheduling.Shift", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shift_ref = models.BigIntegerField()  # copy of the shift id, kept after the shift is deleted
    link_key = models.CharField(max_length=64)
    # Tracked: assigned after the user authorized, or exported. Untracked links are never written.
    tracked = models.BooleanField(default=True)
    dirty = models.BooleanField(default=True)
    # Bumped by every dirty mark; a worker clears `dirty` only if no mark arrived while it worked.
    mark_seq = models.PositiveBigIntegerField(default=0)
    # Bumped by every user action that changes what the link is (linkstate.py): a step records its results
    # in full only onto the state it planned from (compare-and-set), so a Restore, a re-assignment or an
    # export committed while its requests were in flight wins and is planned again.
    state_seq = models.PositiveBigIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)  # backoff of this link; NULL = now
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # A create may have reached the provider without us recording it: look it up by link before creating.
    create_attempted = models.BooleanField(default=False)
    # A delete of the recorded remote event was sent (answered or not) and not yet recorded: if that event is
    # gone later, we deleted it, not the user (a 404 then never means "deleted in Outlook").
    delete_attempted = models.BooleanField(default=False)
    # Bumped each time the remote event is forgotten, so a re-create gets a fresh transactionId.
    generation = models.PositiveIntegerField(default=0)
    remote_calendar_id = models.TextField(blank=True)
    remote_event_id = models.TextField(blank=True)
    change_key = models.TextField(blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    # End of the shift as last known: whether the event is still upcoming after its shift is gone.
    shift_end = models.DateTimeField(null=True, blank=True)
    # The user deleted the event in Outlook: never recreated unless the user chooses to restore it.
    deleted_in_outlook = models.BooleanField(default=False)
    deleted_in_outlook_at = models.DateTimeField(null=True, blank=True)
    # The user moved the event in Outlook (to another calendar, or to another time): never updated again
    # unless the user chooses to restore it. The reason is in words, for the Calendar Sync tab.
    moved_in_outlook = models.BooleanField(default=False)
    moved_in_outlook_reason = models.TextField(blank=True)
    moved_in_outlook_at = models.DateTimeField(null=True, blank=True)
    export_job = models.ForeignKey(
        "ExportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="links"
    )
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "shift_ref"], name="one_event_link_per_shift"),
        ]
        indexes = [models.Index(fields=["connection", "dirty"])]

    def __repr__(self) -> str:
        return f"<EventLink {self.link_key} connection={self.connection_id} dirty={self.dirty}>"

    def __str__(self) -> str:
        return f"Event of shift {self.shift_ref} for connection {self.connection_id}"

    @staticmethod
    def key_for(user_id: int, shift_id: int) -> str:
        return f"shiftdesk-{user_id}-{shift_id}"


class SyncLogEntry(models.Model):
    """One sync action (create/update/delete/...) and how it went; kept bounded per connection."""

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        ADOPT = "adopt", "Found existing"
        UPDATE = "update", "Updated"
        DELETE = "delete", "Deleted"
        MOVE = "move", "Moved to another calendar"
        SKIP = "skip", "Skipped"
        PAUSE = "pause", "Paused"
        CONNECTION = "connection", "Connection"

    class Outcome(models.TextChoices):
        OK = "ok", "OK"
        GONE = "gone", "Deleted in Outlook"
        MOVED = "moved", "Moved in Outlook"
        RETRY = "retry", "Will retry"
        FAILED = "failed", "Failed"

    connection = models.ForeignKey(CalendarConnection, on_delete=models.CASCADE, related_name="sync_log")
    at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=16, choices=Action.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    shift_ref = models.BigIntegerField(null=True, blank=True)
    remote_event_id = models.TextField(blank=True)
    message = models.TextField(blank=True)  # in words; never a token or secret
    ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["connection", "-at"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()} shift {self.shift_ref}: {self.get_outcome_display()}"


class ExportJob(models.Model):
    """Run the Export (Calendar Sync > Outlook/Exchange - Export): its option and live progress."""

    class Option(models.TextChoices):
        NOT_EXPORTED = "not_exported", "Export shifts which have not been exported previously"
        ALL = "all", "Export all shifts"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="export_jobs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    option = models.CharField(max_length=16, choices=Option.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"Export for user {self.user_id}: {self.done} of {self.total} ({self.get_status_display()})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class RetiringConnection(models.Model):
    """A user's previous connection after they switched to another one (OAuth 2 <-> password, or another
    account): the old provider, account and an encrypted copy of its credentials, kept only to delete the
    upcoming events ShiftDesk wrote there. The new connection's own worker step runs these deletes first,
    before it writes anything (calendarsync/retiring.py), and reports them in the new connection's sync log.
    Never made when the old and new connection are the same mailbox: the new one adopts the events instead.
    The row, and the credentials with it, is deleted when the deletes are done or given up.

    Remove Authorization with "also delete future events" leaves one too, with no successor: the worker runs
    its deletes (retiring.retire_disconnected), never the web request. If the user authorizes again before
    that, the new connection inherits it and runs the deletes first, as after a switch.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # The connection whose step runs the deletes. Remove Authorization of it removes this too (no stored
    # credentials outlive a removed connection), unless "also delete" turns it into Remove Authorization's
    # deletes (successor None); a further switch re-points it to the next connection.
    successor = models.ForeignKey(
        CalendarConnection, null=True, blank=True, on_delete=models.CASCADE, related_name="retiring"
    )
    provider = models.CharField(max_length=16, choices=CalendarConnection.Provider.choices)
    account_email = models.CharField(max_length=320, blank=True)
    account_name = models.CharField(max_length=255, blank=True)
    account_id = models.TextField(blank=True)
    credentials = EncryptedTextField(blank=True, default="")
    provider_settings = models.JSONField(default=dict, blank=True)
    # What is left to delete: [{"shift": shift_ref, "event_id": remote id or "", "link_key": key, "calendar":
    # the calendar it was written to, if recorded}]; an empty
    # event_id means a create may have landed without being recorded: found by link key, then deleted.
    events = models.JSONField(default=list, blank=True)
    # How many events there were to delete at the start: with `events` (what is left), the progress shown on
    # the Calendar Sync tab while Remove Authorization's "also delete" deletes run in the worker.
    total = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    # Not before this instant: the old connection's lease (a step in flight) or a backoff after a failure.
    not_before = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    def __repr__(self) -> str:  # never include credentials
        return f"<RetiringConnection user={self.user_id} provider={self.provider} events={len(self.events)}>"

    def __str__(self) -> str:
        return f"Previous {self.get_provider_display()} connection of user {self.user_id}"

    def as_connection(self) -> CalendarConnection:
        """A detached, never-saved connection to hand the provider backend. pk stays None, so anything the
        backend writes back by pk (a rotated token, a reauthorization mark) touches no row."""
        return CalendarConnection(
            pk=None, user_id=self.user_id, provider=self.provider, status=CalendarConnection.Status.CONNECTED,
            account_email=self.account_email, account_name=self.account_name, account_id=self.account_id,
            credentials=self.credentials, provider_settings=self.provider_settings,
        )  # fmt: skip
