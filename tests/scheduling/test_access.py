"""Access-control matrix: every scheduling page for anonymous, regular, schedule admin and system admin.

bob is on the schedule's roster; charlie is a Regular user made schedule admin of it (dave, on no schedule,
is the outsider). Expected: "login" (redirect to the login page), 200, 403 or 404.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD

ANON, REGULAR, OUTSIDER, SCHEDULE_ADMIN, SYSTEM_ADMIN = (
    "anon",
    "regular",
    "outsider",
    "schedule_admin",
    "system_admin",
)


@pytest.fixture
def world(alice, bob, charlie, schedule, shift, position):
    from shiftdesk.accounts.models import User
    from shiftdesk.scheduling.models import TimeOff

    schedule.admins.add(charlie)
    dave = User.objects.create_user("dave@example.org", PASSWORD, first_name="Dave")
    time_off = TimeOff.objects.create(user=bob, start=shift.start, end=shift.end)
    return {
        "users": {REGULAR: bob, OUTSIDER: dave, SCHEDULE_ADMIN: charlie, SYSTEM_ADMIN: alice},
        "schedule": schedule,
        "shift": shift,
        "position": position,
        "time_off": time_off,
    }


# (url name, args from world, expected for anon, regular(bob, roster), outsider(dave), schedule admin, system admin)
PAGES = [
    ("dashboard", [], "login", 200, 200, 200, 200),
    ("schedule_list", [], "login", 200, 200, 200, 200),
    ("schedule_week", ["schedule"], "login", 200, 404, 200, 200),
    ("shift_create", ["schedule"], "login", 403, 404, 200, 200),
    ("shift_repeat", ["schedule"], "login", 403, 404, 200, 200),
    ("shift_edit", ["shift"], "login", 403, 404, 200, 200),
    ("shift_delete", ["shift"], "login", 403, 404, 200, 200),
    ("shift_assign", ["shift"], "login", 403, 404, 200, 200),
    ("schedule_create", [], "login", 403, 403, 403, 200),
    ("schedule_edit", ["schedule"], "login", 403, 403, 403, 200),
    ("schedule_roster", ["schedule"], "login", 403, 403, 403, 200),
    ("position_list", [], "login", 403, 403, 403, 200),
    ("position_edit", ["position"], "login", 403, 403, 403, 200),
    ("time_off_list", [], "login", 200, 200, 200, 200),
    ("admin_schedules", [], "login", 403, 403, 403, 200),
    ("admin_accounts", [], "login", 403, 403, 403, 200),
    ("admin_account_create", [], "login", 403, 403, 403, 200),
]
ROLES = [ANON, REGULAR, OUTSIDER, SCHEDULE_ADMIN, SYSTEM_ADMIN]


def _check(client, world, role, name, args, want):
    url = reverse(name, args=[world[a].pk for a in args])
    if role != ANON:
        client.force_login(world["users"][role])
    response = client.get(url)
    if want == "login":
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
    else:
        assert response.status_code == want, f"{role} GET {url}"


CASES = [(role, page) for page in PAGES for role in ROLES]


@pytest.mark.parametrize(("role", "page"), CASES, ids=[f"{p[0]}-{r}" for r, p in CASES])
def test_access_matrix(client, world, role, page):
    name, args, *wants = page
    _check(client, world, role, name, args, wants[ROLES.index(role)])


POSTS = [
    # (url name, args, data, who may: set of roles that do not get 403/404/login)
    ("shift_assign", ["shift"], {"staff": "bob@example.org"}, {SCHEDULE_ADMIN, SYSTEM_ADMIN}),
    ("shift_delete", ["shift"], {}, {SCHEDULE_ADMIN, SYSTEM_ADMIN}),
    ("time_off_decide", ["time_off"], {"decision": "approve"}, {SYSTEM_ADMIN}),
    ("time_off_cancel", ["time_off"], {}, {REGULAR, SYSTEM_ADMIN}),
]
POST_CASES = [(role, p) for p in POSTS for role in ROLES]


@pytest.mark.parametrize(("role", "post"), POST_CASES, ids=[f"{p[0]}-{r}" for r, p in POST_CASES])
def test_writes_are_refused_to_the_wrong_roles(client, world, role, post, recorder):
    from shiftdesk.scheduling.models import Assignment, Shift, TimeOff

    name, args, data, allowed = post
    url = reverse(name, args=[world[a].pk for a in args])
    before = (
        Shift.objects.count(),
        Assignment.objects.count(),
        list(TimeOff.objects.values_list("status", flat=True)),
    )
    if role != ANON:
        client.force_login(world["users"][role])
    response = client.post(url, data)
    if role in allowed:
        assert response.status_code == 302 and not response.url.startswith(reverse("login"))
    else:
        assert response.status_code in (302, 403, 404)
        if response.status_code == 302:
            assert role == ANON and response.url.startswith(reverse("login"))
        after = (
            Shift.objects.count(),
            Assignment.objects.count(),
            list(TimeOff.objects.values_list("status", flat=True)),
        )
        assert after == before
        assert recorder.calls == []
