"""The boxes availability puts on other apps' pages (registered in hooks.py): "Outlook Free/Busy" on Manage
Account > Calendar Sync (the user's own busy data) and "Outlook Free/Busy Settings" on Admin > Integrations."""

from __future__ import annotations

from django.http import HttpRequest

from shiftdesk.availability.forms import AvailabilitySettingsForm, ShowSubjectsForm
from shiftdesk.availability.models import AvailabilitySettings, BusyInterval, FreeBusyState
from shiftdesk.availability.notifications import notification_summary
from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.scheduling.models import Site


def _local(instant) -> str:
    if instant is None:
        return ""
    return instant.astimezone(Site.load().tzinfo).strftime("%b %-d, %Y, %-I:%M %p")


def freebusy_box(request: HttpRequest) -> dict:
    """For the logged-in user about themselves only."""
    user = request.user
    connection = CalendarConnection.objects.filter(user=user).first() if user.is_authenticated else None
    state = FreeBusyState.objects.filter(user=user).first() if user.is_authenticated else None
    outlook = connection is not None  # Outlook through OAuth 2, or Exchange through Password Authentication
    return {
        "outlook": outlook,
        "connection": connection,
        "state": state,
        "status_text": state.describe() if state else "Busy times have not been read from Outlook yet.",
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
