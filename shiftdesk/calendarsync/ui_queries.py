"""Reads for the Calendar Sync tab and the Integration Status page: permission-scoped lookups and summaries.

Views never fetch a job, link or connection by a raw id: they go through `get_<thing>_for_user`, which only
ever finds the requesting user's own rows (style.md: "permission-scoped lookups"). Someone else's id is a 404,
the same answer as an id that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from shiftdesk.accounts.models import User
from shiftdesk.calendarsync import exports
from shiftdesk.calendarsync.models import (
    CalendarConnection,
    EventLink,
    ExportJob,
    RetiringConnection,
    SyncLogEntry,
    calendar_place,
)
from shiftdesk.calendarsync.providers import get_backend
from shiftdesk.scheduling.models import Shift, Site
from shiftdesk.scheduling.seam import shift_title

Status = CalendarConnection.Status
RECENT_LOG_ENTRIES = 20
DELETED_LIST_LIMIT = 100

# Statuses the "only accounts with problems" filter shows. A connection without a chosen calendar syncs
# nothing, so it counts as a problem too (the user has authorized but not finished setting up).
PROBLEM_STATUSES = (Status.NEEDS_REAUTHORIZATION, Status.ERROR, Status.PAUSED)


def pending_filter(prefix: str = "") -> Q:
    """Links that still need a remote write: dirty, not given up to the user's Outlook deletion, and either
    wanted (tracked) or holding an event that may have to go. An untracked link with no event needs nothing."""
    p = prefix
    return (
        Q(**{f"{p}dirty": True})
        & Q(**{f"{p}deleted_in_outlook": False})
        & Q(**{f"{p}moved_in_outlook": False})
        & (Q(**{f"{p}tracked": True}) | ~Q(**{f"{p}remote_event_id": ""}))
    )


def deleted_in_outlook_filter(prefix: str = "") -> Q:
    """Upcoming events the user deleted or moved in Outlook that ShiftDesk still tracks (restore or leave
    them). A past shift's event is history: there is nothing left to decide about it."""
    p = prefix
    return (
        Q(**{f"{p}deleted_in_outlook": True})
        & Q(**{f"{p}tracked": True})
        & (Q(**{f"{p}shift_end__isnull": True}) | Q(**{f"{p}shift_end__gt": timezone.now()}))
    )


def moved_in_outlook_filter(prefix: str = "") -> Q:
    """Upcoming events the user moved in Outlook (another calendar, another time) that ShiftDesk still
    tracks: shown beside the deleted ones, with the same Restore / Leave it."""
    p = prefix
    return (
        Q(**{f"{p}moved_in_outlook": True})
        & Q(**{f"{p}deleted_in_outlook": False})
        & Q(**{f"{p}tracked": True})
        & (Q(**{f"{p}shift_end__isnull": True}) | Q(**{f"{p}shift_end__gt": timezone.now()}))
    )


def site_time_zone() -> str:
    """The site's IANA zone: every instant on these pages is shown in it, like the rest of ShiftDesk."""
    return Site.load().time_zone


def integration_disabled_reasons() -> dict[str, str]:
    """Providers switched off for everyone (e.g. Azure AD OAuth 2 not enabled), with the reason in words.
    Connections of such a provider keep their status but nothing syncs, so the pages say so."""
    reasons = {name: get_backend(name).disabled_reason() for name in settings.SYNC_PROVIDERS}
    return {name: reason for name, reason in reasons.items() if reason}


# --- permission-scoped lookups ---------------------------------------------------------------------------


def get_connection_for_user(user: User) -> CalendarConnection | None:
    return CalendarConnection.objects.filter(user=user).first()


def get_export_job_for_user(user: User, job_id: int) -> ExportJob:
    job = ExportJob.objects.filter(user=user, pk=job_id).first()
    if job is None:
        raise Http404("No such export.")
    return job


def get_deleted_event_link_for_user(user: User, link_id: int) -> EventLink:
    """One of the user's own events deleted or moved in Outlook (what Restore / Leave it act on)."""
    link = (
        EventLink.objects.filter(
            deleted_in_outlook_filter() | moved_in_outlook_filter(), connection__user=user, pk=link_id
        )
        .select_related("connection")
        .first()
    )
    if link is None:
        raise Http404("No such event.")
    return link


def get_connection_for_admin(admin: User, connection_id: int) -> CalendarConnection:
    """Any connection, for a system admin (Integration Status). Everyone else gets a 404."""
    if not admin.is_system_admin:
        raise Http404("No such connection.")
    connection = CalendarConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        raise Http404("No such connection.")
    return connection


