"""Login and password-reset throttling through django-axes (settings: AXES_*, README: Login throttling).

Failed logins and password-reset requests count together, per email address and client address: after
AXES_FAILURE_LIMIT of them within AXES_COOLOFF_TIME both are refused with the "Too many attempts" page (429)
until the cool-off ends or an admin unlocks the account (Admin > Accounts > Unlock, or
`manage.py axes_reset_username EMAIL`). A successful login clears the count.

Logins are counted by axes itself (its authentication backend and Django's user_login_failed signal); a reset
request is recorded here through the same signal, so one counter and one unlock cover both.
"""

from __future__ import annotations

import datetime as dt

from axes.backends import AxesStandaloneBackend
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


class ThrottlingBackend(AxesStandaloneBackend):
    """First of AUTHENTICATION_BACKENDS: refuses a locked-out email/address before the password is checked.

    axes' backend raises when called without a request; a call without one is not a web login (Django's test
    client `login()`, a shell), which has nothing to throttle, so it passes on to the next backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def username_of(request: HttpRequest, credentials: dict | None) -> str:
    """AXES_USERNAME_CALLABLE: the email address as typed, folded to lower case, so "Bob@x" and "bob@x"
    share one counter (emails log in case-insensitively)."""
    value = (credentials or {}).get("username") or request.POST.get("username") or request.POST.get("email")
    return (value or "").strip().lower()


def is_locked(request: HttpRequest, email: str) -> bool:
    return AxesProxyHandler.is_locked(request, {"username": email})


def record_reset_request(request: HttpRequest, email: str) -> bool:
    """Count a password-reset request like a failed login. True when it is refused (locked out now)."""
    user_login_failed.send(sender=__name__, credentials={"username": email}, request=request)
    return bool(getattr(request, "axes_locked_out", False))


def locked_out_emails(emails: list[str] | None = None) -> set[str]:
    """The email addresses locked out from some client address now (all of them, or those of `emails`):
    Admin > Accounts marks them and shows Unlock."""
    since = timezone.now() - (settings.AXES_COOLOFF_TIME or dt.timedelta(days=36500))
    attempts = AccessAttempt.objects.filter(
        failures_since_start__gte=settings.AXES_FAILURE_LIMIT, attempt_time__gte=since
    )
    if emails is not None:
        attempts = attempts.filter(username__in=[e.lower() for e in emails])
    return set(attempts.values_list("username", flat=True))


def unlock(email: str) -> int:
    """Forget every failed attempt for this email address, from every client address."""
    return reset(username=email.lower())


def lockout_response(
    request: HttpRequest, original_response=None, credentials: dict | None = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the "Too many attempts" page, 429, saying how long and who can unlock."""
    cooloff = settings.AXES_COOLOFF_TIME
    minutes = int(cooloff.total_seconds() // 60) if cooloff else None
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
