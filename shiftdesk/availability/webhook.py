"""The URL Microsoft Graph posts Outlook change notifications to (notifications.py subscribes it). Public: Graph
cannot log in or send a CSRF token. Nothing in a POST is trusted but a subscription id of ours together with
its clientState (checked in notifications.accept_notifications); the answer comes at once, without any call to
Graph: 200 text/plain echoing `validationToken` for the subscription handshake, else 202."""

from __future__ import annotations

import json

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from shiftdesk.availability import notifications

MAX_VALIDATION_TOKEN = 4096
MAX_ID_LENGTH = 512  # Graph's subscription ids are GUIDs; clientState is at most 128 characters


def _plausible(item: object) -> bool:
    """Drop what cannot be one of our subscriptions before it reaches a query: a NUL byte in a string
    parameter makes PostgreSQL refuse the whole query (a 500), and a huge id is only work."""
    if not isinstance(item, dict):
        return False
    for key in ("subscriptionId", "clientState"):
        value = item.get(key)
        if isinstance(value, str) and ("\x00" in value or len(value) > MAX_ID_LENGTH):
            return False
    return True


@csrf_exempt
@require_POST
def outlook_notifications(request: HttpRequest) -> HttpResponse:
    token = request.GET.get("validationToken")
    if token is not None:
        # Graph's handshake: the token, decoded, as plain text (never HTML, so it cannot inject anything).
        if not token or len(token) > MAX_VALIDATION_TOKEN:
            return HttpResponse(status=400)
        return HttpResponse(token, content_type="text/plain; charset=utf-8")
    try:
        payload = json.loads(request.body or b"null")
    except (ValueError, RecursionError, RequestDataTooBig):  # RecursionError: "[[[[…" nested 100,000 deep
        return HttpResponse(status=400)
    items = payload.get("value") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        return HttpResponse(status=400)
    notifications.accept_notifications([item for item in items if _plausible(item)])
    return HttpResponse(status=202)
