"""Writes to the Google OAuth 2 settings, one function each (views never .save() them)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from shiftdesk.accounts.models import User
from shiftdesk.google.models import GoogleOAuthSettings

log = logging.getLogger(__name__)


@transaction.atomic
def do_save_google_settings(
    candidate: GoogleOAuthSettings, *, by: User, verified: bool
) -> GoogleOAuthSettings:
    """Save Settings. `verified`: Google's live check passed just now (else the last check's time is kept:
    only Disabled was chosen). Disabled needs nothing else: access_token refuses while disabled, so the
    engine pauses every Google connection (events stay) and resumes when enabled again."""
    candidate.pk = GoogleOAuthSettings.SINGLETON_PK
    candidate.updated_by = by
    if verified:
        candidate.verified_at = timezone.now()
    candidate.save()
    log.info(
        "Google OAuth 2 settings saved by user %s: enabled=%s verified=%s", by.pk, candidate.enabled, verified
    )
    return candidate
