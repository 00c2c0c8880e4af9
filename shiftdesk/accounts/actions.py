"""Every write to user accounts, one `do_<verb>_<noun>()` each (Admin > Accounts and `createadmin` call these).

Deactivating a user takes them off their upcoming shifts and tells calendar sync through the seam
(USER_DEACTIVATED for each), in the same transaction.
"""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from shiftdesk.accounts.models import User
from shiftdesk.scheduling import seam
from shiftdesk.scheduling.models import Assignment, Site
from shiftdesk.scheduling.seam import CalendarChange, ChangeKind
from shiftdesk.scheduling.snapshots import shift_snapshot


def _check_email(email: str, *, exclude_pk: int | None = None) -> str:
    email = User.objects.normalize_email(email.strip()).lower()
    if not email:
        raise ValidationError({"email": "An email address is required."})
    if User.objects.filter(email__iexact=email).exclude(pk=exclude_pk).exists():
        raise ValidationError({"email": "Another account already uses this email address."})
    return email


@transaction.atomic
def do_create_user(
    *, email: str, first_name: str, last_name: str, role: str, password: str | None, by: User | None
) -> User:
    """Create an account. Without a password the user sets one through "Forgot your password?", or through the
    invitation Admin > Accounts emails them (admin_views; seed_demo sets passwords itself afterwards)."""
    email = _check_email(email)
    if role not in User.Role.values:
        raise ValidationError({"role": "Choose Admin or Regular."})
    user = User(email=email, first_name=first_name.strip(), last_name=last_name.strip(), role=role)
    if password:
        try:
            validate_password(password, user)
        except ValidationError as e:
            raise ValidationError({"password": e.messages}) from None
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    return user


@transaction.atomic
def do_update_user(
    user: User, *, email: str, first_name: str, last_name: str, role: str, by: User | None
) -> User:
    email = _check_email(email, exclude_pk=user.pk)
    if role not in User.Role.values:
        raise ValidationError({"role": "Choose Admin or Regular."})
    if by is not None and by.pk == user.pk and role != User.Role.ADMIN and user.role == User.Role.ADMIN:
        raise ValidationError({"role": "You cannot remove your own Admin role."})
    user.email = email
    user.first_name = first_name.strip()
    user.last_name = last_name.strip()
    user.role = role
    user.save()
    return user


@transaction.atomic
def do_deactivate_user(user: User, *, by: User | None) -> int:
    """Deactivate: no login, off every upcoming shift (their slots open), off every schedule admin list.

    Publishes USER_DEACTIVATED for each upcoming assignment so the events leave their calendar. Past
    assignments stay as history. Returns how many upcoming shifts they were taken off.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if by is not None and by.pk == user.pk:
        raise ValidationError("You cannot deactivate your own account.")
    if not user.is_active:
        return 0
    tz = Site.load().time_zone
    upcoming = list(
        Assignment.objects.filter(user=user, shift__end__gt=timezone.now())
        .select_related("shift__schedule", "shift__position")
        .order_by("shift__start", "shift_id")
    )
    changes = [
        CalendarChange(
            ChangeKind.USER_DEACTIVATED,
            user.pk,
            a.shift_id,
            shift_snapshot(a.shift, time_zone=tz),
            None,
            by.pk if by else None,
        )
        for a in upcoming
    ]
    Assignment.objects.filter(pk__in=[a.pk for a in upcoming]).delete()
    user.administered_schedules.clear()
    user.is_active = False
    user.save(update_fields=["is_active"])
    seam.publish(changes)
    return len(upcoming)


@transaction.atomic
def do_activate_user(user: User, *, by: User | None) -> User:
    """Let a deactivated user log in again. Their old shifts are not restored (others may fill them now)."""
    user.is_active = True
    user.save(update_fields=["is_active"])
    return user


@transaction.atomic
def do_set_user_password(user: User, *, password: str, by: User | None) -> User:
    try:
        validate_password(password, user)
    except ValidationError as e:
        raise ValidationError({"password": e.messages}) from None
    user.set_password(password)
    user.save(update_fields=["password"])
    return user
