"""The chaos test's scenario steps, run as subprocesses against the chaos database (DATABASE_URL).

`python -m tests.calendarsync.chaos_scenario setup|burst|desired ...`: the test process only orchestrates
(emulator faults, worker processes, SIGKILL) and compares the emulator's raw state with `desired`.
CHAOS_PROVIDER says whose calendars the staff connect: "microsoft" (default) or "google".
"""

from __future__ import annotations

import json
import os
import random
import sys
from datetime import timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shiftdesk.settings")
os.environ.setdefault("SHIFTDESK_FAST_PASSWORD_HASHER", "true")
django.setup()

from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from shiftdesk.accounts.models import User  # noqa: E402
from shiftdesk.calendarsync.models import CalendarConnection, EventLink  # noqa: E402
from shiftdesk.calendarsync.render import content_hash, render_event  # noqa: E402
from shiftdesk.scheduling.models import Assignment, Shift, Site  # noqa: E402
from shiftdesk.scheduling.snapshots import shift_snapshot  # noqa: E402


class _Emulator:
    """What conftest.Sync needs of EmulatorServer: HTTPS clients trusting the emulator's CA."""

    def __init__(self, ca_file: str, base_url: str) -> None:
        import ssl

        import httpx

        self.ssl_context = ssl.create_default_context(cafile=ca_file)
        self.base_url = base_url
        self.control = httpx.Client(base_url=base_url + "/_emulator", verify=self.ssl_context, timeout=30)

    def http(self, **kwargs):
        import httpx

        return httpx.Client(verify=self.ssl_context, timeout=30, **kwargs)


def _world(admin):
    """The conftest world of the run's provider, its OAuth settings saved as an admin leaves them."""
    from tests.calendarsync.conftest import GoogleSync, Sync

    emulator = _emulator()
    if os.environ.get("CHAOS_PROVIDER") == "google":
        from googleemulator.testing import STANDARD_CLIENT_ID
        from googleemulator.testing import STANDARD_SECRET as GOOGLE_SECRET
        from shiftdesk.google.actions import do_save_google_settings
        from shiftdesk.google.models import GoogleOAuthSettings

        candidate = GoogleOAuthSettings.load()
        candidate.client_id, candidate.client_secret = STANDARD_CLIENT_ID, GOOGLE_SECRET
        candidate.secret_last4, candidate.enabled = GOOGLE_SECRET[-4:], True
        return GoogleSync(emulator, do_save_google_settings(candidate, by=admin, verified=True), admin)
    from shiftdesk.microsoft.actions import do_save_azure_ad_settings
    from shiftdesk.microsoft.identity import AccountType
    from shiftdesk.microsoft.models import AzureADSettings
    from tests.calendarsync.conftest import STANDARD_SECRET

    candidate = AzureADSettings.load()
    candidate.application_id = os.environ["CHAOS_CLIENT_ID"]
    candidate.client_secret = STANDARD_SECRET
    candidate.secret_last4 = STANDARD_SECRET[-4:]
    candidate.account_type = AccountType.MULTI
    candidate.enabled = True
    return Sync(emulator, do_save_azure_ad_settings(candidate, by=admin, verified=True), admin)


def setup(users: int, shifts: int) -> None:
    from shiftdesk.scheduling.actions import do_bulk_assign_staff, do_create_shift

    admin = User.objects.create_user("alice@example.org", "pw-alice-123456", role=User.Role.ADMIN)
    world = _world(admin)
    people = [world.add_user(i) for i in range(users)]
    # Every mailbox gets a "Work" calendar; even-numbered users sync with it (a non-default calendar: the
    # probe must look beyond /me/events), the others with the default one. The burst switches some of them.
    for i, person in enumerate(people):
        work = world.add_calendar(person, "Work")
        if i % 2 == 0:
            _choose(person, work)
    now = timezone.now()
    made = []
    for i in range(shifts):
        start = (now + timedelta(days=1 + i, hours=i % 5)).replace(second=0, microsecond=0)
        made.append(do_create_shift(world.schedule, position=world.position, location=f"Room {i}", start=start,
                                    end=start + timedelta(hours=4), staff_needed=users, note=f"Shift {i}", by=admin))  # fmt: skip
    do_bulk_assign_staff([(s, u) for s in made for u in people], by=admin, override_conflicts=True)
    print(json.dumps({str(u.pk): world.upns[u.pk] for u in people}))


def _choose(user, calendar: dict) -> None:
    from shiftdesk.calendarsync.actions import do_choose_calendars

    connection = CalendarConnection.objects.get(user=user)
    do_choose_calendars(connection, sync_calendar_id=calendar["id"], sync_calendar_name=calendar["name"],
                        freebusy_calendar_id=calendar["id"], freebusy_calendar_name=calendar["name"])  # fmt: skip


