"""Access decorators for views. Every page states who may see it with one of these."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

View = Callable[..., HttpResponse]


def system_admin_required(view: View) -> View:
    """Logged-in system admins only; anonymous users go to the login page, others get 403."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_system_admin:
            raise PermissionDenied("Only system admins may see this page.")
        return view(request, *args, **kwargs)

    return wrapper
