"""In Chromium, under the real Content-Security-Policy: the export progress on the Calendar Sync tab updates
by itself (htmx polling the fragment, no inline script) and stops polling once the export is done."""

from __future__ import annotations

import pytest

from tests.calendarsync.ui_factories import make_connection

pytestmark = pytest.mark.browser


def test_the_export_progress_updates_live_and_stops_when_done(page, login, live_server, bob):  # noqa: F811
    from shiftdesk.calendarsync.models import ExportJob

    make_connection(bob)
    job = ExportJob.objects.create(
        user=bob, option=ExportJob.Option.ALL, status=ExportJob.Status.RUNNING, total=4
    )
    violations: list[str] = []
    page.on(
        "console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None
    )
    progress_requests: list[str] = []
    page.on("request", lambda req: progress_requests.append(req.url) if "/progress/" in req.url else None)

    login(bob)
    page.goto(live_server.url + "/account/calendar-sync/")
    progress = page.locator(f"#export-progress-{job.pk}")
    assert "0 of 4" in progress.inner_text()

    ExportJob.objects.filter(pk=job.pk).update(done=2, errors=1)
    page.wait_for_selector(f"#export-progress-{job.pk} >> text=2 of 4", timeout=8_000)
    assert "1 error" in page.locator(f"#export-progress-{job.pk}").inner_text()

    ExportJob.objects.filter(pk=job.pk).update(
        done=4, errors=0, status=ExportJob.Status.DONE, message="All done."
    )
    page.wait_for_selector(f"#export-progress-{job.pk} >> text=4 of 4", timeout=8_000)
    settled = len(progress_requests)
    page.wait_for_timeout(4_500)
    assert len(progress_requests) == settled  # polling stopped with the job
    assert violations == []
