"""Every write of the availability app outside the refresh step, one `do_*` function each (views call these)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from shiftdesk.accounts.models import User
from shiftdesk.availability.models import SHOW_AS_CHOICES, AvailabilitySettings, BusyInterval, FreeBusyState


@transaction.atomic
def do_set_show_subjects(user: User, *, show: bool) -> FreeBusyState:
    """ "Show meeting subjects to schedulers". Turning it off forgets the stored subjects at once; turning
    it on makes the next refresh (due now) store them."""
    state, _ = FreeBusyState.objects.select_for_update().get_or_create(user=user)
    state.show_subjects = show
    fields = ["show_subjects"]
    if show:
        state.next_refresh_at = timezone.now()
        fields.append("next_refresh_at")
    state.save(update_fields=fields)
    if not show:
        BusyInterval.objects.filter(user=user).exclude(subject="").update(subject="")
    return state


@transaction.atomic
def do_update_availability_settings(
    *,
    horizon_weeks: int,
    refresh_minutes: int,
    unavailable_show_as: list[str],
    warning_show_as: list[str],
    by: User,
) -> AvailabilitySettings:
    """Admin > Integrations > Outlook Free/Busy. A value is either unavailable or a warning, never both."""
    known = {v for v, _ in SHOW_AS_CHOICES}
    errors = {}
    if not 1 <= horizon_weeks <= 52:
        errors["horizon_weeks"] = "Read between 1 and 52 weeks ahead."
    if not 5 <= refresh_minutes <= 24 * 60:
        errors["refresh_minutes"] = "Refresh between every 5 minutes and once a day."
    if set(unavailable_show_as) - known or set(warning_show_as) - known:
        errors["unavailable_show_as"] = "Unknown Outlook status."
    if set(unavailable_show_as) & set(warning_show_as):
        errors["warning_show_as"] = "A status cannot be both unavailable and a warning."
    if errors:
        raise ValidationError(errors)
    settings = AvailabilitySettings.objects.select_for_update().get_or_create(pk=1)[0]
    settings.horizon_weeks = horizon_weeks
    settings.refresh_minutes = refresh_minutes
    settings.unavailable_show_as = [v for v, _ in SHOW_AS_CHOICES if v in unavailable_show_as]
    settings.warning_show_as = [v for v, _ in SHOW_AS_CHOICES if v in warning_show_as]
    settings.save()
    return settings
