"""The dashboard: My Upcoming Shifts and my upcoming time off. Who: anyone logged in, about themselves."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from shiftdesk.scheduling.forms import UpcomingRangeForm
from shiftdesk.scheduling.models import Assignment, Site, TimeOff, localize
from shiftdesk.scheduling.views.time_off import current_time_off


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    site = Site.load()
    tz = site.tzinfo
    now = timezone.now()
    form = UpcomingRangeForm(request.GET or None)
    days = 7
    if form.is_bound and form.is_valid() and form.cleaned_data["days"]:
        days = form.cleaned_data["days"]
    elif not form.is_bound:
        form = UpcomingRangeForm(initial={"days": 7})
    today = now.astimezone(tz).date()
    until = localize(datetime.combine(today + timedelta(days=days), time(0)), tz)
    assignments = (
        Assignment.objects.filter(
            user=request.user, shift__end__gt=now, shift__start__lt=until, shift__schedule__active=True
        )
        .select_related("shift__schedule", "shift__position")
        .order_by("shift__start")
    )
    time_off = current_time_off(
        TimeOff.objects.filter(user=request.user).exclude(status=TimeOff.Status.DENIED), tz
    )
    return render(
        request,
        "scheduling/dashboard.html",
        {"form": form, "days": days, "assignments": assignments, "time_off": time_off, "site": site},
    )
