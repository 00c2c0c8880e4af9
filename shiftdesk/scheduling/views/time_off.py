"""Time off: staff ask for it (one-off or weekly); system admins approve or deny.

Who: anyone logged in sees and withdraws their own; system admins see everyone's and decide.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from shiftdesk.scheduling import access, actions
from shiftdesk.scheduling.forms import TimeOffForm, add_action_errors
from shiftdesk.scheduling.models import Site, TimeOff


def current_time_off(qs, tz) -> list[TimeOff]:
    """Time off not yet over, each with `.when` in words (local time) for the table."""
    today = timezone.now().astimezone(tz).date()
    rows = list(
        qs.filter(
            Q(repeat_weekly=False, end__gt=timezone.now()) | Q(repeat_weekly=True, repeat_until__gte=today)
        )
    )
    for row in rows:
        row.when = row.describe(tz)
    return rows


@login_required
def time_off_list(request: HttpRequest) -> HttpResponse:
    site = Site.load()
    if request.method == "POST":
        form = TimeOffForm(request.POST, tz=site.tzinfo)
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.do_request_time_off(
                    request.user,
                    start=data["start"],
                    end=data["end"],
                    repeat_weekly=data["repeat_weekly"],
                    repeat_until=data["repeat_until"],
                    reason=data["reason"],
                    by=request.user,
                )
            except ValidationError as e:
                add_action_errors(form, e)
            else:
                messages.success(request, "Asked for time off. An admin will approve or deny it.")
                return redirect("time_off_list")
    else:
        form = TimeOffForm(tz=site.tzinfo)
    mine = current_time_off(TimeOff.objects.filter(user=request.user), site.tzinfo)
    pending = others = None
    if request.user.is_system_admin:
        everyone = current_time_off(TimeOff.objects.select_related("user"), site.tzinfo)
        pending = [t for t in everyone if t.status == TimeOff.Status.PENDING]
        others = [t for t in everyone if t.status != TimeOff.Status.PENDING]
    return render(
        request,
        "scheduling/time_off.html",
        {"form": form, "mine": mine, "pending": pending, "others": others, "site": site},
        status=400 if form.is_bound else 200,
    )


@login_required
@require_POST
def time_off_decide(request: HttpRequest, time_off_id: int) -> HttpResponse:
    """Approve or Deny. Who: system admins."""
    time_off = access.get_time_off_for_user(request.user, time_off_id, decide=True)
    approve = request.POST.get("decision") == "approve"
    actions.do_decide_time_off(time_off, approve=approve, by=request.user)
    messages.success(request, f"{'Approved' if approve else 'Denied'} time off of {time_off.user}.")
    return redirect("time_off_list")


@login_required
@require_POST
def time_off_cancel(request: HttpRequest, time_off_id: int) -> HttpResponse:
    """Withdraw. Who: the requester (system admins too, for anyone's)."""
    time_off = access.get_time_off_for_user(request.user, time_off_id)
    actions.do_cancel_time_off(time_off, by=request.user)
    messages.success(request, "Withdrew the time off.")
    return redirect("time_off_list")
