"""Schedule list, the schedule week grid, and assigning/unassigning staff from it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.html import escape
from django.views.decorators.http import require_POST

from shiftdesk.lib.bounds import parse_day, parse_id
from shiftdesk.scheduling import access, actions
from shiftdesk.scheduling.forms import AssignForm, add_action_errors
from shiftdesk.scheduling.grid import (
    CellNote,
    Person,
    build_week_grid,
    render_grid_body,
    render_grid_sections,
    render_roster_datalist,
    render_shift_cell,
    week_start,
)
from shiftdesk.scheduling.models import Site
from shiftdesk.scheduling.views.common import safe_next, shift_grid_url


@login_required
def schedule_list(request: HttpRequest) -> HttpResponse:
    """Schedules. Who: anyone logged in; they see the schedules they work on or administer (admins: all)."""
    schedules = access.schedules_for_user(request.user).order_by("-active", "name")
    managed = set(request.user.administered_schedules.values_list("pk", flat=True))
    return render(
        request,
        "scheduling/schedule_list.html",
        {"schedules": schedules, "managed": managed, "is_admin": request.user.is_system_admin},
    )


@login_required
def schedule_week(request: HttpRequest, schedule_id: int) -> HttpResponse:
    """The week grid. Who: the schedule's staff, its schedule admins, system admins. Assign forms: managers."""
    schedule = access.get_schedule_for_user(request.user, schedule_id)
    site = Site.load()
    today = timezone.now().astimezone(site.tzinfo).date()
    day, understood = parse_day(request.GET.get("week"), today)
    if not understood:
        messages.warning(request, "That is not a date between 2000 and 2100; showing this week.")
    grid = build_week_grid(schedule, week_start(day), site)
    can_manage = access.can_manage_schedule(request.user, schedule)
    undo_offer = _undo_offer(request.GET.get("undo", ""), schedule) if can_manage else None
    return render(
        request,
        "scheduling/schedule_week.html",
        {
            "schedule": schedule,
            "grid": grid,
            "site": site,
            "today": today,
            "can_manage": can_manage,
            "grid_body": render_grid_body(grid, can_manage=can_manage, csrf_token=get_token(request)),
            "roster_datalist": render_roster_datalist(grid) if can_manage else "",
            "grid_sections": render_grid_sections(grid, can_manage=can_manage),
            "this_week": week_start(today),
            # The day a phone shows first (one day at a time): today in this week, else the week's first day.
            "phone_day": grid.days.index(today) if today in grid.days else 0,
            "undo_offer": undo_offer,
        },
    )


def _undo_offer(raw: str, schedule) -> dict | None:
    """After an unassign without script (a full page load), the grid offers Undo for it: `undo` is
    "<shift id>-<user id>". Only for a shift of this schedule, a person on its roster who is not on the shift
    (again); anything else is ignored, so the parameter cannot be used to probe."""
    shift_raw, _, user_raw = raw.partition("-")
    shift_id, user_id = parse_id(shift_raw), parse_id(user_raw)
    if not shift_id or not user_id:
        return None
    shift = schedule.shifts.select_related("position").filter(pk=shift_id).first()
    person = schedule.staff.filter(is_active=True, pk=user_id).first()
    if shift is None or person is None or shift.assignments.filter(user=person).exists():
        return None
    return {"shift": shift, "person": person}


def _assign_page(request, shift, site, form, conflicts, status=200, chosen=None) -> HttpResponse:
    return render(
        request,
        "scheduling/assign.html",
        {
            "shift": shift,
            "site": site,
            "form": form,
            "conflicts": conflicts,
            "chosen": chosen,
            "roster": shift.schedule.staff.filter(is_active=True).order_by(
                "first_name", "last_name", "email"
            ),
            "assignees": [a.user for a in shift.assignments.select_related("user")],
            "back": shift_grid_url(shift, site),
        },
        status=status,
    )


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _cell(request: HttpRequest, shift, site: Site, note: CellNote) -> HttpResponse:
    """The in-place answer for htmx: the shift's cell as the grid shows it, plus the page's live region
    (out of band) so screen readers hear what happened. Always 200: htmx swaps only successful answers, and
    errors and conflicts are shown in the cell itself."""
    said = note.error or (
        f"Assigning {note.staff} would create conflicts; press Assign anyway to assign them."
        if note.conflicts
        else note.status
    )
    status = (
        f'<p id="grid-status" class="visually-hidden" role="status" hx-swap-oob="true">{escape(said)}</p>'
    )
    body = render_shift_cell(shift, site, csrf_token=get_token(request), note=note) + status
    return HttpResponse(body)


