"""`{% worker_heartbeat_warning %}`: Integration Status's warning when no worker of a kind is alive."""

from __future__ import annotations

from django import template

from shiftdesk.ops import heartbeat

register = template.Library()


@register.inclusion_tag("ops/heartbeat_warning.html")
def worker_heartbeat_warning() -> dict:
    return {"stale": heartbeat.stale_kinds()}
