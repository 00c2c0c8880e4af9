"""Admin > Accounts: list, create and edit users, their role, schedule-admin duties, (de)activation.

Who: system admins only. Writes go through accounts.actions and scheduling.actions in one transaction each.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from shiftdesk.accounts import actions, throttle
from shiftdesk.accounts.admin_forms import UserForm
from shiftdesk.accounts.models import User
from shiftdesk.accounts.passwords import send_invitation
from shiftdesk.accounts.permissions import system_admin_required
from shiftdesk.lib.bounds import search_text
from shiftdesk.scheduling.actions import do_set_user_administered_schedules
from shiftdesk.scheduling.forms import add_action_errors


def get_account_for_user(admin: User, user_id: int) -> User:
    """Any account, for system admins (the decorator has checked that already)."""
    if not admin.is_system_admin:
        raise Http404("No such account")
    try:
        return User.objects.get(pk=user_id)
    except User.DoesNotExist:
        raise Http404("No such account") from None


@system_admin_required
def admin_accounts(request: HttpRequest) -> HttpResponse:
    query = search_text(request.GET.get("q"))
    users = User.objects.annotate(
        upcoming=Count("assignments", filter=Q(assignments__shift__end__gt=timezone.now()))
    ).prefetch_related("administered_schedules")
    if query:
        users = users.filter(
            Q(email__icontains=query) | Q(first_name__icontains=query) | Q(last_name__icontains=query)
        )
    return render(
        request,
        "accounts/admin_accounts.html",
        {
            "users": users.order_by("-is_active", "last_name", "first_name", "email"),
            "q": query,
            "locked_out": throttle.locked_out_emails(),  # emails are stored lower case (actions._check_email)
        },
    )


@system_admin_required
def admin_account_create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = UserForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    user = actions.do_create_user(
                        email=data["email"],
                        first_name=data["first_name"],
                        last_name=data["last_name"],
                        role=data["role"],
                        password=data["password"] or None,
                        by=request.user,
                    )
                    do_set_user_administered_schedules(
                        user, schedules=data["administered_schedules"], by=request.user
                    )
                    if not data["password"]:  # their link to set one, once the account surely exists
                        transaction.on_commit(lambda: send_invitation(user, by=request.user))
            except ValidationError as e:
                add_action_errors(form, e)
            else:
                invited = "" if data["password"] else " They were emailed a link to set their password."
                messages.success(request, f"Created the account of {user.email}.{invited}")
                return redirect("admin_accounts")
    else:
        form = UserForm()
    return render(
        request,
        "accounts/admin_account_form.html",
        {"form": form, "account": None},
        status=400 if form.is_bound else 200,
    )


@system_admin_required
def admin_account_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    account = get_account_for_user(request.user, user_id)
    if request.method == "POST":
        form = UserForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    actions.do_update_user(
                        account,
                        email=data["email"],
                        first_name=data["first_name"],
                        last_name=data["last_name"],
                        role=data["role"],
                        by=request.user,
                    )
                    do_set_user_administered_schedules(
                        account, schedules=data["administered_schedules"], by=request.user
                    )
                    if data["password"]:
                        actions.do_set_user_password(account, password=data["password"], by=request.user)
            except ValidationError as e:
                account.refresh_from_db()
                add_action_errors(form, e)
            else:
                messages.success(request, f"Saved the account of {account.email}.")
                return redirect("admin_accounts")
    else:
        form = UserForm(
            initial={
                "email": account.email,
                "first_name": account.first_name,
                "last_name": account.last_name,
                "role": account.role,
                "administered_schedules": list(account.administered_schedules.all()),
            }
        )
    upcoming = account.assignments.filter(shift__end__gt=timezone.now()).count()
    locked_out = bool(throttle.locked_out_emails([account.email]))
    return render(
        request,
        "accounts/admin_account_form.html",
        {"form": form, "account": account, "upcoming": upcoming, "locked_out": locked_out},
        status=400 if form.is_bound else 200,
    )


@system_admin_required
@require_POST
def admin_account_deactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    """Deactivate: no login, taken off upcoming shifts (their calendars follow). The edit page confirms."""
    account = get_account_for_user(request.user, user_id)
    try:
        count = actions.do_deactivate_user(account, by=request.user)
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
        return redirect("admin_account_edit", account.pk)
    messages.success(
        request, f"Deactivated {account.email}; {count} upcoming shift{'s' if count != 1 else ''} opened up."
    )
    return redirect("admin_accounts")


@system_admin_required
@require_POST
def admin_account_activate(request: HttpRequest, user_id: int) -> HttpResponse:
    account = get_account_for_user(request.user, user_id)
    actions.do_activate_user(account, by=request.user)
    messages.success(request, f"Activated {account.email}.")
    return redirect("admin_accounts")


@system_admin_required
@require_POST
def admin_account_unlock(request: HttpRequest, user_id: int) -> HttpResponse:
    """Unlock: forget the failed logins and reset requests that locked this account out (accounts/throttle.py)."""
    account = get_account_for_user(request.user, user_id)
    throttle.unlock(account.email)
    messages.success(request, f"Unlocked {account.email}: they can log in and reset their password again.")
    return redirect("admin_account_edit", account.pk)
