"""axe-core's WCAG 2.0/2.1 A and AA rules over every ShiftDesk page of the access matrix, logged in as each
role that may see it (anonymous, regular staff, schedule admin, system admin), at desktop and phone width.
Any violation fails, with the rule and the element named. At phone width (375 x 812) every page must also
fit: the document is never wider than the viewport (no sideways scrolling), at 375 px and at WCAG's 320 px."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.a11y.support import DESKTOP, PHONE, note_problems, sideways_overflow, sticking_out

NARROWEST = {"width": 320, "height": 812}

ANON, REGULAR, SCHEDULE_ADMIN, SYSTEM_ADMIN = "anon", "regular", "schedule_admin", "system_admin"

# (url name, args from the world, the roles that get the page) — the 200 cells of the access matrices
# (tests/scheduling/test_access.py, tests/calendarsync/test_ui_access.py, the accounts and integrations pages).
PAGES = [
    ("login", [], {ANON}),
    ("password_reset", [], {ANON}),
    ("password_reset_done", [], {ANON}),
    ("password_reset_complete", [], {ANON}),
    ("dashboard", [], {REGULAR, SCHEDULE_ADMIN, SYSTEM_ADMIN}),
    ("schedule_list", [], {REGULAR, SCHEDULE_ADMIN, SYSTEM_ADMIN}),
    ("schedule_week", ["schedule"], {REGULAR, SCHEDULE_ADMIN, SYSTEM_ADMIN}),
    ("shift_create", ["schedule"], {SCHEDULE_ADMIN, SYSTEM_ADMIN}),
    ("shift_repeat", ["schedule"], {SCHEDULE_ADMIN, SYSTEM_ADMIN}),
    ("shift_edit", ["shift"], {SCHEDULE_ADMIN, SYSTEM_ADMIN}),
    ("shift_delete", ["shift"], {SCHEDULE_ADMIN, SYSTEM_ADMIN}),
    ("shift_assign", ["shift"], {SCHEDULE_ADMIN, SYSTEM_ADMIN}),
    ("schedule_create", [], {SYSTEM_ADMIN}),
    ("schedule_edit", ["schedule"], {SYSTEM_ADMIN}),
    ("schedule_roster", ["schedule"], {SYSTEM_ADMIN}),
    ("position_list", [], {SYSTEM_ADMIN}),
    ("position_edit", ["position"], {SYSTEM_ADMIN}),
    ("time_off_list", [], {REGULAR, SCHEDULE_ADMIN, SYSTEM_ADMIN}),
    ("admin_schedules", [], {SYSTEM_ADMIN}),
    ("admin_accounts", [], {SYSTEM_ADMIN}),
    ("admin_account_create", [], {SYSTEM_ADMIN}),
    ("admin_account_edit", ["staff"], {SYSTEM_ADMIN}),
    ("admin_integrations", [], {SYSTEM_ADMIN}),
    ("integration_status", [], {SYSTEM_ADMIN}),
    ("manage_account", [], {REGULAR, SCHEDULE_ADMIN, SYSTEM_ADMIN}),
    ("password_change", [], {REGULAR, SCHEDULE_ADMIN, SYSTEM_ADMIN}),
    ("calendar_sync", [], {REGULAR, SCHEDULE_ADMIN, SYSTEM_ADMIN}),
    ("availability_auto_assign", ["schedule"], {SCHEDULE_ADMIN, SYSTEM_ADMIN}),
]
ROLES = [ANON, REGULAR, SCHEDULE_ADMIN, SYSTEM_ADMIN]


def pages_for(role, world):
    for name, args, roles in PAGES:
        if role in roles:
            yield name, reverse(name, args=[getattr(world, a).pk for a in args])
    if role == ANON:
        # The emailed "set your password" link (it redirects to the form once the token is checked).
        from django.contrib.auth.tokens import default_token_generator
        from django.utils.encoding import force_bytes
        from django.utils.http import urlsafe_base64_encode

        uid = urlsafe_base64_encode(force_bytes(world.staff.pk))
        token = default_token_generator.make_token(world.staff)
        yield "password_reset_confirm", reverse("password_reset_confirm", args=[uid, token])


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("role", ROLES)
def test_every_page_passes_axe_wcag_21_aa(demo, demo_login, live_server, role, viewport):
    user = {ANON: None, REGULAR: demo.staff, SCHEDULE_ADMIN: demo.schedule_admin, SYSTEM_ADMIN: demo.admin}[
        role
    ]
    page = demo_login(user, viewport)
    failures = []
    for name, url in pages_for(role, demo):
        response = page.goto(live_server.url + url)
        assert response.status == 200, f"{role} GET {url}: {response.status}"
        note_problems(page, f"{name} as {role}", failures, viewport)
        if viewport == PHONE:
            # WCAG 1.4.10 names 320 CSS px: the same page, narrowed, must still fit.
            page.set_viewport_size(NARROWEST)
            if (overflow := sideways_overflow(page)) > 0:
                failures.append(
                    f"{name} as {role} scrolls sideways at 320 px: {overflow} px too wide: {sticking_out(page)}"
                )
            page.set_viewport_size(PHONE)
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_pages_off_the_happy_path_pass_axe(demo, demo_login, live_server, viewport):
    """The states a GET of the matrix does not show: a wrong password, "Too many attempts", an emailed link
    that no longer works, the page after a password change, and forms sent back with their errors."""
    from django.conf import settings

    from tests.a11y.support import note_problems

    failures: list[str] = []
    page = demo_login(None, viewport)
    page.goto(live_server.url + reverse("login"))
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        page.fill("#id_username", demo.staff.email)
        page.fill("#id_password", "wrong")
        page.click("button[type=submit]")
        if attempt == 0:
            page.locator(".errorlist, [role=alert]").first.wait_for()
            note_problems(page, "login: wrong password", failures, viewport)
    page.get_by_role("heading", name="Too many attempts").wait_for()
    note_problems(page, "Too many attempts", failures, viewport)
    page.goto(live_server.url + reverse("password_reset_confirm", args=["MQ", "not-a-token"]))
    note_problems(page, "a set-your-password link that no longer works", failures, viewport)

    admin = demo_login(demo.admin, viewport)
    admin.goto(live_server.url + reverse("password_change_done"))
    note_problems(admin, "password_change_done", failures, viewport)
    for name, args in (
        ("password_change", []),
        ("time_off_list", []),
        ("shift_create", [demo.schedule.pk]),
        ("schedule_create", []),
        ("admin_account_create", []),
    ):
        admin.goto(live_server.url + reverse(name, args=args))
        # Sent empty: the server's errors (the browser's own checks of `required` fields are off).
        admin.evaluate("document.querySelectorAll('main form').forEach(f => { f.noValidate = true; })")
        admin.locator("main form:has(.btn-primary) .btn-primary").last.click()
        admin.locator("main .errorlist").first.wait_for()
        note_problems(admin, f"{name}, sent back with errors", failures, viewport)
    assert not failures, "\n\n".join(failures)
