"""Writes to the Azure AD OAuth 2 settings, one function each (views never .save() them)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from shiftdesk.accounts.models import User
from shiftdesk.microsoft.models import AzureADSettings

log = logging.getLogger(__name__)


@transaction.atomic
def do_save_azure_ad_settings(
    candidate: AzureADSettings, *, by: User, verified: bool | None
) -> AzureADSettings:
    """Save Settings. `verified`: True when the live check passed, False after "Save anyway" (unchecked),
    None when no check was needed (only switched to Disabled): the last check's time is kept.

    Setting Disabled needs nothing else here: acquire_access_token refuses while disabled, so the sync engine
    pauses every Outlook connection (events stay) and resumes when an admin enables it again."""
    candidate.pk = AzureADSettings.SINGLETON_PK
    candidate.updated_by = by
    if verified is True:
        candidate.verified_at = timezone.now()
    elif verified is False:
        candidate.verified_at = None
    candidate.save()
    log.info(
        "Azure AD OAuth 2 settings saved by user %s: enabled=%s account_type=%s verified=%s",
        by.pk,
        candidate.enabled,
        candidate.account_type,
        verified,
    )
    return candidate
