"""axe-core's WCAG 2.0/2.1 A and AA rules in Chromium over every Google emulator page a ShiftDesk admin or
user meets: Google's sign-in, account chooser, consent and error pages, the Cloud console (sign-in,
projects, dashboard, Calendar API, consent screen, credentials, "OAuth client created" with its copy
buttons) and the Calendar viewer, at desktop and phone width; at 375 px no page may scroll sideways. Chromium
trusts exactly the emulator's certificate key."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from googleemulator.testing import CALENDAR_SCOPES, STANDARD_REDIRECT, standard_world
from tests.a11y.support import PHONE, note_problems
from tests.browser import oauth_support
from tests.google_emulator.clients import make_flow

emulator_server = oauth_support.emulator_server
oauth_chromium = oauth_support.oauth_chromium


@pytest.fixture
def google(emulator_server):
    control = emulator_server.http(base_url=emulator_server.base_url + "/_emulator/google")
    control.post("/reset").raise_for_status()
    control.post("/seed", json=standard_world()).raise_for_status()
    emulator_server.gbase = emulator_server.base_url + "/google"
    emulator_server.gcontrol = control
    yield emulator_server
    control.close()


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_google_pages_pass_axe(google, oauth_chromium, viewport):
    context = oauth_chromium.new_context(viewport=viewport or {"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=google.base_url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    failures: list[str] = []

    def check(where):
        note_problems(page, where, failures, viewport)

    try:
        # Sign-in and consent, as a user authorizing ShiftDesk.
        url, _ = make_flow(google, CALENDAR_SCOPES).authorization_url(access_type="offline", prompt="consent")
        page.goto(url)
        check("sign-in: email")
        page.get_by_label("Email or phone").fill("alice@example.org")
        page.get_by_role("button", name="Next").click()
        check("sign-in: password")
        page.get_by_label("Enter your password").fill("wrong")
        page.get_by_role("button", name="Next").click()
        check("sign-in: wrong password")
        page.get_by_label("Enter your password").fill("Alice-pw1")
        page.get_by_role("button", name="Next").click()
        check("consent")
        page.get_by_label("Select all").check()
        assert page.get_by_label("View and edit events on all your calendars").is_checked()
        page.goto(url)
        check("account chooser")
        flow = make_flow(google, CALENDAR_SCOPES)
        flow.redirect_uri = "https://elsewhere.example/cb"
        page.goto(flow.authorization_url()[0])
        check("error page: redirect_uri_mismatch")
        # The Cloud console, as the admin.
        console = google.gbase + "/console"
        page.goto(console + "/signin")
        check("console sign-in")
        page.get_by_label("Email").fill("alice@example.org")
        page.get_by_label("Password").fill("Alice-pw1")
        page.get_by_role("button", name="Sign in").click()
        check("console projects")
        page.get_by_label("Project name").fill("Library Rota")
        page.get_by_role("button", name="Create").click()
        check("console dashboard")
        page.get_by_role("link", name="Enabled APIs & services").click()
        page.get_by_role("button", name="Enable").click()
        check("console Calendar API")
        page.get_by_role("link", name="OAuth consent screen").click()
        page.get_by_label("External — any Google Account").check()
        page.get_by_label("App name").fill("Library Rota")
        page.get_by_role("button", name="Save").click()
        check("console consent screen (Testing)")
        page.get_by_role("link", name="Credentials").click()
        check("console credentials")
        page.get_by_label("Authorized redirect URIs (one per line)").fill(STANDARD_REDIRECT)
        page.get_by_role("button", name="Create").click()
        check("console client created")
        page.get_by_role("button", name="Copy client secret").click()
        assert page.evaluate("navigator.clipboard.readText()") == page.locator("#client-secret").inner_text()
        page.get_by_role("link", name="OK").click()
        check("console credentials with a client")
        # The Calendar viewer, as a person editing their calendar.
        created = google.gcontrol.post("/calendars/alice@example.org/events", json={"id": "desk00001", "summary": "Desk",
            "start": {"dateTime": "2027-03-01T09:00:00Z"}, "end": {"dateTime": "2027-03-01T10:00:00Z"}})  # fmt: skip
        assert created.status_code == 201, created.text
        page.goto(google.gbase + "/calendar/view/")
        check("viewer people")
        page.goto(google.gbase + f"/calendar/view/{quote('alice@example.org')}/?week=2027-03-01")
        check("viewer week")
        page.get_by_role("link", name="Edit Desk").click()
        check("viewer edit")
    finally:
        context.close()
    assert not failures, "\n\n".join(failures)
