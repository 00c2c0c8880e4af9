"""The iCal feed's state: each user's secret feed token (looked up by hash) and, per (user, shift), the
SEQUENCE and content hash of the event the feed last served, so SEQUENCE only grows when the event changed.

Why a per-(user, shift) record: scheduling's Shift has no change counter (its fields are edited in place), and
RFC 5545 wants SEQUENCE to grow on every significant change. The feed computes a content hash of each event as
it renders it and bumps SEQUENCE when the hash differs from the stored one.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone

from shiftdesk.lib.crypto import EncryptedTextField


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class FeedToken(models.Model):
    """A user's private feed URL. The token is looked up by its SHA-256 (a leaked table of hashes opens no
    feed); an encrypted copy lets the owner see and copy the URL again on Manage Account > Calendar Sync."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feed_token")
    token_hash = models.CharField(max_length=64, unique=True)
    token = EncryptedTextField()  # never logged; shown only to its owner
    created_at = models.DateTimeField(default=timezone.now)
    # ETag of the last body served and when the body last changed: Last-Modified, so clients poll cheaply.
    etag = models.CharField(max_length=80, blank=True)
    content_changed_at = models.DateTimeField(default=timezone.now)
    last_fetched_at = models.DateTimeField(null=True, blank=True)

    def __repr__(self) -> str:  # never include the token
        return f"<FeedToken user={self.user_id}>"

    def __str__(self) -> str:
        return f"iCal feed of user {self.user_id}"


class FeedEvent(models.Model):
    """What the feed last served for one shift of one user: SEQUENCE, content hash, when it last changed."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    shift_ref = models.BigIntegerField()  # the shift id; kept when the shift is deleted, so a re-add bumps
    sequence = models.PositiveIntegerField(default=0)
    content_hash = models.CharField(max_length=64)
    first_served_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "shift_ref"], name="one_feed_event_per_shift")]

    def __str__(self) -> str:
        return f"Feed event of shift {self.shift_ref} for user {self.user_id} (SEQUENCE {self.sequence})"
