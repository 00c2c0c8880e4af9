"""`seed_demo`: the Riverside demo, idempotent, `--reset` starts over; `demo_people()` for the launcher."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from shiftdesk.accounts.models import User
from shiftdesk.scheduling.demo import ADMIN_EMAIL, DEMO_STAFF, demo_people
from shiftdesk.scheduling.models import Assignment, Schedule, Shift, Site, TimeOff


def _counts():
    return (
        User.objects.count(),
        Schedule.objects.count(),
        Shift.objects.count(),
        Assignment.objects.count(),
        TimeOff.objects.count(),
    )


def test_it_seeds_the_demo_and_prints_logins(db):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    text = out.getvalue()
    assert "admin@riverside-library.org / demo-admin-2026" in text
    assert "maria.garcia@riverside-library.org / demo-staff-2026" in text
    site = Site.load()
    assert (site.name, site.time_zone) == ("Riverside Public Library", "America/Chicago")
    assert sorted(Schedule.objects.values_list("name", flat=True)) == [
        "Children's Services",
        "Circulation",
        "Reference Desk",
    ]
    assert User.objects.filter(email__endswith="@riverside-library.org").count() == 26
    assert User.objects.get(email=ADMIN_EMAIL).is_system_admin
    assert User.objects.get(email=DEMO_STAFF[0].email).check_password("demo-staff-2026")
    assert Shift.objects.count() > 90 and Assignment.objects.count() > 150
    assert Shift.objects.filter(assignments__isnull=True).exists() or any(
        s.assignments.count() < s.staff_needed for s in Shift.objects.all()
    )  # open slots to show
    assert set(TimeOff.objects.values_list("status", flat=True)) == {"pending", "approved", "denied"}
    assert Schedule.objects.filter(admins__isnull=False).count() == 3
    before = _counts()
    call_command("seed_demo", stdout=StringIO())
    assert _counts() == before
    call_command("seed_demo", "--reset", stdout=StringIO())
    assert _counts() == before


def test_demo_people_match_the_seeded_accounts(db):
    people = demo_people()
    assert len(people) == 26 and people[0]["email"] == ADMIN_EMAIL
    assert len({p["email"] for p in people}) == 26
    assert all(p["email"].endswith("@riverside-library.org") for p in people)
    call_command("seed_demo", stdout=StringIO())
    assert set(User.objects.values_list("email", flat=True)) == {p["email"] for p in people}
