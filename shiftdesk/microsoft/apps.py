"""Outlook through Microsoft's identity platform and Graph: the Azure AD OAuth 2 box, MSAL, the Graph provider."""

from django.apps import AppConfig


class MicrosoftConfig(AppConfig):
    name = "shiftdesk.microsoft"
    label = "microsoft"
    verbose_name = "Outlook (Azure AD OAuth 2)"

    def ready(self) -> None:
        from shiftdesk.lib import panels
        from shiftdesk.microsoft import boxes

        panels.register_panel(
            panels.ADMIN_INTEGRATIONS,
            "azure_ad_oauth2",
            "microsoft/azure_ad_box.html",
            boxes.azure_ad_box,
            order=10,
        )
        panels.register_panel(
            panels.CALENDAR_SYNC,
            "oauth2_authorization",
            "microsoft/oauth2_authorization_box.html",
            boxes.oauth2_authorization_box,
            order=10,
        )
