"""Dashboard alerts from the Outlook integration: `{% load microsoft_tags %}{% microsoft_dashboard_alerts %}`.

Admins see the client-secret/certificate expiry warning from 30 days before. (A user's connection that needs
reauthorization is announced by calendarsync's `{% calendar_sync_notice %}`, for every provider, so it is not
repeated here.)
"""

from __future__ import annotations

from django import template
from django.urls import reverse

from shiftdesk.microsoft.models import AzureADSettings

register = template.Library()


def dashboard_alerts(user) -> list[dict]:
    alerts: list[dict] = []
    if not getattr(user, "is_authenticated", False):
        return alerts
    if user.is_system_admin:
        warning = AzureADSettings.load().expiry_warning()
        if warning:
            alerts.append(
                {
                    "level": "warning",
                    "text": warning,
                    "link": reverse("admin_integrations"),
                    "link_text": "Integrations",
                }
            )
    return alerts


@register.inclusion_tag("microsoft/dashboard_alerts.html", takes_context=True)
def microsoft_dashboard_alerts(context) -> dict:
    request = context.get("request")
    return {"alerts": dashboard_alerts(getattr(request, "user", None))}
