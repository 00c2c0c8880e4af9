"""Routes of the Password Authentication box (users) and its Admin > Integrations switch."""

from django.urls import path

from shiftdesk.exchange import views

urlpatterns = [
    path("account/calendar-sync/exchange/", views.save_password_authentication, name="exchange_save"),
    path("account/calendar-sync/exchange/calendars/", views.save_calendars, name="exchange_save_calendars"),
    path("account/calendar-sync/exchange/remove/", views.remove, name="exchange_remove"),
    path("admin/integrations/exchange/", views.save_settings, name="exchange_settings"),
]
