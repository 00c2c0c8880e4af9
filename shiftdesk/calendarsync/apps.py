"""The calendarsync app: subscribes the sync engine to scheduling's seam when Django starts."""

from django.apps import AppConfig


class CalendarSyncConfig(AppConfig):
    name = "shiftdesk.calendarsync"
    label = "calendarsync"

    def ready(self) -> None:
        # Scheduling never imports calendarsync; we subscribe to its seam instead (architecture.md).
        from shiftdesk.calendarsync.listener import record_calendar_changes
        from shiftdesk.scheduling import seam

        seam.subscribe(record_calendar_changes)
        from shiftdesk.calendarsync import ui  # the Calendar Sync tab's Export and Sync Status boxes

        ui.register_panels()
