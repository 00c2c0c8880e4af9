"""Schedules, positions, shifts, assignments, time off and availability: the scheduler itself."""

from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "shiftdesk.scheduling"
    label = "scheduling"

    def ready(self) -> None:
        # Registers the built-in conflict sources (overlapping shift, approved time off).
        from shiftdesk.scheduling import conflicts  # noqa: F401
