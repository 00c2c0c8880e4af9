"""Routes of the iCal feed (public, by secret token) and of its Regenerate URL button."""

from django.urls import path

from shiftdesk.feeds import views

urlpatterns = [
    path("feeds/<str:token>/shifts.ics", views.shift_feed, name="shift_feed"),
    path("account/calendar-sync/feed/regenerate/", views.regenerate_feed, name="regenerate_feed"),
]