# --- the user's own summary ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusView:
    """A connection's state in the words the pages use: key (for CSS and tests), label, and a sentence."""

    key: str
    label: str
    css: str
    is_problem: bool


def status_view(connection: CalendarConnection | None) -> StatusView:
    if connection is None:
        return StatusView("not_connected", "Not connected", "status-muted", False)
    if connection.status == Status.CONNECTED and not connection.calendars_chosen:
        return StatusView("no_calendar", "Connected (no calendar chosen)", "status-warn", True)
    css = {
        Status.CONNECTED: "status-ok",
        Status.NEEDS_REAUTHORIZATION: "status-warn",
        Status.ERROR: "status-error",
        Status.PAUSED: "status-warn",
    }.get(connection.status, "status-error")
    return StatusView(
        connection.status, connection.get_status_display(), css, connection.status != Status.CONNECTED
    )


def pending_count(connection: CalendarConnection) -> int:
    return EventLink.objects.filter(pending_filter(), connection=connection).count()


def recent_log(connection: CalendarConnection) -> list[SyncLogEntry]:
    """The latest log lines, each with `shift_label`: the shift's name and local time, as people know it
    (the log keeps only the shift's id, which means nothing to a user). Two queries whatever the length."""
    entries = list(
        SyncLogEntry.objects.filter(connection=connection).order_by("-at", "-id")[:RECENT_LOG_ENTRIES]
    )
    labels = shift_labels({e.shift_ref for e in entries if e.shift_ref is not None})
    for entry in entries:
        entry.shift_label = (
            "—" if entry.shift_ref is None else labels.get(entry.shift_ref, "A shift that no longer exists")
        )
    return entries


def shift_label(shift: Shift, tz: Any) -> str:
    """The shift as people know it, in the site's time zone: "Reference Desk - Reference, Mon Mar 2, 9:00 AM – 1:00 PM"."""
    start, end = shift.start.astimezone(tz), shift.end.astimezone(tz)
    when = f"{start:%a %b} {start.day}, {_clock(start)} – {_clock(end)}"
    return f"{shift_title(shift.position.name, shift.schedule.name)}, {when}"


def _clock(moment) -> str:
    return f"{moment.hour % 12 or 12}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def shift_labels(shift_ids: set[int]) -> dict[int, str]:
    if not shift_ids:
        return {}
    tz = Site.load().tzinfo
    shifts = Shift.objects.filter(pk__in=shift_ids).select_related("position", "schedule")
    return {shift.pk: shift_label(shift, tz) for shift in shifts}


def deleted_in_outlook(connection: CalendarConnection) -> list[EventLink]:
    """Tracked events the user removed in Outlook, soonest shift first, with their shift for the listing."""
    return list(
        EventLink.objects.filter(deleted_in_outlook_filter(), connection=connection)
        .select_related("shift__position", "shift__schedule")
        .order_by("shift_end", "id")[:DELETED_LIST_LIMIT]
    )


# How a user connects through each provider, in the words of the boxes on the Calendar Sync tab.
CONNECT_WAYS = {
    "microsoft": "Authorize with Microsoft Account in the OAuth2 Authorization box above",
    "exchange": "save your Exchange server and password in the Password Authentication box above",
    "google": "Authorize with Google Account in the Google Authorization box above",
}

# Where a connection's events live and what its account is called, in the user's words: a Google user's events
# are deleted "in Google Calendar", never "in Outlook". Providers not listed are Microsoft's (Outlook, Exchange).
ACCOUNT_KIND = {"microsoft": "Microsoft account", "exchange": "Exchange account", "google": "Google account"}
# Integration Status's two error columns, LibStaffer's words: "Exchange Errors" holds the errors of Microsoft's
# connections (Outlook OAuth 2 and Exchange password), "Google Errors" those of Google's.
ERROR_COLUMN = {"google": "google"}


def account_kind(provider: str) -> str:
    return ACCOUNT_KIND.get(provider, "Microsoft account")


def error_column(provider: str) -> str:
    """Which of Integration Status's error columns a connection's errors go in: "exchange" or "google"."""
    return ERROR_COLUMN.get(provider, "exchange")


@dataclass(frozen=True)
class ProviderView:
    """A connection's provider in the pages' words: its label ("Google Calendar (OAuth 2)"), where its events
    are ("Google Calendar"), what its account is called, and which error column its errors go in."""

    label: str
    place: str
    account_kind: str
    error_column: str


def provider_view(connection: CalendarConnection | None) -> ProviderView | None:
    if connection is None:
        return None
    provider = connection.provider
    return ProviderView(
        connection.get_provider_display(),
        calendar_place(provider),
        account_kind(provider),
        error_column(provider),
    )


