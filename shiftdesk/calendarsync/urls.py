"""Routes of the Calendar Sync tab (the user's own sync) and the admin Integration Status page."""

from django.urls import path

from shiftdesk.calendarsync import views

urlpatterns = [
    path("account/calendar-sync/", views.calendar_sync, name="calendar_sync"),
    path("account/calendar-sync/export/", views.export_start, name="calendar_sync_export"),
    path(
        "account/calendar-sync/export/<int:job_id>/progress/",
        views.export_progress,
        name="calendar_sync_export_progress",
    ),
    path("account/calendar-sync/confirm/", views.confirm_paused, name="calendar_sync_confirm"),
    path(
        "account/calendar-sync/events/<int:link_id>/restore/",
        views.event_restore,
        name="calendar_sync_restore",
    ),
    path("account/calendar-sync/events/<int:link_id>/leave/", views.event_leave, name="calendar_sync_leave"),
    path("admin/accounts/integration-status/", views.integration_status, name="integration_status"),
    path(
        "admin/accounts/integration-status/<int:connection_id>/retry/",
        views.integration_retry,
        name="integration_status_retry",
    ),
    path(
        "admin/accounts/integration-status/<int:connection_id>/confirm/",
        views.integration_confirm,
        name="integration_status_confirm",
    ),
]
