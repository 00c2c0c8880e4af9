"""ShiftDesk's URL map: each app owns its own routes."""

from django.urls import include, path

urlpatterns = [
    path("", include("shiftdesk.accounts.urls")),
    path("", include("shiftdesk.scheduling.urls")),
    path("", include("shiftdesk.calendarsync.urls")),
    path("", include("shiftdesk.microsoft.urls")),
    path("", include("shiftdesk.exchange.urls")),
    path("", include("shiftdesk.google.urls")),
    path("", include("shiftdesk.feeds.urls")),
    path("", include("shiftdesk.availability.urls")),
]
