from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "shiftdesk.ops"
    label = "ops"

    def ready(self) -> None:
        from shiftdesk.ops import checks  # noqa: F401 -- registers the production checks
