"""The feed itself (anyone holding the secret URL; no login, as calendar clients cannot log in) and the
Regenerate URL button (the logged-in owner, own feed only), plus the box on Manage Account > Calendar Sync."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import http_date, parse_http_date_safe
from django.views.decorators.http import require_http_methods, require_POST

from shiftdesk.feeds import actions
from shiftdesk.feeds.ical import feed_items, render_feed

CONTENT_TYPE = "text/calendar; charset=utf-8"


def feed_url(token: str) -> str:
    return settings.PUBLIC_BASE_URL + reverse("shift_feed", args=[token])


def feed_box_context(request: HttpRequest) -> dict:
    """Manage Account > Calendar Sync: the iCal feed box of the logged-in user."""
    feed = actions.do_get_or_create_feed_token(request.user)
    # An empty token is one no configured key decrypts (lib/crypto.py): no URL to show until Regenerate URL.
    return {"feed_url": feed_url(feed.token) if feed.token else "", "feed": feed}


@require_http_methods(["GET", "HEAD"])
def shift_feed(request: HttpRequest, token: str) -> HttpResponse:
    """Who: whoever holds the URL. Unknown or regenerated-away tokens get 404, as if nothing were there."""
    feed = actions.feed_token_for(token)
    if feed is None:
        raise Http404("No such feed.")
    items = feed_items(feed.user)
    events = actions.do_record_feed_events(feed.user, {i.snapshot.shift_id: i.content_hash() for i in items})
    sequences = {ref: (e.sequence, e.first_served_at, e.changed_at) for ref, e in events.items()}
    body = render_feed(feed.user, items, sequences)
    etag = '"' + hashlib.sha256(body).hexdigest()[:40] + '"'
    feed = actions.do_record_feed_served(feed, etag)
    last_modified = int(feed.content_changed_at.timestamp())

    headers = {
        "ETag": etag,
        "Last-Modified": http_date(last_modified),
        # Private: the URL is a secret; shared caches must not keep the body.
        "Cache-Control": "private, max-age=300",
        "X-Robots-Tag": "noindex",
    }
    if _not_modified(request, etag, last_modified):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type=CONTENT_TYPE)
        response["Content-Disposition"] = 'inline; filename="shifts.ics"'
    for name, value in headers.items():
        response[name] = value
    return response


def _not_modified(request: HttpRequest, etag: str, last_modified: int) -> bool:
    # RFC 9110 13.2.2: If-None-Match wins; If-Modified-Since counts only without it.
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or etag in tags
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    return since is not None and last_modified <= since


@login_required
@require_POST
def regenerate_feed(request: HttpRequest) -> HttpResponse:
    """Regenerate URL. Who: any logged-in user, for their own feed only (nothing in the request names a user)."""
    actions.do_regenerate_feed_token(request.user)
    messages.success(request, "Your calendar feed has a new URL. The old URL no longer works.")
    return redirect("calendar_sync")