def _emulator() -> _Emulator:
    return _Emulator(os.environ["MICROSOFT_CA_BUNDLE"], os.environ["MICROSOFT_GRAPH_URL"])


def _calendars(account: str) -> list[dict]:
    """The calendars of a user's mailbox (Outlook) or Google account: [{id, name, isDefaultCalendar}]."""
    emulator = _emulator()
    if os.environ.get("CHAOS_PROVIDER") == "google":
        from tests.calendarsync.conftest import google_control, google_mailbox

        return google_mailbox(google_control(emulator), account)["calendars"]
    return emulator.control.get(f"/graph/mailboxes/{account}").json()["calendars"]


def burst(seed: int) -> None:
    """Edits, unassignments, a deleted shift, a re-assignment: each its own transaction, as the web does."""
    from shiftdesk.scheduling.actions import (
        do_assign_staff,
        do_delete_shift,
        do_unassign_staff,
        do_update_shift,
    )

    rng = random.Random(seed)
    admin = User.objects.get(email="alice@example.org")
    shifts = list(Shift.objects.order_by("id"))
    for shift in rng.sample(shifts, 8):
        do_update_shift(shift, position=shift.position, location=shift.location + " (moved)",
                        start=shift.start + timedelta(minutes=30), end=shift.end + timedelta(minutes=30),
                        staff_needed=shift.staff_needed, note=shift.note + " edited", by=admin)  # fmt: skip
    assignments = list(Assignment.objects.select_related("shift", "user").order_by("id"))
    for a in rng.sample(assignments, 150):
        if Assignment.objects.filter(pk=a.pk).exists():
            do_unassign_staff(a.shift, a.user, by=admin)
    do_delete_shift(shifts[-1], by=admin)
    # Six users switch calendars mid-run (Work <-> default): their events move while creates may be unanswered.
    for conn in rng.sample(list(CalendarConnection.objects.select_related("user").order_by("id")), 6):
        calendars = _calendars(conn.account_email)
        other = next(c for c in calendars if c["id"] != conn.sync_calendar_id)
        _choose(conn.user, other)
    # Unassigned and assigned again: the event must exist once.
    for a in rng.sample(assignments, 20):
        if a.shift_id != shifts[-1].pk and not Assignment.objects.filter(shift=a.shift, user=a.user).exists():
            with transaction.atomic():
                do_assign_staff(a.shift, a.user, by=admin, override_conflicts=True)
    print(json.dumps({"ok": True}))


def desired() -> None:
    """{upn: {link_key: {subject, location, start, hash}}}, each connection's chosen calendar, where its links
    record their events, and how many links are still dirty: all read from one snapshot of the database.

    One snapshot matters: the workers keep writing while this reads. Read statement by statement, a link seen
    dirty and unrecorded (its create in flight) by the per-connection read could be recorded and clean by the
    time the final dirty count ran, and the test took that count of 0 as "drained" and the earlier row as the
    end state (the "unrecorded" failures of issue 12). REPEATABLE READ on PostgreSQL; on SQLite in WAL mode a
    read transaction sees one snapshot from its first read."""
    from django.db import connection

    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        _desired()


def _desired() -> None:
    site = Site.load()
    now = timezone.now()
    out: dict = {}
    calendars: dict = {}
    recorded: dict = {}
    for conn in CalendarConnection.objects.select_related("user"):
        want = {}
        for a in Assignment.objects.filter(
            user=conn.user, shift__end__gt=now, shift__schedule__active=True
        ).select_related("shift__schedule", "shift__position"):
            content = render_event(
                shift_snapshot(a.shift, time_zone=site.time_zone), reminder_minutes=site.reminder_minutes
            )
            want[EventLink.key_for(conn.user_id, a.shift_id)] = {
                "subject": content.subject, "location": content.location, "start": a.shift.start.isoformat(),
                "hash": content_hash(content),
            }  # fmt: skip
        out[conn.account_email] = want
        calendars[conn.account_email] = conn.sync_calendar_id
        recorded[conn.account_email] = {
            link.link_key: [
                link.remote_event_id,
                link.remote_calendar_id,
                link.moved_in_outlook_reason or "",
                link.deleted_in_outlook,
                link.dirty,
            ]
            for link in EventLink.objects.filter(connection=conn, link_key__in=list(want))
        }
    status = dict(CalendarConnection.objects.values_list("account_email", "status"))
    dirty = EventLink.objects.filter(dirty=True).count()
    print(
        json.dumps(
            {"desired": out, "calendars": calendars, "recorded": recorded, "dirty": dirty, "status": status}
        )
    )


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "setup":
        setup(int(sys.argv[2]), int(sys.argv[3]))
    elif command == "burst":
        burst(int(sys.argv[2]))
    elif command == "desired":
        desired()
    else:
        raise SystemExit(f"unknown command {command}")
