"""Availability fixtures: the real HTTPS emulator (the Outlook tests' fixtures), Bob connected with Megan's
Microsoft account and a chosen free/busy calendar, and helpers that add events to it as Megan, over Graph."""

# ruff: noqa: F811 - fixtures imported from the Outlook and scheduling tests are used by name as arguments
from __future__ import annotations

import pytest

from tests.emulator.graph_helpers import client as graph_http
from tests.emulator.graph_helpers import token_for
from tests.microsoft.conftest import (  # noqa: F401 - fixtures re-exported for this directory
    MEGAN,
    app_id,
    azure,
    connected_bob,
    emulator,
    emulator_server,
    world,
)
from tests.scheduling.conftest import (  # noqa: F401
    CHICAGO,
    local,
    other_schedule,
    position,
    schedule,
    site,
)


class Outlook:
    """Megan's mailbox as Megan sees it in Outlook: Graph requests with her own token."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.http = graph_http(emulator, token_for(emulator, MEGAN[0]))

    def create_calendar(self, name: str) -> str:
        response = self.http.post("/me/calendars", json={"name": name})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def default_calendar(self) -> str:
        return self.http.get("/me/calendar").json()["id"]

    def add_event(
        self, calendar_id: str, subject: str, start: str, end: str, *, zone: str = "America/Chicago", **extra
    ) -> dict:
        body = {
            "subject": subject,
            "body": {"contentType": "text", "content": "Secret agenda"},
            "start": {"dateTime": start, "timeZone": zone},
            "end": {"dateTime": end, "timeZone": zone},
            "attendees": [
                {"emailAddress": {"address": "someone@contoso.onmicrosoft.com"}, "type": "required"}
            ],
            "showAs": "busy",
        }
        body.update(extra)
        response = self.http.post(f"/me/calendars/{calendar_id}/events", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def add_events(self, calendar_id: str, bodies: list[dict]) -> None:
        """Many events through JSON batching (20 per $batch)."""
        for i in range(0, len(bodies), 20):
            chunk = bodies[i : i + 20]
            requests = [
                {"id": str(n), "method": "POST", "url": f"/me/calendars/{calendar_id}/events",
                 "headers": {"Content-Type": "application/json"}, "body": body}
                for n, body in enumerate(chunk)
            ]  # fmt: skip
            response = self.http.post("/$batch", json={"requests": requests})
            assert response.status_code == 200, response.text
            assert all(r["status"] == 201 for r in response.json()["responses"]), response.text

    def delete_calendar(self, calendar_id: str) -> None:
        assert self.http.delete(f"/me/calendars/{calendar_id}").status_code == 204


@pytest.fixture
def outlook(emulator, world):
    o = Outlook(emulator)
    yield o
    o.http.close()


@pytest.fixture
def freebusy_calendar(connected_bob, outlook):
    """Bob's connection with a calendar "Availability" (not the default one) chosen for free/busy."""
    from shiftdesk.calendarsync.actions import do_choose_calendars

    calendar_id = outlook.create_calendar("Availability")
    do_choose_calendars(
        connected_bob,
        sync_calendar_id=outlook.default_calendar(),
        sync_calendar_name="Calendar",
        freebusy_calendar_id=calendar_id,
        freebusy_calendar_name="Availability",
    )
    return calendar_id
