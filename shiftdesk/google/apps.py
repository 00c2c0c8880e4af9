"""Google Calendar through Google OAuth 2 and the Calendar API v3: the Google OAuth 2 box (Admin >
Integrations) and the Google Authorization box (Manage Account > Calendar Sync)."""

from django.apps import AppConfig


class GoogleConfig(AppConfig):
    name = "shiftdesk.google"
    label = "google"
    verbose_name = "Google Calendar (Google OAuth 2)"

    def ready(self) -> None:
        from shiftdesk.calendarsync import retiring
        from shiftdesk.google import boxes, oauth
        from shiftdesk.lib import panels

        # Revoke a previous Google connection's grant once its retiring deletes are done (not before: they need it).
        retiring.WHEN_RETIRED[oauth.PROVIDER] = oauth.revoke_retired

        panels.register_panel(
            panels.ADMIN_INTEGRATIONS, "google_oauth2", "google/google_oauth2_box.html", boxes.google_oauth2_box,
            order=15,
        )  # fmt: skip
        panels.register_panel(
            panels.CALENDAR_SYNC, "google_authorization", "google/google_authorization_box.html",
            boxes.google_authorization_box, order=15,
        )  # fmt: skip
