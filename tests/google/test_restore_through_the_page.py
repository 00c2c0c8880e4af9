"""Restore on Google through the Calendar Sync tab, end to end against googleemulator over HTTPS: Bob deletes
one shift's event and moves another's to his "Rota" calendar in Google Calendar; the next verification notices;
the Sync Status box lists both under "Deleted or moved in Google Calendar" (Integration Status counts them);
Bob presses Restore on each and, after the worker's steps, both are back in his sync calendar, once each, and
nothing of ours is left in Rota. Leave it keeps an event out for good."""

from __future__ import annotations

import html as htmllib
import re

from django.urls import reverse

from shiftdesk.calendarsync.models import EventLink
from shiftdesk.google.provider import LINK_PROPERTY
from shiftdesk.scheduling.actions import do_assign_staff
from tests.google.test_provider_sync import CALENDAR, drain, live_events, make_shift, verify_now, world

__all__ = ["world"]
ROTA = "rota@group.calendar.google.com"
TAB = "/account/calendar-sync/"


def deleted_box(client) -> str:
    """The Sync Status box's "Deleted or moved in …" part, as HTML."""
    page = client.get(TAB).content.decode()
    return page.split('id="calendar-sync-deleted"', 1)[1].split("Recent sync log", 1)[0]


def text(html: str) -> str:
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def event_id(link: EventLink) -> str:
    return link.remote_event_id.split("/")[-1]


def deleted_and_moved(world, gemu) -> tuple[EventLink, EventLink, EventLink]:
    """Three shifts synced; Bob deletes the first's event and moves the second's to Rota in Google Calendar."""
    bob = world["bob"]
    shifts = [make_shift(world, days=2 + d) for d in range(3)]
    for shift in shifts:
        do_assign_staff(shift, bob, by=world["admin"], override_conflicts=True)
    drain(bob)
    deleted, moved, kept = (EventLink.objects.get(shift=s) for s in shifts)
    gemu.gcontrol.delete(f"/calendars/{CALENDAR}/events/{event_id(deleted)}").raise_for_status()
    gemu.gcontrol.post(
        f"/calendars/{CALENDAR}/events/{event_id(moved)}/move", json={"destination": ROTA}
    ).raise_for_status()
    verify_now(bob)
    return deleted, moved, kept


def test_restore_puts_back_an_event_deleted_and_one_moved_in_google(world, gemu, client, alice):
    bob = world["bob"]
    deleted, moved, kept = deleted_and_moved(world, gemu)
    client.force_login(bob)
    box = deleted_box(client)
    assert text(box).startswith(
        ">Deleted or moved in Google Calendar You deleted these shifts' events in Google"
    )
    assert f'data-link="{deleted.pk}" data-kind="deleted"' in box and "Deleted in Google Calendar" in box
    assert f'data-link="{moved.pk}" data-kind="moved"' in box and "Moved in Google Calendar:" in box
    assert "in Outlook" not in box  # the engine's own sentences (verify.py) name Google Calendar too
    assert box.count(">Restore</button>") == 2

    client.force_login(alice)
    status = client.get("/admin/accounts/integration-status/").content.decode()
    row = next(r for r in status.split("<tr data-user=")[1:] if bob.email in r)
    assert "1 event deleted in Google Calendar" in row and "1 event moved in Google Calendar" in row

    client.force_login(bob)
    for link in (deleted, moved):
        response = client.post(reverse("calendar_sync_restore", args=[link.pk]))
        assert response.status_code == 302 and response["Location"].endswith("#calendar-sync-deleted")
    assert "The event will be put back in your calendar shortly." in client.get(TAB).content.decode()
    drain(bob)

    events = live_events(gemu)
    keys = sorted(e["extendedProperties"]["private"][LINK_PROPERTY] for e in events)
    assert keys == sorted(link.link_key for link in (deleted, moved, kept))  # each once, in the sync calendar
    ours_in_rota = [e for e in live_events(gemu, ROTA) if LINK_PROPERTY in str(e.get("extendedProperties"))]
    assert ours_in_rota == []  # the moved copy was deleted there
    for link in (deleted, moved):
        link.refresh_from_db()
        assert not link.deleted_in_outlook and not link.moved_in_outlook and not link.dirty
        assert link.remote_event_id.startswith(CALENDAR + "/")
        assert event_id(link) in {e["id"] for e in events}
    assert "None." in deleted_box(client)
    verify_now(bob)  # as we left them: nothing flagged on the next verification
    assert not EventLink.objects.filter(deleted_in_outlook=True).exists()
    assert not EventLink.objects.filter(moved_in_outlook=True).exists()


def test_leave_it_keeps_the_event_out_of_google_for_good(world, gemu, client):
    from shiftdesk.scheduling.actions import do_update_shift

    bob = world["bob"]
    deleted, _, _ = deleted_and_moved(world, gemu)
    client.force_login(bob)
    client.post(reverse("calendar_sync_leave", args=[deleted.pk]))
    shift = deleted.shift
    do_update_shift(shift, position=shift.position, location="Annex", start=shift.start, end=shift.end,
                    staff_needed=shift.staff_needed, note=shift.note, by=world["admin"])  # fmt: skip
    drain(bob)
    keys = {e["extendedProperties"]["private"][LINK_PROPERTY] for e in live_events(gemu)}
    assert deleted.link_key not in keys
    assert f'data-link="{deleted.pk}"' not in deleted_box(client)
    deleted.refresh_from_db()
    assert not deleted.tracked  # left: never written again, whatever the shift does
