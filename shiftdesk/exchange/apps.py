"""Legacy Password Authentication: Outlook/Exchange calendar sync through EWS (exchangelib)."""

from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "shiftdesk.exchange"
    label = "exchange"
    verbose_name = "Exchange (Password Authentication)"

    def ready(self) -> None:
        from shiftdesk.exchange import boxes
        from shiftdesk.lib import panels

        panels.register_panel(
            panels.ADMIN_INTEGRATIONS,
            "password_authentication",
            "exchange/admin_box.html",
            boxes.admin_box,
            order=20,
        )
        panels.register_panel(
            panels.CALENDAR_SYNC,
            "password_authentication",
            "exchange/password_authentication_box.html",
            boxes.password_authentication_box,
            order=20,
        )
