"""Manage Account > Calendar Sync tab (any logged-in user, own account) and Integration Status (system admins).

Views parse, call one `do_*` function, and redirect or render; no view makes a network call (the worker does
the syncing and the export). Every lookup by id goes through a `get_<thing>_for_user` helper, so a user who
tampers with an id gets a 404, never someone else's data.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from shiftdesk.accounts.permissions import system_admin_required
from shiftdesk.calendarsync import actions, ui_actions, ui_queries
from shiftdesk.calendarsync.forms import ExportForm, IntegrationStatusFilterForm
from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.lib import panels

Status = CalendarConnection.Status
STATUS_PAGE_SIZE = 50


@login_required
@require_GET
def calendar_sync(request: HttpRequest) -> HttpResponse:
    """Manage Account > Calendar Sync: the "Outlook/Exchange Settings" panel with one box per provider, the
    Outlook/Exchange - Export box and the user's own sync status (see ui.py). Who: any logged-in user."""
    boxes = panels.render_panels(panels.CALENDAR_SYNC, request)
    return render(request, "calendarsync/calendar_sync.html", {"active_tab": "calendar_sync", "boxes": boxes})


def _back_to_tab(anchor: str = "") -> HttpResponse:
    return redirect(reverse("calendar_sync") + (f"#{anchor}" if anchor else ""))


@login_required
@require_POST
def export_start(request: HttpRequest) -> HttpResponse:
    """Run the Export: queue an export of the requesting user's own shifts for the worker."""
    form = ExportForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose an Export Option.")
        return _back_to_tab("calendar-sync-export")
    connection = ui_queries.get_connection_for_user(request.user)
    problem = ui_queries.export_unavailable_reason(connection)
    if problem:
        messages.error(request, problem)
    elif ui_queries.unfinished_export_job(request.user) is not None:
        messages.info(request, "An export is already running; its progress is shown below.")
    else:
        actions.do_start_export(request.user, option=form.cleaned_data["option"], by=request.user)
        messages.success(request, "Your export has started. Its progress is shown below.")
    return _back_to_tab("calendar-sync-export")


@login_required
@require_GET
def export_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    """The live progress fragment htmx polls every 2 seconds while the export runs (the user's own job)."""
    job = ui_queries.get_export_job_for_user(request.user, job_id)
    return render(request, "calendarsync/export_progress.html", ui_queries.export_progress_context(job))


@login_required
@require_POST
def confirm_paused(request: HttpRequest) -> HttpResponse:
    """Confirm on a connection the safety brake paused: the held-back deletes go ahead, syncing resumes."""
    connection = ui_queries.get_connection_for_user(request.user)
    if connection is None or connection.status != Status.PAUSED:
        messages.info(request, "Your calendar sync is not paused.")
    else:
        actions.do_confirm_paused_deletes(connection)
        messages.success(request, "Confirmed. Syncing has resumed and will remove those events.")
    return _back_to_tab("calendar-sync-status")


@login_required
@require_POST
def event_restore(request: HttpRequest, link_id: int) -> HttpResponse:
    """Restore: put back in the user's calendar (Outlook or Google) the event of a shift they deleted or moved there."""
    link = ui_queries.get_deleted_event_link_for_user(request.user, link_id)
    actions.do_restore_deleted_events(link.connection, link_ids=[link.pk])
    messages.success(request, "The event will be put back in your calendar shortly.")
    return _back_to_tab("calendar-sync-deleted")


@login_required
@require_POST
def event_leave(request: HttpRequest, link_id: int) -> HttpResponse:
    """Leave it: stop syncing that one shift, so ShiftDesk never touches it in Outlook again."""
    link = ui_queries.get_deleted_event_link_for_user(request.user, link_id)
    ui_actions.do_leave_deleted_event(link, by=request.user)
    messages.success(request, "ShiftDesk will leave that shift out of your calendar.")
    return _back_to_tab("calendar-sync-deleted")


@system_admin_required
@require_GET
def integration_status(request: HttpRequest) -> HttpResponse:
    """Admin > Accounts > Integration Status: every active account's calendar connection (Outlook, Exchange or
    Google), with LibStaffer's "Exchange Errors" and "Google Errors" columns. Who: system admins."""
    form = IntegrationStatusFilterForm(request.GET)
    problems_only = form.is_valid() and form.cleaned_data["problems"]
    page = Paginator(
        ui_queries.integration_status_rows(problems_only=problems_only), STATUS_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    rows = [
        (user, ui_queries.status_view(connection), ui_queries.provider_view(connection))
        for user, connection in ((user, _connection_of(user)) for user in page.object_list)
    ]
    return render(
        request,
        "calendarsync/integration_status.html",
        {
            "form": form,
            "problems_only": problems_only,
            "page": page,
            "rows": rows,
            "here": request.get_full_path(),
            "site_time_zone": ui_queries.site_time_zone(),
            "integration_off": ui_queries.integration_disabled_reasons(),
        },
    )


def _connection_of(user) -> CalendarConnection | None:
    """The user's connection from select_related, without a query when there is none."""
    try:
        return user.calendar_connection
    except CalendarConnection.DoesNotExist:
        return None


def _back_to_status(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ) or not target.startswith("/"):
        target = reverse("integration_status")
    return redirect(target)


@system_admin_required
@require_POST
def integration_retry(request: HttpRequest, connection_id: int) -> HttpResponse:
    """Retry: the connection is due now, its backoff cleared; a stopped (error) connection is tried again."""
    connection = ui_queries.get_connection_for_admin(request.user, connection_id)
    if connection.status == Status.PAUSED:
        messages.error(request, "This connection is paused for confirmation: confirm the deletes instead.")
    elif connection.status == Status.NEEDS_REAUTHORIZATION:
        messages.error(request, f"Only {connection.user} can fix this connection, by authorizing again.")
    else:
        actions.do_retry_connection(connection)
        messages.success(request, f"Retrying the calendar sync of {connection.user}.")
    return _back_to_status(request)


@system_admin_required
@require_POST
def integration_confirm(request: HttpRequest, connection_id: int) -> HttpResponse:
    """Confirm the deletes a safety-brake pause held back, on a user's behalf (the brake's message asks an
    administrator to confirm)."""
    connection = ui_queries.get_connection_for_admin(request.user, connection_id)
    if connection.status != Status.PAUSED:
        messages.info(request, "This connection is not paused.")
    else:
        actions.do_confirm_paused_deletes(connection)
        messages.success(request, f"Confirmed. The calendar sync of {connection.user} has resumed.")
    return _back_to_status(request)
