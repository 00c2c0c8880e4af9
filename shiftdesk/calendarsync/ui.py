"""The boxes calendarsync adds to Manage Account > Calendar Sync (the Outlook/Exchange Settings panel).

Provider apps (microsoft, exchange) register their authorization boxes in the same slot with a lower `order`;
these two come after them: "Outlook/Exchange - Export" (Run the Export, with live progress) and "Sync
Status" (the user's own status, pending changes, events deleted in Outlook, recent sync log).
`register_panels()` is called from CalendarSyncConfig.ready().
"""

from __future__ import annotations

from django.http import HttpRequest

from shiftdesk.calendarsync import ui_queries
from shiftdesk.calendarsync.forms import ExportForm
from shiftdesk.lib import panels

EXPORT_ORDER = 500
STATUS_ORDER = 600


def export_box_context(request: HttpRequest) -> dict:
    connection = ui_queries.get_connection_for_user(request.user)
    job = ui_queries.latest_export_job(request.user)
    context = {
        "form": ExportForm(),
        "unavailable": ui_queries.export_unavailable_reason(connection),
        "job": job,
    }
    if connection is not None:
        # Off for everyone: an export may still be queued; it is written when the admin turns syncing on.
        context["integration_off"] = ui_queries.integration_disabled_reasons().get(connection.provider, "")
    if job is not None:
        context.update(ui_queries.export_progress_context(job))
    return context


def status_box_context(request: HttpRequest) -> dict:
    connection = ui_queries.get_connection_for_user(request.user)
    context: dict = {
        "connection": connection,
        "status": ui_queries.status_view(connection),
        "provider": ui_queries.provider_view(connection),
        "site_time_zone": ui_queries.site_time_zone(),
        "removal": ui_queries.removal_progress(request.user),  # Remove Authorization's deletes, in the worker
    }
    if connection is not None:
        context.update(
            integration_off=ui_queries.integration_disabled_reasons().get(connection.provider, ""),
            pending=ui_queries.pending_count(connection),
            log=ui_queries.recent_log(connection),
            deleted=ui_queries.deleted_in_outlook(connection),
            moved=ui_queries.moved_in_outlook(connection),
        )
    return context


def register_panels() -> None:
    panels.register_panel(
        panels.CALENDAR_SYNC,
        "calendarsync_export",
        "calendarsync/export_box.html",
        export_box_context,
        EXPORT_ORDER,
    )
    panels.register_panel(
        panels.CALENDAR_SYNC,
        "calendarsync_status",
        "calendarsync/status_box.html",
        status_box_context,
        STATUS_ORDER,
    )
