"""Availability pages: the Outlook Free/Busy box's two buttons (own data, any logged-in user), the site's
free/busy settings (system admins), and auto-assign's dry run and Apply (system admins and the schedule's
admins). Views parse, call one function, and redirect or render."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from shiftdesk.accounts.permissions import system_admin_required
from shiftdesk.availability import actions, autoassign
from shiftdesk.availability.forms import AutoAssignApplyForm, AvailabilitySettingsForm, ShowSubjectsForm
from shiftdesk.availability.models import FreeBusyState
from shiftdesk.availability.refresh import refresh_busy_for_user
from shiftdesk.lib import panels
from shiftdesk.lib.bounds import parse_day
from shiftdesk.scheduling import access
from shiftdesk.scheduling.actions import ConflictError
from shiftdesk.scheduling.grid import week_start
from shiftdesk.scheduling.models import Site

# The box's own buttons answer inside the box: the page scrolls to it, so a message at the top of the page
# would be out of sight (base.html leaves these to the box).
IN_BOX = "in-box-freebusy"


def _back_to_box() -> HttpResponse:
    return redirect(reverse("calendar_sync") + "#outlook-freebusy")


@login_required
@require_POST
def refresh_now(request: HttpRequest) -> HttpResponse:
    """Refresh now: read the user's own busy times from Outlook at once (the same step the worker runs)."""
    if refresh_busy_for_user(request.user.pk):
        messages.success(request, "Your busy times were read from Outlook.", extra_tags=IN_BOX)
    else:
        state = FreeBusyState.objects.filter(user=request.user).first()
        if state is None:
            messages.info(request, "Connect your Outlook calendar first.", extra_tags=IN_BOX)
        elif state.claimed_until and state.claimed_until > timezone.now():
            messages.info(
                request, "Your busy times are being read right now; reload in a moment.", extra_tags=IN_BOX
            )
        else:
            messages.error(request, state.describe(), extra_tags=IN_BOX)
    return _back_to_box()


@login_required
@require_POST
def show_subjects(request: HttpRequest) -> HttpResponse:
    """Show meeting subjects to schedulers: the user's own choice about their own meetings."""
    form = ShowSubjectsForm(request.POST)
    form.is_valid()  # a single optional checkbox is always valid
    show = bool(form.cleaned_data.get("show_subjects"))
    actions.do_set_show_subjects(request.user, show=show)
    messages.success(
        request,
        "Schedulers will see your meeting subjects after the next refresh."
        if show
        else "Schedulers see only that you are busy, not your meeting subjects.",
        extra_tags=IN_BOX,
    )
    return _back_to_box()


@system_admin_required
@require_POST
def settings_save(request: HttpRequest) -> HttpResponse:
    """Save Free/Busy Settings (Admin > Integrations). Who: system admins."""
    form = AvailabilitySettingsForm(request.POST)
    if form.is_valid():
        try:
            actions.do_update_availability_settings(**form.cleaned_data, by=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Free/busy settings saved.")
            return redirect(reverse("admin_integrations") + "#outlook-freebusy-settings")
    request.availability_settings_form = form
    boxes = panels.render_panels(panels.ADMIN_INTEGRATIONS, request)
    return render(request, "accounts/admin_integrations.html", {"boxes": boxes}, status=400)


def _week(request: HttpRequest, site: Site) -> dt.date:
    today = timezone.now().astimezone(site.tzinfo).date()
    raw = request.GET.get("week") or request.POST.get("week") or ""
    day, _ = parse_day(raw, today)  # not a date, or outside 2000-2100: this week
    return week_start(day)


@login_required
@require_http_methods(["GET", "POST"])
def auto_assign(request: HttpRequest, schedule_id: int) -> HttpResponse:
    """Auto-assign open slots of a week: GET shows the dry run, POST applies it. Who: system admins and the
    schedule's admins (others: 404 if they cannot see the schedule, else 403)."""
    schedule = access.get_schedule_for_user(request.user, schedule_id, manage=True)
    site = Site.load()
    first_day = _week(request, site)
    grid_url = reverse("schedule_week", args=[schedule.pk]) + f"?week={first_day.isoformat()}"
    if request.method == "POST":
        form = AutoAssignApplyForm(request.POST)
        if form.is_valid():
            try:
                result = autoassign.apply(
                    schedule, first_day, digest=form.cleaned_data["digest"], by=request.user
                )
            except autoassign.ProposalChanged as error:
                messages.warning(request, str(error))
            except (ConflictError, ValidationError) as error:
                messages.error(
                    request, f"Nothing was assigned: {'; '.join(getattr(error, 'messages', [str(error)]))}"
                )
            else:
                n = len(result.assignments)
                messages.success(request, f"Assigned {n} open slot{'s' if n != 1 else ''}.")
                return redirect(grid_url)
    proposal = autoassign.propose(schedule, first_day)
    tz = site.tzinfo

    def when(shift) -> str:
        a, b = shift.start.astimezone(tz), shift.end.astimezone(tz)
        return f"{a:%a %b %-d, %-I:%M %p}–{b:%-I:%M %p}"

    return render(
        request,
        "availability/auto_assign.html",
        {
            "schedule": schedule,
            "proposal": proposal,
            "rows": [(p, when(p.shift)) for p in proposal.assignments],
            "unfilled": [(u, when(u.shift)) for u in proposal.unfilled],
            "first_day": first_day,
            "last_day": first_day + dt.timedelta(days=6),
            "grid_url": grid_url,
        },
    )
