"""Admin pages for the scheduling setup: Admin > Schedules Settings (the site), schedules with their roster
and schedule admins, and positions. Who: system admins only.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from shiftdesk.accounts.permissions import system_admin_required
from shiftdesk.scheduling import access, actions
from shiftdesk.scheduling.forms import PositionForm, RosterForm, ScheduleForm, SiteForm, add_action_errors
from shiftdesk.scheduling.models import Position, Schedule, Site


@system_admin_required
def admin_schedules(request: HttpRequest) -> HttpResponse:
    """Admin > Schedules Settings: site name, time zone, reminder; links to schedules and positions."""
    site = Site.load()
    if request.method == "POST":
        form = SiteForm(request.POST)
        if form.is_valid():
            try:
                actions.do_update_site(site, **form.cleaned_data, by=request.user)
            except ValidationError as e:
                add_action_errors(form, e)
            else:
                messages.success(request, "Saved the schedules settings.")
                return redirect("admin_schedules")
    else:
        form = SiteForm(
            initial={
                "name": site.name,
                "time_zone": site.time_zone,
                "reminder_minutes": site.reminder_minutes,
            }
        )
    return render(
        request,
        "scheduling/admin_schedules.html",
        {
            "form": form,
            "schedules": Schedule.objects.order_by("-active", "name"),
            "positions": Position.objects.all(),
        },
        status=400 if form.is_bound else 200,
    )


def _save_schedule(schedule: Schedule | None, data: dict, by) -> Schedule:
    """Create or edit name, active and schedule admins in one transaction (nothing half-saved)."""
    with transaction.atomic():
        if schedule is None:
            schedule = actions.do_create_schedule(name=data["name"], by=by)
        else:
            schedule = actions.do_rename_schedule(schedule, name=data["name"], by=by)
        actions.do_set_schedule_active(schedule, active=data["active"], by=by)
        actions.do_set_schedule_admins(schedule, admins=data["admins"], by=by)
    return schedule


@system_admin_required
def schedule_create(request: HttpRequest) -> HttpResponse:
    return _schedule_form(request, None)


@system_admin_required
def schedule_edit(request: HttpRequest, schedule_id: int) -> HttpResponse:
    return _schedule_form(request, access.get_schedule_for_user(request.user, schedule_id, manage=True))


def _schedule_form(request: HttpRequest, schedule: Schedule | None) -> HttpResponse:
    if request.method == "POST":
        form = ScheduleForm(request.POST)
        if form.is_valid():
            try:
                saved = _save_schedule(schedule, form.cleaned_data, request.user)
            except ValidationError as e:
                add_action_errors(form, e)
            else:
                messages.success(request, f"Saved schedule “{saved}”.")
                return redirect("schedule_week", saved.pk)
    elif schedule is not None:
        form = ScheduleForm(
            initial={"name": schedule.name, "active": schedule.active, "admins": list(schedule.admins.all())}
        )
    else:
        form = ScheduleForm(initial={"active": True})
    return render(
        request,
        "scheduling/schedule_form.html",
        {"form": form, "schedule": schedule},
        status=400 if form.is_bound else 200,
    )


@system_admin_required
def schedule_roster(request: HttpRequest, schedule_id: int) -> HttpResponse:
    """Who works on this schedule. Taking someone off the roster keeps the shifts they already have."""
    schedule = access.get_schedule_for_user(request.user, schedule_id, manage=True)
    if request.method == "POST":
        form = RosterForm(request.POST)
        if form.is_valid():
            actions.do_set_schedule_roster(schedule, staff=form.cleaned_data["staff"], by=request.user)
            messages.success(request, f"Saved the {schedule} roster.")
            return redirect("schedule_roster", schedule.pk)
    else:
        form = RosterForm(initial={"staff": list(schedule.staff.all())})
    return render(
        request,
        "scheduling/schedule_roster.html",
        {"form": form, "schedule": schedule},
        status=400 if form.is_bound else 200,
    )


@system_admin_required
def position_list(request: HttpRequest) -> HttpResponse:
    """Positions, and the form to add one."""
    if request.method == "POST":
        form = PositionForm(request.POST)
        if form.is_valid():
            try:
                position = actions.do_create_position(name=form.cleaned_data["name"], by=request.user)
            except ValidationError as e:
                add_action_errors(form, e)
            else:
                messages.success(request, f"Added position “{position}”.")
                return redirect("position_list")
    else:
        form = PositionForm()
    return render(
        request,
        "scheduling/position_list.html",
        {"form": form, "positions": Position.objects.all()},
        status=400 if form.is_bound else 200,
    )


@system_admin_required
def position_edit(request: HttpRequest, position_id: int) -> HttpResponse:
    """Rename (upcoming events follow) or delete an unused position."""
    position = access.get_position_for_user(request.user, position_id)
    if request.method == "POST" and "delete" in request.POST:
        form = PositionForm({"name": position.name})
        form.is_valid()
        try:
            actions.do_delete_position(position, by=request.user)
        except ValidationError as e:
            add_action_errors(form, e)
        else:
            messages.success(request, f"Deleted position “{position.name}”.")
            return redirect("position_list")
    elif request.method == "POST":
        form = PositionForm(request.POST)
        if form.is_valid():
            try:
                actions.do_rename_position(position, name=form.cleaned_data["name"], by=request.user)
            except ValidationError as e:
                add_action_errors(form, e)
            else:
                messages.success(request, "Saved the position.")
                return redirect("position_list")
    else:
        form = PositionForm(initial={"name": position.name})
    return render(
        request,
        "scheduling/position_form.html",
        {"form": form, "position": position},
        status=400 if request.method == "POST" else 200,
    )
