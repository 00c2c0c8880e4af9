"""Forms for the scheduling pages: they parse what people type (local dates and times in the site's zone)
into the arguments of an action. Rules beyond parsing live in the actions, whose ValidationErrors are put
back next to the fields by `add_action_errors()`.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError

from shiftdesk.accounts.models import User
from shiftdesk.lib.bounds import BoundedDateField, BoundedModelMultipleChoiceField, parse_id
from shiftdesk.scheduling.models import NOTE_MAX_LENGTH, Position, Schedule, localize

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]


def add_action_errors(form: forms.Form, error: ValidationError) -> None:
    """Show an action's ValidationError next to the matching fields (or above the form)."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


def staff_label(user: User) -> str:
    name = user.get_full_name()
    return f"{name} ({user.email})" if name else user.email


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return staff_label(obj)


class StaffMultipleChoiceField(BoundedModelMultipleChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return staff_label(obj)


def _combine(form: forms.Form, day_field: str, time_field: str, tz: zoneinfo.ZoneInfo) -> datetime | None:
    day, at = form.cleaned_data.get(day_field), form.cleaned_data.get(time_field)
    if day is None or at is None:
        return None
    return localize(datetime.combine(day, at), tz)


class ShiftForm(forms.Form):
    """One shift: a local date and start/end times; an end at or before the start means the next day."""

    position = forms.ModelChoiceField(
        Position.objects.all(), label="Position", empty_label="Choose a position"
    )
    date = BoundedDateField(label="Date", widget=DATE)
    start_time = forms.TimeField(label="Start time", widget=TIME)
    end_time = forms.TimeField(
        label="End time", widget=TIME, help_text="An end time before the start time means the next day."
    )
    location = forms.CharField(label="Location", max_length=200, required=False)
    staff_needed = forms.IntegerField(label="Staff needed", min_value=1, max_value=100, initial=1)
    note = forms.CharField(
        label="Note", widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=NOTE_MAX_LENGTH
    )

    def __init__(self, *args, tz: zoneinfo.ZoneInfo, **kwargs):
        super().__init__(*args, **kwargs)
        self.tz = tz

    def clean(self):
        data = super().clean()
        start = _combine(self, "date", "start_time", self.tz)
        end_at = data.get("end_time")
        if start is not None and end_at is not None:
            day = data["date"] + timedelta(days=1) if end_at <= data["start_time"] else data["date"]
            data["start"] = start
            data["end"] = localize(datetime.combine(day, end_at), self.tz)
        return data

    def shift_fields(self) -> dict:
        """The cleaned fields as do_create_shift / do_update_shift take them."""
        names = ("position", "location", "start", "end", "staff_needed", "note")
        return {name: self.cleaned_data[name] for name in names}

    @classmethod
    def initial_for(cls, shift, tz: zoneinfo.ZoneInfo) -> dict:
        start, end = shift.start.astimezone(tz), shift.end.astimezone(tz)
        return {
            "position": shift.position_id,
            "date": start.date(),
            "start_time": start.time(),
            "end_time": end.time(),
            "location": shift.location,
            "staff_needed": shift.staff_needed,
            "note": shift.note,
        }


class RepeatShiftForm(forms.Form):
    """A weekly pattern over a date range, e.g. a 15-week semester, optionally with staff on every shift."""

    position = forms.ModelChoiceField(
        Position.objects.all(), label="Position", empty_label="Choose a position"
    )
    first_date = BoundedDateField(label="First day", widget=DATE)
    last_date = BoundedDateField(label="Last day", widget=DATE)
    weekdays = forms.TypedMultipleChoiceField(
        label="Repeat on", choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    start_time = forms.TimeField(label="Start time", widget=TIME)
    end_time = forms.TimeField(
        label="End time", widget=TIME, help_text="An end time before the start time means the next day."
    )
    location = forms.CharField(label="Location", max_length=200, required=False)
    staff_needed = forms.IntegerField(label="Staff needed", min_value=1, max_value=100, initial=1)
    note = forms.CharField(
        label="Note", widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=NOTE_MAX_LENGTH
    )
    assignees = StaffMultipleChoiceField(
        User.objects.none(),
        label="Assign to every shift",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    override_conflicts = forms.BooleanField(label="Assign anyway", required=False)

    def __init__(self, *args, schedule: Schedule, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignees"].queryset = schedule.staff.filter(is_active=True)


class AssignForm(forms.Form):
    """Who to put on a shift: the grid's box takes a roster member's name or email address (its combobox
    suggests both), the assign page a choice from the roster list (an email address)."""

    staff = forms.CharField(
        label="Staff member",
        max_length=320,
        error_messages={"required": "Type the name or email address of someone on the roster."},
    )
    override_conflicts = forms.BooleanField(label="Assign anyway", required=False)

    def __init__(self, *args, schedule: Schedule, **kwargs):
        super().__init__(*args, **kwargs)
        self.schedule = schedule

    def clean_staff(self) -> User:
        value = " ".join(self.cleaned_data["staff"].split())
        staff = self.schedule.staff.filter(is_active=True)
        if value.isdigit():  # an id; parse_id: "²" is a digit to isdigit() but not to int()
            user = staff.filter(pk=parse_id(value) or 0).first()
        elif "@" in value:
            user = staff.filter(email__iexact=value).first()
        else:
            # A name: "First Last" as the roster shows it, case and spacing aside. Two people of the same
            # name cannot be told apart by it, so then the email address is asked for.
            wanted = value.casefold()
            people = staff.only("first_name", "last_name", "email")
            named = [u for u in people if " ".join(u.get_full_name().split()).casefold() == wanted]
            if len(named) > 1:
                raise ValidationError(
                    f"{len(named)} people on the roster are called {value}; type the email address."
                )
            user = named[0] if named else None
        if user is None:
            raise ValidationError(f"Choose someone on the {self.schedule} roster.")
        return user


class ScheduleForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200)
    active = forms.BooleanField(
        label="Active",
        required=False,
        initial=True,
        help_text="Shifts of an inactive schedule are taken off staff calendars and dashboards.",
    )
    admins = StaffMultipleChoiceField(
        User.objects.none(),
        label="Schedule admins",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Regular users who may add, edit and delete this schedule's shifts and assign its staff.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["admins"].queryset = User.objects.filter(is_active=True, role=User.Role.REGULAR)


class RosterForm(forms.Form):
    staff = StaffMultipleChoiceField(
        User.objects.none(),
        label="Staff on this schedule",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = User.objects.filter(is_active=True)


class PositionForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200)


class SiteForm(forms.Form):
    name = forms.CharField(label="Site name", max_length=200)
    time_zone = forms.ChoiceField(
        label="Time zone",
        choices=[(z, z) for z in sorted(zoneinfo.available_timezones())],
        help_text="Shift times are entered and shown in this zone.",
    )
    reminder_minutes = forms.IntegerField(
        label="Reminder before shift (minutes)",
        min_value=0,
        max_value=10080,
        help_text="The reminder of calendar events of shifts, in minutes before the shift starts.",
    )


class TimeOffForm(forms.Form):
    """Time off in local dates; without times it covers whole days."""

    start_date = BoundedDateField(label="From", widget=DATE)
    start_time = forms.TimeField(label="From time", widget=TIME, required=False, help_text="Empty: all day.")
    end_date = BoundedDateField(label="To", widget=DATE)
    end_time = forms.TimeField(label="To time", widget=TIME, required=False, help_text="Empty: all day.")
    repeat_weekly = forms.BooleanField(label="Repeats weekly", required=False)
    repeat_until = BoundedDateField(label="Repeat until", widget=DATE, required=False)
    reason = forms.CharField(label="Reason", max_length=300, required=False)

    def __init__(self, *args, tz: zoneinfo.ZoneInfo, **kwargs):
        super().__init__(*args, **kwargs)
        self.tz = tz

    def clean(self):
        data = super().clean()
        start_date, end_date = data.get("start_date"), data.get("end_date")
        if start_date is None or end_date is None:
            return data
        start_at = data.get("start_time") or time(0)
        if data.get("end_time") is not None:
            end = datetime.combine(end_date, data["end_time"])
        else:
            end = datetime.combine(end_date + timedelta(days=1), time(0))
        data["start"] = localize(datetime.combine(start_date, start_at), self.tz)
        data["end"] = localize(end, self.tz)
        return data


class UpcomingRangeForm(forms.Form):
    days = forms.TypedChoiceField(
        label="Show",
        coerce=int,
        initial=7,
        required=False,
        choices=[
            (1, "Today"),
            (7, "Next 7 days"),
            (14, "Next 14 days"),
            (30, "Next 30 days"),
            (90, "Next 90 days"),
        ],
    )
