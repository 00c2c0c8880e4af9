"""The Calendar Sync tab and Integration Status driven through the HTTP client against the real engine, worker
and the HTTPS emulator: Run the Export fills the mailbox with live progress, Restore brings back an event the
user deleted in Outlook, and a revoked grant shows up as "Needs reauthorization" to the user and the admin."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def run_worker_once() -> None:
    from shiftdesk.calendarsync.worker import Worker

    Worker(concurrency=1, worker_id="ui-e2e").run(once=True)


def test_run_the_export_fills_the_mailbox_and_the_page_follows_it(sync, client):
    from shiftdesk.calendarsync.models import ExportJob

    staff = sync.add_user(0, connect=False)
    for day in range(1, 4):
        sync.assign(sync.shift(days=day), staff)
    sync.connect(staff)  # shifts assigned before authorizing are not synced until exported
    client.force_login(staff)
    page = client.get(reverse("calendar_sync")).content.decode()
    assert re.search(r'<button type="submit" class="btn btn-primary">Run the Export</button>', page)
    assert "data-integration-off" not in page
    assert sync.events(staff) == []

    client.post(reverse("calendar_sync_export"), {"option": ExportJob.Option.NOT_EXPORTED})
    job = ExportJob.objects.get(user=staff)
    fragment_url = reverse("calendar_sync_export_progress", args=[job.pk])
    assert "Queued" in client.get(fragment_url).content.decode()

    run_worker_once()
    fragment = client.get(fragment_url).content.decode()
    assert "3 of 3" in fragment and "Done" in fragment and "every 2s" not in fragment
    assert len(sync.events(staff)) == 3
    status = client.get(reverse("calendar_sync")).content.decode().split('id="calendar-sync-status"', 1)[1]
    assert 'data-sync-status="connected"' in status and 'data-pending="0"' in status
    assert "data-integration-off" not in status  # the admin enabled Azure AD OAuth 2
    assert status.count("<td>Created</td>") == 3


def test_restore_brings_back_an_event_deleted_in_outlook(sync, client):
    from shiftdesk.scheduling.actions import do_update_shift

    staff = sync.add_user(0)
    shift = sync.shift()
    sync.assign(shift, staff)
    sync.drain(staff)
    [event] = sync.events(staff)
    sync.emulator.control.delete(
        f"/graph/mailboxes/{sync.upns[staff.pk]}/events/{event['id']}"
    ).raise_for_status()
    do_update_shift(shift, position=shift.position, location=shift.location, start=shift.start, end=shift.end,
                    staff_needed=shift.staff_needed, note="Bring keys", by=sync.admin)  # fmt: skip
    sync.drain(staff)  # the update meets a 404: deleted in Outlook, not re-created

    client.force_login(staff)
    page = client.get(reverse("calendar_sync")).content.decode()
    [link_id] = re.findall(r'data-link="(\d+)"', page)
    assert sync.events(staff) == []

    client.post(reverse("calendar_sync_restore", args=[link_id]))
    sync.drain(staff)
    [restored] = sync.events(staff)
    assert "Bring keys" in restored["body"]["content"]
    assert 'data-link="' not in client.get(reverse("calendar_sync")).content.decode()


def test_a_revoked_grant_is_shown_to_the_user_and_on_integration_status(sync, client, alice):
    staff = sync.add_user(0)
    sync.assign(sync.shift(), staff)
    upn = sync.upns[staff.pk]
    sync.emulator.control.post("/revoke", json={"client_id": sync.azure.application_id, "user": upn})
    sync.emulator.control.post("/tokens/expire", json={"user": upn}).raise_for_status()
    sync.step(staff)

    client.force_login(staff)
    page = client.get(reverse("calendar_sync")).content.decode()
    assert 'data-sync-status="needs_reauthorization"' in page and ">authorize again</a>" in page
    assert "authorize again before exporting" in page  # the export box is disabled too

    client.force_login(alice)
    admin_page = client.get(reverse("integration_status"), {"problems": "on"}).content.decode()
    [row] = re.findall(r"<tr data-user=.*?</tr>", admin_page, re.S)
    assert "Needs reauthorization" in row and upn in row and '<td data-label="Pending changes">1</td>' in row
