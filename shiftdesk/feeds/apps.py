"""Private, revocable iCal feeds of each user's assigned shifts (RFC 5545 via icalendar)."""

from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "shiftdesk.feeds"
    label = "feeds"

    def ready(self) -> None:
        from shiftdesk.feeds.views import feed_box_context
        from shiftdesk.lib import panels

        # A high order: the feed box comes after the Outlook/Exchange boxes and the Export box.
        panels.register_panel(
            panels.CALENDAR_SYNC, "ical_feed", "feeds/feed_box.html", feed_box_context, order=900
        )
