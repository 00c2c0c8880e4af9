"""The availability app: registers its conflict source, its Calendar Sync box and its week-grid hook."""

from django.apps import AppConfig


class AvailabilityConfig(AppConfig):
    name = "shiftdesk.availability"
    label = "availability"
    verbose_name = "Availability"

    def ready(self) -> None:
        from shiftdesk.availability import hooks

        hooks.register()
