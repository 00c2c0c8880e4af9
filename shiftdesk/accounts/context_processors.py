"""Navigation context for every page: the nav bar shows the user's email and, for admins, the Admin menu."""

from __future__ import annotations

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    return {"nav_is_admin": bool(user and user.is_authenticated and user.is_system_admin)}
