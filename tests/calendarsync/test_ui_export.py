"""The Outlook/Exchange - Export box: the FAQ's exact labels, when it is disabled, Run the Export queueing a job
for the worker, and the live progress fragment htmx polls (n of m, errors) until the job finishes."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from shiftdesk.calendarsync import exports
from shiftdesk.calendarsync.models import CalendarConnection, EventLink, ExportJob
from tests.calendarsync.ui_factories import assign, make_connection, make_shift

pytestmark = pytest.mark.django_db
POLL = 'hx-trigger="every 2s"'


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client


def page(client) -> str:
    response = client.get(reverse("calendar_sync"))
    assert response.status_code == 200
    return response.content.decode()


def test_it_uses_the_faqs_labels_exactly(bob_client, bob):
    make_connection(bob)
    html = page(bob_client)
    assert "<h2" in html and ">Outlook/Exchange - Export</h2>" in html
    assert re.search(r"<label[^>]*>Export Option</label>", html)
    options = re.findall(r"<option value=\"[^\"]+\"[^>]*>([^<]+)</option>", html.split("Export Option", 1)[1])
    assert options[:2] == ["Export shifts which have not been exported previously", "Export all shifts"]
    assert re.search(r"<button type=\"submit\" class=\"btn btn-primary\">Run the Export</button>", html)
    assert "Outlook/Exchange Settings" in html


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda user: None, "Connect your calendar first"),
        (lambda user: make_connection(user, calendar=""), "Choose a Calendar to Sync shifts with"),
        (
            lambda user: make_connection(user, status=CalendarConnection.Status.NEEDS_REAUTHORIZATION),
            "authorize again before exporting",
        ),
        (
            lambda user: make_connection(user, status=CalendarConnection.Status.PAUSED),
            "paused for confirmation",
        ),
    ],
    ids=["no-connection", "no-calendar", "needs-reauthorization", "paused"],
)
def test_it_disables_the_export_and_says_why(bob_client, bob, setup, reason):
    setup(bob)
    html = page(bob_client)
    assert reason in html
    assert re.search(r"<button type=\"submit\" class=\"btn btn-primary\" disabled", html)
    response = bob_client.post(reverse("calendar_sync_export"), {"option": ExportJob.Option.ALL}, follow=True)
    assert reason in response.content.decode()
    assert not ExportJob.objects.filter(user=bob).exists()


def test_it_queues_an_export_and_shows_its_progress(bob_client, bob):
    make_connection(bob)
    response = bob_client.post(reverse("calendar_sync_export"), {"option": ExportJob.Option.NOT_EXPORTED})
    assert response.status_code == 302
    assert response["Location"] == reverse("calendar_sync") + "#calendar-sync-export"
    job = ExportJob.objects.get(user=bob)
    assert (job.option, job.status, job.requested_by) == (
        ExportJob.Option.NOT_EXPORTED,
        ExportJob.Status.QUEUED,
        bob,
    )
    html = page(bob_client)
    assert "Your export has started" in html
    progress_url = reverse("calendar_sync_export_progress", args=[job.pk])
    assert f'hx-get="{progress_url}"' in html and POLL in html


def test_it_does_not_queue_a_second_export_while_one_runs(bob_client, bob):
    make_connection(bob)
    bob_client.post(reverse("calendar_sync_export"), {"option": ExportJob.Option.ALL})
    response = bob_client.post(reverse("calendar_sync_export"), {"option": ExportJob.Option.ALL}, follow=True)
    assert "An export is already running" in response.content.decode()
    assert ExportJob.objects.filter(user=bob).count() == 1


def test_it_rejects_an_unknown_option(bob_client, bob):
    make_connection(bob)
    response = bob_client.post(reverse("calendar_sync_export"), {"option": "everything"}, follow=True)
    assert "Choose an Export Option" in response.content.decode()
    assert not ExportJob.objects.exists()


def test_the_fragment_reports_n_of_m_and_errors_while_running(bob_client, bob):
    make_connection(bob)
    job = ExportJob.objects.create(
        user=bob, option=ExportJob.Option.ALL, status=ExportJob.Status.RUNNING, total=10, done=3, errors=1
    )
    shift = make_shift()
    EventLink.objects.create(
        connection=bob.calendar_connection, shift=shift, shift_ref=shift.pk, link_key="k", export_job=job,
        last_error="The calendar service is busy; will retry.",
    )  # fmt: skip
    response = bob_client.get(reverse("calendar_sync_export_progress", args=[job.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "3 of 10" in html and "1 error" in html
    assert "The calendar service is busy; will retry." in html
    assert POLL in html  # keeps polling
    assert "<html" not in html  # a fragment, not a page


def test_the_fragment_stops_polling_when_the_export_is_done(bob_client, bob):
    make_connection(bob)
    job = ExportJob.objects.create(
        user=bob,
        option=ExportJob.Option.ALL,
        status=ExportJob.Status.DONE,
        total=4,
        done=4,
        message="All done.",
    )
    html = bob_client.get(reverse("calendar_sync_export_progress", args=[job.pk])).content.decode()
    assert "4 of 4" in html and "Done" in html
    assert POLL not in html and "hx-get" not in html


def test_the_worker_runs_the_queued_export_and_the_page_follows_it(bob_client, bob):
    """Through the engine's own export step: the click queues, run_export marks the links (n = 0 of 3), and
    the fragment reports 3 of 3 once the sync step has recorded them."""
    connection = make_connection(bob)
    for day in (1, 2, 3):
        assign(make_shift(days_ahead=day), bob)
    bob_client.post(reverse("calendar_sync_export"), {"option": ExportJob.Option.NOT_EXPORTED})
    job = ExportJob.objects.get(user=bob)
    assert exports.run_export(job.pk, worker_id="test-worker")
    url = reverse("calendar_sync_export_progress", args=[job.pk])
    html = bob_client.get(url).content.decode()
    assert "0 of 3" in html and "Running" in html and POLL in html
    assert (
        EventLink.objects.filter(connection=connection, export_job=job, dirty=True, tracked=True).count() == 3
    )
    # What the sync step records after writing the events (engine.record_step -> update_export_progress):
    EventLink.objects.filter(export_job=job).update(dirty=False, remote_event_id="evt")
    from shiftdesk.calendarsync.recording import update_export_progress

    update_export_progress({job.pk})
    html = bob_client.get(url).content.decode()
    assert "3 of 3" in html and "Done" in html and POLL not in html


def test_it_warns_that_an_export_waits_while_syncing_is_off_for_everyone(bob_client, bob):
    # Azure AD OAuth 2 was never enabled in this test: the export can be queued, and the box says it waits.
    make_connection(bob)
    box = page(bob_client).split('id="calendar-sync-export"', 1)[1].split("</section>", 1)[0]
    assert "data-integration-off" in box and "waits and is written to your calendar when it is back on" in box


def test_the_fragment_stops_polling_when_the_authorization_was_removed(bob_client, bob):
    job = ExportJob.objects.create(
        user=bob, option=ExportJob.Option.ALL, status=ExportJob.Status.RUNNING, total=5
    )
    html = bob_client.get(reverse("calendar_sync_export_progress", args=[job.pk])).content.decode()
    assert "Stopped" in html and "the authorization was removed" in html
    assert POLL not in html
