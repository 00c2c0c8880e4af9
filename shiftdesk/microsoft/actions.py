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
    candidate: AzureADSettings, *, by: User, verified: bool | None, app_id_only: bool = False
) -> AzureADSettings:
    """Save Settings. `verified`: True when the live check passed, False after "Save anyway" (unchecked),
    None when no check was needed (only switched to Disabled): the last check's time is kept.
    `app_id_only`: the check reached AADSTS50059 (multi-tenant types): Microsoft accepted the Application ID
    but cannot be shown to have checked the secret, so the credentials stay unproven until the first
    successful authorization (do_mark_credentials_verified).

    Setting Disabled needs nothing else here: acquire_access_token refuses while disabled, so the sync engine
    pauses every Outlook connection (events stay) and resumes when an admin enables it again."""
    candidate.pk = AzureADSettings.SINGLETON_PK
    candidate.updated_by = by
    if app_id_only:
        candidate.verified_at, candidate.verified_by, candidate.verified_via = None, None, ""
        candidate.app_id_accepted_at = timezone.now()
    elif verified is True:
        candidate.verified_at, candidate.verified_by, candidate.verified_via = timezone.now(), by, "check"
        candidate.app_id_accepted_at = None
    elif verified is False:
        candidate.verified_at, candidate.verified_by, candidate.verified_via = None, None, ""
        candidate.app_id_accepted_at = None
    if verified is not None or app_id_only:
        candidate.credentials_problem, candidate.credentials_problem_at = "", None  # new credentials
    candidate.save()
    log.info(
        "Azure AD OAuth 2 settings saved by user %s: enabled=%s account_type=%s verified=%s",
        by.pk,
        candidate.enabled,
        candidate.account_type,
        verified,
    )
    return candidate


def do_mark_credentials_verified(settings_fingerprint: str, *, by: User) -> bool:
    """The first successful authorization proves the saved Application ID and secret: record when and by whom,
    unless they are proven already or were changed since the authorization used them (the fingerprint).
    Returns whether this call recorded it."""
    with transaction.atomic():
        current = AzureADSettings.objects.select_for_update().filter(pk=AzureADSettings.SINGLETON_PK).first()
        if (
            current is None
            or current.verified_at is not None
            or current.fingerprint() != settings_fingerprint
        ):
            return False
        AzureADSettings.objects.filter(pk=current.pk).update(
            verified_at=timezone.now(), verified_by=by, verified_via="authorization",
            credentials_problem="", credentials_problem_at=None,
        )  # fmt: skip
    log.info("Azure AD OAuth 2 credentials proven by the first authorization (user %s)", by.pk)
    return True


def do_record_credentials_problem(settings_fingerprint: str, message: str) -> None:
    """Microsoft refused the app's credentials when redeeming a user's code: the admin sees `message` on the
    Azure AD OAuth 2 box (until the settings are saved again), and the credentials are no longer proven."""
    current = AzureADSettings.objects.filter(pk=AzureADSettings.SINGLETON_PK).first()
    if current is None or current.fingerprint() != settings_fingerprint:
        return
    AzureADSettings.objects.filter(pk=current.pk).update(
        credentials_problem=message, credentials_problem_at=timezone.now(), verified_at=None, verified_by=None,
        verified_via="",
    )  # fmt: skip
