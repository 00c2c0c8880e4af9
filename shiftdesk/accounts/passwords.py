"""Password reset and invitations: links built from SHIFTDESK_PUBLIC_URL, accounts without a password included.

Django's PasswordResetForm skips accounts whose password is unusable; ShiftDesk creates accounts without a
password (Admin > Accounts) and promises they set one with "Forgot your password?", so every active account
with that email address gets the link. The links never come from the request's Host header: a forged Host
must not put an attacker's address into a reset email.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from shiftdesk.accounts import throttle
from shiftdesk.accounts.models import User


def set_password_url(user: User) -> str:
    """An absolute one-time link to set a new password (valid PASSWORD_RESET_TIMEOUT, 3 days by default)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.PUBLIC_BASE_URL + reverse("password_reset_confirm", args=[uid, token])


class PasswordResetForm(auth_forms.PasswordResetForm):
    def get_users(self, email: str) -> Iterator[User]:
        folded = email.casefold()
        for user in User._default_manager.filter(email__iexact=email, is_active=True):
            if user.email.casefold() == folded:
                yield user

    def save(self, **kwargs) -> None:
        # The email template builds its link from `public_url`; domain_override keeps Django from reading
        # the request's Host for `domain`/`site_name` at all.
        kwargs["domain_override"] = settings.PUBLIC_BASE_URL.split("://", 1)[-1]
        kwargs["extra_email_context"] = {
            **(kwargs.get("extra_email_context") or {}),
            "public_url": settings.PUBLIC_BASE_URL,
        }
        super().save(**kwargs)


class PasswordResetView(auth_views.PasswordResetView):
    """ "Forgot your password?": throttled with failed logins (accounts/throttle.py)."""

    form_class = PasswordResetForm

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        email = form.cleaned_data["email"]
        if throttle.is_locked(self.request, email) or throttle.record_reset_request(self.request, email):
            return throttle.lockout_response(self.request)  # no email is sent
        return super().form_valid(form)


def send_invitation(user: User, *, by: User | None) -> None:
    """Email a new account without a password its link to set one (Admin > Accounts > Add account)."""
    context = {
        "user": user,
        "by": by,
        "link": set_password_url(user),
        "login_url": settings.PUBLIC_BASE_URL + reverse("login"),
        "reset_url": settings.PUBLIC_BASE_URL + reverse("password_reset"),
        "days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
    }
    send_mail(
        "Your ShiftDesk account: set your password",
        render_to_string("registration/invitation_email.txt", context),
        None,
        [user.email],
    )
