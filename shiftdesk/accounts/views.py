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


def rerender_integrations(request: HttpRequest, status: int, **bound_forms: object) -> HttpResponse:
    """Admin > Integrations again after a box's refused Save, with what the admin typed: each bound form is
    left on the request under its name, where its box reads it (e.g. `azure_ad_form`: microsoft/boxes.py)."""
    for name, form in bound_forms.items():
        setattr(request, name, form)
    response = admin_integrations(request)
    response.status_code = status
    return response
