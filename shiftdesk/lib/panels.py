"""Named page slots that apps fill with boxes, so a page never imports the apps that contribute to it.

Admin > Integrations shows one box per integration (Azure AD OAuth 2, Password Authentication), and Manage
Account > Calendar Sync shows one box per provider plus the provider-neutral Export box. Providers register
their boxes in their AppConfig.ready(); the page renders every registered box in `order`. Each box posts to
its own app's URL and redirects back, so the hosting page needs no knowledge of any box.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

ADMIN_INTEGRATIONS = "admin_integrations"
CALENDAR_SYNC = "calendar_sync"


@dataclass(frozen=True)
class Panel:
    slot: str
    key: str
    order: int
    template_name: str
    context: Callable[[HttpRequest], dict]


_panels: dict[str, dict[str, Panel]] = {}


def register_panel(
    slot: str, key: str, template_name: str, context: Callable[[HttpRequest], dict], order: int = 100
) -> None:
    """Register (or replace, by key) a box in a slot. Called from AppConfig.ready()."""
    _panels.setdefault(slot, {})[key] = Panel(slot, key, order, template_name, context)


def render_panels(slot: str, request: HttpRequest) -> list[SafeString]:
    panels = sorted(_panels.get(slot, {}).values(), key=lambda p: (p.order, p.key))
    return [
        SafeString(render_to_string(p.template_name, p.context(request), request=request)) for p in panels
    ]
