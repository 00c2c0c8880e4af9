"""The boxes availability puts on other apps' pages (registered in hooks.py): "Outlook Free/Busy" on Manage
Account > Calendar Sync (the user's own busy data) and "Outlook Free/Busy Settings" on Admin > Integrations."""

from __future__ import annotations

from django.http import HttpRequest

from shiftdesk.availability.busy import calendar_word
from shiftdesk.availability.forms import AvailabilitySettingsForm, ShowSubjectsForm
from shiftdesk.availability.models import AvailabilitySettings, BusyInterval, FreeBusyState
from shiftdesk.availability.notifications import notification_summary
from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.scheduling.models import Site


def _local(instant) -> str:
    if instant is None:
        return ""
    return instant.astimezone(Site.load().tzinfo).strftime("%b %-d, %Y, %-I:%M %p")


NO_CALENDAR = (
    "No Calendar to Check Free/Busy Status is saved yet: pick one in Manage Account > Calendar Sync "
    "and save your calendars."
)


def says_no_calendar(state: FreeBusyState) -> bool:
    """Whether the refresher's last outcome was "no Calendar to Check Free/Busy Status is saved". Where the
    connection has one now, that outcome is outdated (see _status) and reads as "not read yet"; the box and
    the week grid's busy times both ask this."""
    return state.status == FreeBusyState.Status.ERROR and state.reason.startswith("No Calendar to Check")


def _status(connection: CalendarConnection | None, state: FreeBusyState | None) -> tuple[str, bool]:
    """(what the Status line says, whether it is a problem), from one source per fact.

    The box shows the Calendar to Check Free/Busy Status from the connection and the status from the
    refresher's last outcome (FreeBusyState). Those two disagreed right after the first Save Calendars: a
    refresh that read the connection before the calendar was saved (or ran between Authorize and Save
    Calendars) had stored "No Calendar ... is saved yet", and the box showed that beside the calendar just
    saved until the next refresh. Whether a calendar is chosen is the connection's fact alone, so it is
    decided from the connection here; an outcome about a missing calendar while one is chosen is outdated
    and reads as "not read yet". (Save Calendars does not make the refresh due by itself: the next one comes
    at the refresher's backoff after that earlier failure, up to the refresh interval; Refresh now reads at once.)
    """
    if connection is None or not connection.freebusy_calendar_id:
        return NO_CALENDAR, connection is not None
    if state is None or says_no_calendar(state):
        return (
            f"Busy times from “{connection.freebusy_calendar_name}” have not been read yet: they are read "
            "at the next refresh, or at once with Refresh now.",
            False,
        )
    return state.describe(), state.status != FreeBusyState.Status.OK


def freebusy_box(request: HttpRequest) -> dict:
    """For the logged-in user about themselves only."""
    user = request.user
    connection = CalendarConnection.objects.filter(user=user).first() if user.is_authenticated else None
    state = FreeBusyState.objects.filter(user=user).first() if user.is_authenticated else None
    outlook = connection is not None  # Outlook through OAuth 2, or Exchange through Password Authentication
    status_text, problem = _status(connection, state)
    return {
        "outlook": outlook,
        # "Google Calendar" for a Google connection (its title and the note that Google gives no subjects).
        "where": calendar_word(connection.provider) if connection else "Outlook",
        "connection": connection,
        "state": state,
        "status_text": status_text,
        "problem": problem,
        "last_refreshed": _local(state.last_refreshed_at) if state else "",
        "interval_count": BusyInterval.objects.filter(user=user).count() if outlook else 0,
        "subjects_form": ShowSubjectsForm(initial={"show_subjects": bool(state and state.show_subjects)}),
        "refresh_minutes": AvailabilitySettings.load().refresh_minutes,
    }


def settings_box(request: HttpRequest) -> dict:
    """Admin > Integrations is a system-admin page; the form posts to a system-admin-only view."""
    settings = AvailabilitySettings.load()
    form = getattr(request, "availability_settings_form", None) or AvailabilitySettingsForm(
        initial={
            "horizon_weeks": settings.horizon_weeks,
            "refresh_minutes": settings.refresh_minutes,
            "unavailable_show_as": settings.unavailable_show_as,
            "warning_show_as": settings.warning_show_as,
        }
    )
    return {"form": form, "settings": settings, "notifications": notification_summary()}
