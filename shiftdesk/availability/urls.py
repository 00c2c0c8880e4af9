"""Routes of the availability app: the Outlook Free/Busy box's buttons, its site settings, auto-assign, and
the public URL Microsoft Graph posts change notifications to."""

from django.urls import path

from shiftdesk.availability import views, webhook

urlpatterns = [
    path("account/calendar-sync/freebusy/refresh/", views.refresh_now, name="availability_refresh_now"),
    path("account/calendar-sync/freebusy/subjects/", views.show_subjects, name="availability_show_subjects"),
    path("admin/integrations/freebusy/", views.settings_save, name="availability_settings"),
    path("schedules/<int:schedule_id>/auto-assign/", views.auto_assign, name="availability_auto_assign"),
    path(
        "freebusy/outlook-notifications/",
        webhook.outlook_notifications,
        name="availability_outlook_notifications",
    ),
]
