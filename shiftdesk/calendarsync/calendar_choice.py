"""Choosing the two calendars, the same for every provider: the form, its initial values, and Save Calendars.

A provider lists the mailbox's calendars (objects with `id`, `name`, `is_default`, `can_edit`) and hands them
here; the OAuth 2 Authorization box and the Password Authentication box then behave identically.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest

from shiftdesk.calendarsync import actions
from shiftdesk.calendarsync.models import CalendarConnection


class ChooseCalendarsForm(forms.Form):
    """Calendar to Sync shifts with (writable calendars only) / Calendar to Check Free/Busy Status (any)."""

    sync_calendar = forms.ChoiceField(label="Calendar to Sync shifts with")
    freebusy_calendar = forms.ChoiceField(label="Calendar to Check Free/Busy Status")

    def __init__(self, *args: Any, calendars: Sequence[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calendars = {c.id: c for c in calendars}
        self.fields["sync_calendar"].choices = [(c.id, _label(c)) for c in calendars if c.can_edit]
        self.fields["freebusy_calendar"].choices = [(c.id, _label(c)) for c in calendars]


def _label(calendar: Any) -> str:
    """A calendar's name; one another person shared with the user says whose it is."""
    owner = shared_owner(calendar)
    if not owner:
        return calendar.name
    return f"{calendar.name} (shared by {getattr(calendar, 'owner_name', '') or owner})"


def shared_owner(calendar: Any) -> str:
    """The address of the mailbox a calendar lives in when another person shared it with the user; ''."""
    return str(getattr(calendar, "shared_owner", "") or "")


def calendar_choice_context(connection: CalendarConnection, calendars: Sequence[Any]) -> dict:
    """The box's form, preselecting the saved choice or else the default calendar, and whether the saved sync
    calendar has disappeared from the mailbox."""
    default = next((c.id for c in calendars if c.is_default), calendars[0].id if calendars else "")
    known = {c.id for c in calendars}
    form = ChooseCalendarsForm(
        calendars=calendars,
        initial={
            "sync_calendar": connection.sync_calendar_id if connection.sync_calendar_id in known else default,
            "freebusy_calendar": (
                connection.freebusy_calendar_id if connection.freebusy_calendar_id in known else default
            ),
        },
    )
    return {
        "calendars_form": form,
        "sync_calendar_missing": bool(
            connection.sync_calendar_id and connection.sync_calendar_id not in known
        ),
    }


def save_calendar_choice(
    request: HttpRequest, connection: CalendarConnection, calendars: Sequence[Any], *, where: str
) -> bool:
    """Save Calendars from a POST; tells the user the outcome. `where` names the calendar app ("Outlook")."""
    form = ChooseCalendarsForm(request.POST, calendars=calendars)
    if not form.is_valid():
        messages.error(request, f"Choose a calendar from each list (the list may have changed in {where}).")
        return False
    sync_calendar = form.calendars[form.cleaned_data["sync_calendar"]]
    freebusy_calendar = form.calendars[form.cleaned_data["freebusy_calendar"]]
    actions.do_choose_calendars(
        connection,
        sync_calendar_id=sync_calendar.id,
        sync_calendar_name=sync_calendar.name,
        freebusy_calendar_id=freebusy_calendar.id,
        freebusy_calendar_name=freebusy_calendar.name,
        sync_calendar_owner=shared_owner(sync_calendar),
        freebusy_calendar_owner=shared_owner(freebusy_calendar),
    )
    messages.success(
        request,
        f"Calendars saved: your shifts will be synced with “{sync_calendar.name}” and your free/busy status "
        f"checked in “{freebusy_calendar.name}”.",
    )
    return True