@login_required
def shift_assign(request: HttpRequest, shift_id: int) -> HttpResponse:
    """Assign someone to a shift. Conflicts (overlap, time off, ...) show as warnings until "Assign anyway".

    Who: schedule admins of the shift's schedule and system admins. From the grid (htmx) the answer is the
    shift's cell, updated in place; without script, the assign page or a redirect back to the week.
    """
    shift = access.get_shift_for_user(request.user, shift_id, manage=True)
    site = Site.load()
    if request.method == "POST" and "unassign" in request.POST:
        # The grid's "×" buttons share the shift's one form (see grid.render_grid_body).
        return _unassign(request, shift, site, request.POST["unassign"])
    if request.method == "POST" and "undo" in request.POST:
        return _undo_unassign(request, shift, site, request.POST["undo"])
    if request.method != "POST":
        return _assign_page(request, shift, site, AssignForm(schedule=shift.schedule), [])
    htmx = _is_htmx(request)
    form = AssignForm(request.POST, schedule=shift.schedule)
    if not form.is_valid():
        if htmx:
            error = " ".join(form.errors.get("staff", [])) or "Type a name or email address from the roster."
            return _cell(request, shift, site, CellNote(error=error, staff=request.POST.get("staff", "")))
        return _assign_page(request, shift, site, form, [], status=400)
    staff = form.cleaned_data["staff"]
    override = form.cleaned_data["override_conflicts"]
    try:
        result = actions.do_bulk_assign_staff([(shift, staff)], by=request.user, override_conflicts=override)
    except actions.ConflictError as e:
        if htmx:
            conflicts = [c.message for c in e.conflicts]
            return _cell(request, shift, site, CellNote(conflicts=conflicts, staff=str(staff)))
        # Keep who they chose; ask for the explicit override. The checkbox starts unticked on purpose.
        form = AssignForm({"staff": staff.email, "override_conflicts": False}, schedule=shift.schedule)
        form.is_valid()
        if override is False and request.POST.get("confirming"):
            form.add_error("override_conflicts", "Tick “Assign anyway” to assign despite the warnings above.")
        return _assign_page(request, shift, site, form, e.conflicts, status=409, chosen=staff)
    except ValidationError as e:
        if htmx:
            error = " ".join(
                e.message_dict.get("user", e.messages) if hasattr(e, "error_dict") else e.messages
            )
            return _cell(request, shift, site, CellNote(error=error, staff=request.POST.get("staff", "")))
        if hasattr(e, "error_dict") and "user" in e.message_dict:
            form.add_error("staff", e.message_dict["user"])
        else:
            add_action_errors(form, e)
        return _assign_page(request, shift, site, form, [], status=400)
    note = " despite the warnings" if result.conflicts else ""
    said = f"Assigned {staff} to {shift.position}{note}."
    if htmx:
        shift.refresh_from_db()
        full = shift.assignments.count() >= shift.staff_needed
        # Focus stays in the cell: on the box (same id, htmx keeps it) while the shift has open slots, else on
        # the person just assigned (their "×"), since the box is gone.
        return _cell(request, shift, site, CellNote(status=said, focus_person=staff.pk if full else None))
    messages.success(request, said)
    return redirect(safe_next(request, shift_grid_url(shift, site)))


@login_required
@require_POST
def shift_unassign(request: HttpRequest, shift_id: int) -> HttpResponse:
    """Take someone off a shift. Who: schedule admins of the shift's schedule and system admins."""
    shift = access.get_shift_for_user(request.user, shift_id, manage=True)
    return _unassign(request, shift, Site.load(), request.POST.get("user", ""))


def _unassign(request: HttpRequest, shift, site: Site, user_id: str) -> HttpResponse:
    """Unassign, answered with an Undo: in the cell (htmx) or beside the success message (no script)."""
    wanted = parse_id(user_id)  # not int(): "²".isdigit() is True, and 21 digits overflow the column
    assignment = shift.assignments.select_related("user").filter(user_id=wanted).first() if wanted else None
    if assignment is None:
        if _is_htmx(request):
            return _cell(request, shift, site, CellNote(error="That person is not on this shift any more."))
        messages.error(request, "That person is not on this shift any more.")
        return redirect(safe_next(request, shift_grid_url(shift, site)))
    user = assignment.user
    actions.do_unassign_staff(shift, user, by=request.user)
    said = f"Unassigned {user} from {shift.position}."
    if _is_htmx(request):
        undo = Person(user.pk, str(user), user.email)
        return _cell(request, shift, site, CellNote(status=said, undo=undo))
    messages.success(request, said)
    grid = shift_grid_url(shift, site)
    target = safe_next(request, grid)
    return redirect(f"{grid}&undo={shift.pk}-{user.pk}" if target == grid else target)


def _undo_unassign(request: HttpRequest, shift, site: Site, user_id: str) -> HttpResponse:
    """Undo: put the person just unassigned back. They were on the shift a moment ago, so the conflict
    warnings they were assigned over are not asked again (override); the roster and capacity rules still hold."""
    wanted = parse_id(user_id)
    staff = shift.schedule.staff.filter(is_active=True, pk=wanted).first() if wanted else None
    if staff is None:
        error = "That person is no longer on the roster."
        if _is_htmx(request):
            return _cell(request, shift, site, CellNote(error=error))
        messages.error(request, error)
        return redirect(safe_next(request, shift_grid_url(shift, site)))
    try:
        actions.do_bulk_assign_staff([(shift, staff)], by=request.user, override_conflicts=True)
    except ValidationError as e:
        if _is_htmx(request):
            return _cell(request, shift, site, CellNote(error=" ".join(e.messages)))
        messages.error(request, " ".join(e.messages))
        return redirect(safe_next(request, shift_grid_url(shift, site)))
    said = f"Assigned {staff} to {shift.position} again."
    if _is_htmx(request):
        return _cell(request, shift, site, CellNote(status=said, focus_person=staff.pk))
    messages.success(request, said)
    return redirect(safe_next(request, shift_grid_url(shift, site)))
