"""Manage Account pages (every logged-in user, their own account only) and Admin > Integrations (system admins)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from shiftdesk.accounts.permissions import system_admin_required
from shiftdesk.lib import panels


@login_required
def manage_account(request: HttpRequest) -> HttpResponse:
    """Manage Account > Profile. Who: any logged-in user, about themselves."""
    return render(request, "accounts/manage_account.html", {"active_tab": "profile"})


@system_admin_required
def admin_integrations(request: HttpRequest) -> HttpResponse:
    """Admin > Integrations: one box per integration (Azure AD OAuth 2, ...). Who: system admins."""
    boxes = panels.render_panels(panels.ADMIN_INTEGRATIONS, request)
    return render(request, "accounts/admin_integrations.html", {"boxes": boxes})
