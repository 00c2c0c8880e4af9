"""Add, edit and delete shifts, one at a time or as a weekly repeat.

Who: the schedule's schedule admins and system admins (access.get_*_for_user(manage=True)).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from shiftdesk.lib.bounds import parse_day
from shiftdesk.scheduling import access, actions
from shiftdesk.scheduling.forms import RepeatShiftForm, ShiftForm, add_action_errors
from shiftdesk.scheduling.models import Site
from shiftdesk.scheduling.views.common import grid_url, shift_grid_url


@login_required
def shift_create(request: HttpRequest, schedule_id: int) -> HttpResponse:
    schedule = access.get_schedule_for_user(request.user, schedule_id, manage=True)
    site = Site.load()
    if request.method == "POST":
        form = ShiftForm(request.POST, tz=site.tzinfo)
        if form.is_valid():
            try:
                shift = actions.do_create_shift(schedule, **form.shift_fields(), by=request.user)
            except ValidationError as e:
                add_action_errors(form, e)
            else:
                messages.success(request, f"Added a {shift.position} shift.")
                return redirect(shift_grid_url(shift, site))
    else:
        initial = {"staff_needed": 1}
        day, understood = parse_day(request.GET.get("date"), None)
        if day is not None and understood:
            initial["date"] = day
        form = ShiftForm(initial=initial, tz=site.tzinfo)
    return render(
        request,
        "scheduling/shift_form.html",
        {"form": form, "schedule": schedule, "site": site, "title": "Add shift", "back": grid_url(schedule)},
        status=400 if form.is_bound else 200,
    )


@login_required
def shift_edit(request: HttpRequest, shift_id: int) -> HttpResponse:
    shift = access.get_shift_for_user(request.user, shift_id, manage=True)
    site = Site.load()
    if request.method == "POST":
        form = ShiftForm(request.POST, tz=site.tzinfo)
        if form.is_valid():
            try:
                shift = actions.do_update_shift(shift, **form.shift_fields(), by=request.user)
            except ValidationError as e:
                add_action_errors(form, e)
            else:
                messages.success(request, "Saved the shift.")
                return redirect(shift_grid_url(shift, site))
    else:
        form = ShiftForm(initial=ShiftForm.initial_for(shift, site.tzinfo), tz=site.tzinfo)
    return render(
        request,
        "scheduling/shift_form.html",
        {
            "form": form,
            "schedule": shift.schedule,
            "shift": shift,
            "site": site,
            "title": "Edit shift",
            "back": shift_grid_url(shift, site),
            "assignees": [a.user for a in shift.assignments.select_related("user")],
        },
        status=400 if form.is_bound else 200,
    )


@login_required
def shift_delete(request: HttpRequest, shift_id: int) -> HttpResponse:
    """Confirm, then delete; everyone on the shift has it taken off their calendar."""
    shift = access.get_shift_for_user(request.user, shift_id, manage=True)
    site = Site.load()
    back = shift_grid_url(shift, site)
    if request.method == "POST":
        actions.do_delete_shift(shift, by=request.user)
        messages.success(request, "Deleted the shift.")
        return redirect(back)
    return render(
        request,
        "scheduling/shift_delete.html",
        {
            "shift": shift,
            "site": site,
            "back": back,
            "assignees": [a.user for a in shift.assignments.select_related("user")],
        },
    )


@login_required
def shift_repeat(request: HttpRequest, schedule_id: int) -> HttpResponse:
    """Add weekly shifts over a date range; all are created (and assigned) or none."""
    schedule = access.get_schedule_for_user(request.user, schedule_id, manage=True)
    site = Site.load()
    conflicts = []
    if request.method == "POST":
        form = RepeatShiftForm(request.POST, schedule=schedule)
        if form.is_valid():
            data = form.cleaned_data
            try:
                shifts = actions.do_create_weekly_shifts(
                    schedule,
                    position=data["position"],
                    location=data["location"],
                    first_date=data["first_date"],
                    last_date=data["last_date"],
                    weekdays=data["weekdays"],
                    start_time=data["start_time"],
                    end_time=data["end_time"],
                    staff_needed=data["staff_needed"],
                    note=data["note"],
                    assignees=list(data["assignees"]),
                    override_conflicts=data["override_conflicts"],
                    by=request.user,
                )
            except actions.ConflictError as e:
                conflicts = e.conflicts
                form.add_error(
                    "override_conflicts", "Tick “Assign anyway” to create the shifts despite the warnings."
                )
            except ValidationError as e:
                add_action_errors(form, e)
            else:
                messages.success(request, f"Added {len(shifts)} shifts.")
                return redirect(grid_url(schedule, data["first_date"]))
    else:
        form = RepeatShiftForm(initial={"staff_needed": 1}, schedule=schedule)
    return render(
        request,
        "scheduling/shift_repeat.html",
        {
            "form": form,
            "schedule": schedule,
            "site": site,
            "conflicts": conflicts,
            "back": grid_url(schedule),
        },
        status=400 if form.is_bound else 200,
    )
