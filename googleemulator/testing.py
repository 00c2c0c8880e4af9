"""Helpers for tests and demos of the Google side: a standard world to seed, and a browser-less walk
through Google's sign-in and consent pages (like m365emulator.testing.sign_in for Microsoft's)."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urljoin

import httpx

STANDARD_REDIRECT = "https://localhost:8000/google/callback"
STANDARD_CLIENT_ID = "123456789012-shiftdesk0standard0client0000000.apps.googleusercontent.com"
STANDARD_SECRET = "GOCSPX-" + "standard-test-secret-0000"
CALENDAR_SCOPES = [
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
    "https://www.googleapis.com/auth/calendar.freebusy",
]


def standard_world(**overrides: Any) -> dict[str, Any]:
    """Workspace domain example.org (Alice, the admin; Bob), a consumer account carol@gmail.com, and the
    project "ShiftDesk" with a Web client (STANDARD_CLIENT_ID / STANDARD_SECRET, redirect
    STANDARD_REDIRECT), consent screen External, In production. Bob shares a "Rota" calendar with Alice."""
    world = {
        "accounts": [
            {"email": "alice@example.org", "password": "Alice-pw1", "name": "Alice Admin", "time_zone": "Europe/London"},
            {"email": "bob@example.org", "password": "Bob-pw1", "name": "Bob Baker", "time_zone": "Europe/London"},
            {"email": "carol@gmail.com", "password": "Carol-pw1", "name": "Carol Consumer", "time_zone": "America/New_York"},
        ],
        "projects": [
            {
                "name": "ShiftDesk",
                "project_id": "shiftdesk-demo",
                "owner": "alice@example.org",
                "consent_screen": {"app_name": "ShiftDesk", "user_type": "external", "publishing_status": "production",
                                   "support_email": "alice@example.org", "org_domain": "example.org"},
                "clients": [{"name": "ShiftDesk web", "client_id": STANDARD_CLIENT_ID, "client_secret": STANDARD_SECRET,
                             "redirect_uris": [STANDARD_REDIRECT]}],
            }
        ],
        "calendars": [
            {"owner": "bob@example.org", "summary": "Rota", "id": "rota@group.calendar.google.com",
             "shares": [{"email": "alice@example.org", "role": "writer"}]},
        ],
    }  # fmt: skip
    world.update(overrides)
    return world


_FORM = re.compile(r"<form[^>]*action=\"([^\"]*)\"[^>]*>(.*?)</form>", re.S)
_INPUT = re.compile(r"<input[^>]*>", re.S)
_ATTR = re.compile(r"([\w-]+)=\"([^\"]*)\"")


def _form(page: str) -> tuple[str, dict[str, str], list[str]]:
    """(action, hidden fields, scope checkbox values) of the page's first form."""
    found = _FORM.search(page)
    if not found:
        raise AssertionError(f"no form on the page:\n{page[:2000]}")
    fields, boxes = {}, []
    for tag in _INPUT.findall(found.group(2)):
        attrs = {k: html.unescape(v) for k, v in _ATTR.findall(tag)}
        if attrs.get("type") == "hidden":
            fields[attrs["name"]] = attrs.get("value", "")
        elif attrs.get("type") == "checkbox" and attrs.get("name") == "granted":
            boxes.append(attrs["value"])
    return html.unescape(found.group(1)), fields, boxes


def sign_in(
    http: httpx.Client,
    auth_url: str,
    email: str,
    password: str,
    consent: str = "allow",
    grant: list[str] | None = None,
) -> httpx.Response:
    """Walks Google's pages like a person: picks `email` in the account chooser (or types it), the
    password, then on the consent page ticks `grant` (default: every box) and presses Continue
    (`consent="allow"`) or Cancel (`"cancel"`). Returns the last response: the 302 back to the app, or a
    page the walk could not get past (an error page)."""
    response = http.get(auth_url)
    for _ in range(6):
        if response.status_code != 200:
            return response
        text = response.text
        action, fields, boxes = _form(text) if "<form" in text else ("", {}, [])
        url = urljoin(str(response.url), action)
        if "/signin/chooser" in action:
            chosen = email.lower() if f'value="{html.escape(email.lower())}"' in text else ""
            response = http.post(url, data={**fields, "email": chosen})
        elif "/signin/identifier" in action:
            response = http.post(url, data={**fields, "identifier": email})
        elif "/signin/challenge" in action:
            response = http.post(url, data={**fields, "Passwd": password})
        elif "/signin/oauth/consent" in action:
            ticked = boxes if grant is None else [b for b in boxes if b in grant]
            response = http.post(url, data={**fields, "action": consent, "granted": ticked})
        else:
            return response
    return response
