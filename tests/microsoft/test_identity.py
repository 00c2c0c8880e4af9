"""Microsoft's facts: account types, authorities, tenant ids, and what each AADSTS code tells people."""

from __future__ import annotations

import pytest

from shiftdesk.microsoft import identity
from shiftdesk.microsoft.identity import AccountType


def test_account_type_labels_are_the_seeds():
    assert dict(AccountType.choices) == {
        "single": "Accounts in this organizational directory only",
        "multi": "Accounts in any organizational directory",
        "multi_personal": "Accounts in any organizational directory and personal Microsoft accounts",
    }


@pytest.mark.parametrize(
    ("account_type", "tenant", "segment"),
    [
        ("single", "Contoso.onmicrosoft.com", "contoso.onmicrosoft.com"),
        ("single", "72f988bf-86f1-41af-91ab-2d7cd011db47", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
        ("multi", "ignored", "organizations"),
        ("multi_personal", "", "common"),
    ],
)
def test_the_authority_follows_the_account_type(account_type, tenant, segment):
    assert identity.tenant_segment(account_type, tenant) == segment
    assert identity.authority_url("https://login.example/", segment) == f"https://login.example/{segment}"


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("72f988bf-86f1-41af-91ab-2d7cd011db47", True),
        ("contoso.onmicrosoft.com", True),
        ("library.example.edu", True),
        ("72f988bf86f141af91ab2d7cd011db47", False),
        ("contoso", False),
        ("contoso .com", False),
        ("", False),
    ],
)
def test_tenant_ids_are_guids_or_verified_domains(value, ok):
    assert identity.is_tenant_id(value) is ok


def test_aadsts_codes_are_read_from_error_codes_or_the_description():
    assert identity.aadsts_code({"error_codes": [7000215]}) == "AADSTS7000215"
    assert identity.aadsts_code({"error_description": "AADSTS90002: Tenant 'x' not found."}) == "AADSTS90002"
    assert identity.aadsts_code({"error": "invalid_grant"}) == ""


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("AADSTS7000215", "App ID or Secret is incorrect"),
        ("AADSTS700016", "App ID or Secret is incorrect"),
        ("AADSTS7000222", "The secret has expired"),
        ("AADSTS90002", "Tenant not found"),
        ("AADSTS123456", "AADSTS123456"),
        ("", "an unknown error"),
    ],
)
def test_admin_messages(code, words):
    assert words in identity.admin_message(code)


def test_app_id_or_secret_message_carries_the_seeds_advice():
    message = identity.admin_message("AADSTS7000215")
    assert "wait several minutes" in message and "Supported account types" in message


@pytest.mark.parametrize(
    ("error", "code", "subcode", "words"),
    [
        ("access_denied", "AADSTS65004", "cancel", "You cancelled"),
        ("access_denied", "AADSTS65004", "", "Need admin approval"),  # not a pressed Cancel: the admin path
        ("consent_required", "AADSTS65001", "", "requires an administrator"),
        ("invalid_grant", "AADSTS54005", "", "already used or has expired"),
        ("invalid_grant", "AADSTS70008", "", "already used or has expired"),
        ("invalid_client", "AADSTS7000215", "", "tell your ShiftDesk admin"),
        ("weird", "AADSTS999", "", "AADSTS999"),
    ],
)
def test_user_messages(error, code, subcode, words):
    assert words in identity.user_message(error, code, subcode)


@pytest.mark.parametrize(
    ("query", "granted", "words"),
    [
        ({"admin_consent": "True", "tenant": "t"}, True, "Admin consent granted"),
        (
            {"error": "permission_denied", "error_description": "The admin canceled the request"},
            False,
            "declined",
        ),
        (
            {
                "admin_consent": "True",
                "error": "consent_required",
                "error_description": "AADSTS65004: The resource owner or authorization server denied the request.",
            },
            False,
            "declined",
        ),  # fmt: skip
        ({"error": "access_denied", "error_description": "AADSTS65004: User declined"}, False, "declined"),
        ({"error": "server_error"}, False, "not granted (server_error)"),
        ({}, False, "not granted (no answer)"),
    ],
)
def test_admin_consent_outcome(query, granted, words):
    ok, message = identity.admin_consent_outcome(query)
    assert ok is granted and words in message


def test_admin_consent_uses_organizations_for_multi_tenant_apps():
    url = identity.admin_consent_url("https://l", "common", "abc", "https://app/cb", "s1")
    assert (
        url
        == "https://l/organizations/adminconsent?client_id=abc&redirect_uri=https%3A%2F%2Fapp%2Fcb&state=s1"
    )
