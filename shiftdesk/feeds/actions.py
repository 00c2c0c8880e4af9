"""Writes to feed state, one function each: make or regenerate a user's feed URL, and record what a fetch served
(SEQUENCE bumps and the feed's ETag / Last-Modified)."""

from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from shiftdesk.accounts.models import User
from shiftdesk.feeds.models import FeedEvent, FeedToken, hash_token


def _new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits: unguessable, fits a URL path segment


@transaction.atomic
def do_get_or_create_feed_token(user: User) -> FeedToken:
    """The user's feed token, made on first use (opening the Calendar Sync tab shows the URL at once)."""
    existing = FeedToken.objects.filter(user=user).first()
    if existing is not None:
        return existing
    token = _new_token()
    try:
        with transaction.atomic():
            return FeedToken.objects.create(user=user, token=token, token_hash=hash_token(token))
    except IntegrityError:  # a concurrent request made it first
        return FeedToken.objects.get(user=user)


@transaction.atomic
def do_regenerate_feed_token(user: User) -> FeedToken:
    """Regenerate URL: a new secret; the old URL stops working in the same commit."""
    token = _new_token()
    feed, created = FeedToken.objects.select_for_update().get_or_create(
        user=user, defaults={"token": token, "token_hash": hash_token(token)}
    )
    if not created:
        feed.token = token
        feed.token_hash = hash_token(token)
        feed.created_at = timezone.now()
        feed.etag = ""
        feed.content_changed_at = timezone.now()
        feed.save()
    return feed


def do_record_feed_events(user: User, hashes: dict[int, str]) -> dict[int, FeedEvent]:
    """Make sure each (user, shift) has a FeedEvent whose content_hash is `hashes[shift]`; bump SEQUENCE and
    changed_at for those whose content changed. Safe under concurrent fetches: a bump is a conditional UPDATE
    on the old hash, so two fetches that see the same change bump once."""
    now = timezone.now()
    known = {e.shift_ref: e for e in FeedEvent.objects.filter(user=user, shift_ref__in=list(hashes))}
    missing = [
        FeedEvent(user=user, shift_ref=ref, content_hash=h, first_served_at=now, changed_at=now)
        for ref, h in hashes.items()
        if ref not in known
    ]
    if missing:
        FeedEvent.objects.bulk_create(missing, ignore_conflicts=True)
    for ref, event in known.items():
        if event.content_hash != hashes[ref]:
            FeedEvent.objects.filter(pk=event.pk, content_hash=event.content_hash).update(
                content_hash=hashes[ref], sequence=F("sequence") + 1, changed_at=now
            )
    if missing or any(known[r].content_hash != hashes[r] for r in known):
        known = {e.shift_ref: e for e in FeedEvent.objects.filter(user=user, shift_ref__in=list(hashes))}
    return known


def do_record_feed_served(feed: FeedToken, etag: str) -> FeedToken:
    """Remember the ETag served; when it differs from the last one the feed changed now (Last-Modified)."""
    now = timezone.now()
    if feed.etag != etag:
        FeedToken.objects.filter(pk=feed.pk).update(etag=etag, content_changed_at=now, last_fetched_at=now)
        feed.etag, feed.content_changed_at = etag, now
    else:
        FeedToken.objects.filter(pk=feed.pk).update(last_fetched_at=now)
    feed.last_fetched_at = now
    return feed


def feed_token_for(token: str) -> FeedToken | None:
    """The live feed a URL token opens, or None (unknown, regenerated away, or its user is deactivated)."""
    if not token or len(token) > 100:
        return None
    feed = FeedToken.objects.select_related("user").filter(token_hash=hash_token(token)).first()
    if feed is None or not feed.user.is_active:
        return None
    return feed