def export_unavailable_reason(connection: CalendarConnection | None) -> str:
    """Why Run the Export cannot run for this connection, in words for the user; '' when it can."""
    if connection is None:
        # Point only at a way in that is open: with Azure AD OAuth 2 disabled, the OAuth2 Authorization box
        # says it is unavailable, so sending the user there would be a dead end.
        off = integration_disabled_reasons()
        ways = [
            way for name, way in CONNECT_WAYS.items() if name in settings.SYNC_PROVIDERS and name not in off
        ]
        if not ways:
            return (
                "Calendar Sync is not enabled on this ShiftDesk system, so there is no calendar to export to "
                "yet. Please contact your ShiftDesk admin."
            )
        return f"Connect your calendar first: {' or '.join(ways)}."
    if not connection.calendars_chosen:
        return "Choose a Calendar to Sync shifts with and click Save Calendars first."
    if connection.status == Status.NEEDS_REAUTHORIZATION:
        return f"Your {calendar_place(connection.provider)} authorization has expired: authorize again before exporting."
    if connection.status == Status.PAUSED:
        return "Your calendar sync is paused for confirmation: confirm it below before exporting."
    if connection.status == Status.ERROR:
        return "Your calendar sync has stopped because of an error (see Sync Status below)."
    return ""


def unfinished_export_job(user: User) -> ExportJob | None:
    """The user's export still queued or running, if any (a second click shows it instead of queueing)."""
    unfinished = (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING)
    return ExportJob.objects.filter(user=user, status__in=unfinished).order_by("-id").first()


def latest_export_job(user: User) -> ExportJob | None:
    return ExportJob.objects.filter(user=user).order_by("-created_at", "-id").first()


def export_progress_context(job: ExportJob) -> dict:
    """What the progress fragment shows: the engine's n of m / errors / status, and the errors in words."""
    progress = exports.export_progress(job)
    if not progress["finished"] and not CalendarConnection.objects.filter(user_id=job.user_id).exists():
        # Remove Authorization mid-export took the links with it: nothing will ever finish this job, so
        # the page stops polling and says why (the row itself is the engine's to close).
        progress = {
            **progress,
            "finished": True,
            "status_display": "Stopped",
            "message": "The export stopped because the authorization was removed.",
        }
    errors: list[str] = []
    if progress["errors"]:
        errors = list(
            EventLink.objects.filter(export_job=job)
            .exclude(last_error="")
            .order_by("last_error")
            .values_list("last_error", flat=True)
            .distinct()[:5]
        )
    return {"job": job, "progress": progress, "error_messages": errors, "site_time_zone": site_time_zone()}


def moved_in_outlook(connection: CalendarConnection) -> list[EventLink]:
    """Tracked events the user moved in Outlook, soonest shift first, with their shift for the listing."""
    return list(
        EventLink.objects.filter(moved_in_outlook_filter(), connection=connection)
        .select_related("shift__position", "shift__schedule")
        .order_by("shift_end", "id")[:DELETED_LIST_LIMIT]
    )


# --- Integration Status (system admins) ------------------------------------------------------------------


def _count_links(condition: Q) -> Coalesce:
    """A correlated COUNT of the row's connection's links matching `condition` (0 when not connected)."""
    counted = (
        EventLink.objects.filter(condition, connection__user=OuterRef("pk"))
        .order_by()
        .values("connection__user")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def integration_status_rows(*, problems_only: bool = False) -> QuerySet[User]:
    """Every active account with its connection (one JOIN) and its counts (correlated subqueries): one query
    per page whatever the number of accounts. `problems_only` keeps accounts whose sync needs attention."""
    rows = (
        User.objects.filter(is_active=True)
        .select_related("calendar_connection")
        .annotate(
            pending_changes=_count_links(pending_filter()),
            deleted_in_outlook_count=_count_links(deleted_in_outlook_filter()),
            moved_in_outlook_count=_count_links(moved_in_outlook_filter()),
        )
        .order_by("last_name", "first_name", "email", "pk")
    )
    if problems_only:
        rows = rows.filter(
            Q(calendar_connection__status__in=PROBLEM_STATUSES)
            | Q(calendar_connection__status=Status.CONNECTED, calendar_connection__sync_calendar_id="")
        )
    return rows


def removal_progress(user: User) -> dict | None:
    """Remove Authorization's "also delete future events", run by the worker: how far it got, or None."""
    rows = list(
        RetiringConnection.objects.filter(user=user, successor__isnull=True).values("total", "events")
    )
    if not rows:
        return None
    total = sum(r["total"] or len(r["events"]) for r in rows)
    left = sum(len(r["events"]) for r in rows)
    return {"total": total, "done": max(0, total - left)}
