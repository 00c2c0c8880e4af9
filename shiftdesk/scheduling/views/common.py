"""Small helpers shared by the scheduling views."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from shiftdesk.scheduling.grid import week_start
from shiftdesk.scheduling.models import Schedule, Shift, Site


def grid_url(schedule: Schedule, day: date | None = None) -> str:
    url = reverse("schedule_week", args=[schedule.pk])
    return f"{url}?week={week_start(day).isoformat()}" if day else url


def shift_grid_url(shift: Shift, site: Site) -> str:
    return grid_url(shift.schedule, shift.start.astimezone(site.tzinfo).date())


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The `next` the form carried, if it is a local URL; otherwise `fallback`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback
