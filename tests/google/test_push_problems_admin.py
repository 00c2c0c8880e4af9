"""Admin > Integrations > Google OAuth 2 tells the admin, in words, whether Google push notifications are in
use and why not where they are not (the public URL is not https, Google refused the watch, Google unreachable):
the problems push.py records, from real answers of the emulator over HTTPS."""

from __future__ import annotations

import html as htmllib
import re

from shiftdesk.google import push
from shiftdesk.google.models import GooglePushProblem
from tests.google.test_push_channels import calendars, receiver

__all__ = ["calendars", "receiver"]  # fixtures, from test_push_channels
INTEGRATIONS = "/admin/integrations/"


def push_status(client) -> str:
    """The Google box's push-notification part, as text."""
    page = client.get(INTEGRATIONS).content.decode()
    box = page.split('id="google-oauth2"', 1)[1].split("</section>", 1)[0]
    if 'id="google-push-status"' not in box:
        return ""
    part = box.split('id="google-push-status"', 1)[1].split("If the OAuth consent screen", 1)[0]
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", ">" + part)).split())


def test_an_http_public_url_is_said_with_the_number_of_connections(client, alice, gemu, connected_bob, calendars,
                                                                    settings):  # fmt: skip
    settings.PUBLIC_BASE_URL = "http://shiftdesk.example.org"
    gemu.gcontrol.patch("/settings", json={"allow_http_push": False}).raise_for_status()
    push.sweep_channels()
    client.force_login(alice)
    text = push_status(client)
    assert "in use for 0 connections" in text
    assert (
        "Not in use for 1 connection, whose Google calendars are read on the polling interval instead" in text
    )
    assert "Google sends push notifications to https addresses only" in text
    assert "http://shiftdesk.example.org/google/push/" in text and "(1 connection)" in text


def test_google_refusing_the_watch_is_said_and_clears_once_it_works(client, alice, gemu, receiver, connected_bob,
                                                                     calendars):  # fmt: skip
    gemu.gcontrol.put(
        "/faults", json={"error_rates": {"500": 1.0}, "paths": ["/google/calendar/v3/calendars"]}
    ).raise_for_status()
    push.sweep_channels()
    client.force_login(alice)
    text = push_status(client)
    assert "Not in use for 1 connection" in text
    assert f"Google did not accept push notifications to {receiver.url.split('/google/')[0]}" in text

    gemu.gcontrol.delete("/faults").raise_for_status()
    GooglePushProblem.objects.update(next_attempt_at=None)  # the backoff is over
    push.sweep_channels()
    text = push_status(client)
    assert "in use for 1 connection." in text and "Not in use" not in text
    assert not GooglePushProblem.objects.exists()


def test_nothing_is_said_before_anyone_uses_google(alice_client, google_settings):
    assert push_status(alice_client) == ""
