"""The secret/certificate expiry warning for admins: from 30 days before, on Integrations and the dashboard."""

from __future__ import annotations

import datetime as dt

import time_machine
from django.template import Context, Template
from django.test import RequestFactory

from shiftdesk.microsoft.models import AzureADSettings

TODAY = dt.date(2026, 3, 1)


def settings_expiring(expires: dt.date | None) -> AzureADSettings:
    AzureADSettings.objects.update_or_create(
        pk=1,
        defaults={
            "application_id": "0b9c7a3e-1111-4222-8333-944455566677",
            "client_secret": "abc8Q~value",
            "secret_last4": "alue",
            "secret_expires_on": expires,
            "account_type": "multi",
            "enabled": True,
        },
    )
    return AzureADSettings.load()


def test_no_warning_more_than_30_days_ahead(db):
    assert settings_expiring(TODAY + dt.timedelta(days=31)).expiry_warning(TODAY) == ""
    assert settings_expiring(None).expiry_warning(TODAY) == ""


def test_a_warning_from_30_days_before_and_after_expiry(db):
    assert "expires in 30 days" in settings_expiring(TODAY + dt.timedelta(days=30)).expiry_warning(TODAY)
    assert "expires in 1 day " in settings_expiring(TODAY + dt.timedelta(days=1)).expiry_warning(TODAY)
    assert "expires today" in settings_expiring(TODAY).expiry_warning(TODAY)
    assert "expired on February 27, 2026" in settings_expiring(TODAY - dt.timedelta(days=2)).expiry_warning(
        TODAY
    )


def test_admins_see_it_on_integrations_and_the_dashboard_users_do_not(alice, bob, alice_client):
    settings_expiring(dt.date(2026, 3, 20))
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)):
        page = alice_client.get("/admin/integrations/").content.decode()
        assert "client secret expires in 19 days" in page
        template = Template("{% load microsoft_tags %}{% microsoft_dashboard_alerts %}")
        for user, expected in ((alice, True), (bob, False)):
            request = RequestFactory().get("/")
            request.user = user
            html = template.render(Context({"request": request}))
            assert ("expires in 19 days" in html) is expected
