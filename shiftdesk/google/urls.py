"""Routes of the Google OAuth 2 box (admin), the Google Authorization box (users) and the Redirect URL."""

from django.urls import path

from shiftdesk.google import views

urlpatterns = [
    path("admin/integrations/google/", views.save_google_settings, name="google_oauth_settings"),
    path("account/calendar-sync/google/authorize/", views.authorize, name="google_authorize"),
    path("account/calendar-sync/google/calendars/", views.save_calendars, name="google_save_calendars"),
    path("account/calendar-sync/google/remove/", views.remove_authorization, name="google_remove"),
    # The Redirect URL registered in Google Cloud: keep this path stable, admins have registered it.
    path("google/oauth2/callback/", views.callback, name="google_callback"),
    # Where Google posts Calendar push notifications (events.watch channels, push.py).
    path("google/push/", views.push_notification, name="google_push"),
]
