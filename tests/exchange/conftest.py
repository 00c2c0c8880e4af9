"""Fixtures for Password Authentication: the real HTTPS emulator (its EWS side is the Exchange server), ShiftDesk
trusting its CA, and staff whose Exchange connections are made through the box's own Save (connection test)."""

from __future__ import annotations

import pytest

from m365emulator.ews.store import ews_settings

TENANT = "contoso.onmicrosoft.com"
BOB_UPN, BOB_PW = "bob@" + TENANT, "Bob-ews-pw1"
CHARLIE_UPN, CHARLIE_PW = "charlie@" + TENANT, "Charlie-ews-pw1"


# The session emulator is tests/conftest.py's `emulator_server` fixture (one per test process). This name is
# kept, as a plain value, for modules that import it from here: a fixture imported into another module would
# be a second session fixture (a second emulator).
emulator_server = None


@pytest.fixture
def emulator(emulator_server, settings):
    emulator_server.reset()
    ews = ews_settings(emulator_server.state)
    ews.enabled, ews.busy_requests, ews.basic_auth, ews.ntlm_auth = True, 0, True, True
    ews.disabled_users.clear()
    settings.MICROSOFT_CA_BUNDLE = emulator_server.ca_file
    settings.EXCHANGE_CA_BUNDLE = emulator_server.ca_file
    emulator_server.seed(
        {
            "tenants": [
                {
                    "domain": TENANT,
                    "display_name": "Contoso",
                    "users": [
                        {"upn": BOB_UPN, "display_name": "Bob Staff", "password": BOB_PW, "time_zone": "America/Chicago"},
                        {"upn": CHARLIE_UPN, "display_name": "Charlie Other", "password": CHARLIE_PW},
                    ],
                }
            ]
        }
    )  # fmt: skip
    return emulator_server


def ews_server(emulator) -> str:
    return emulator.base_url.removeprefix("https://")  # as a user types it: host:port, no path


def box_post(emulator, upn: str = BOB_UPN, password: str = BOB_PW, **overrides) -> dict:
    data = {"server": ews_server(emulator), "username": upn, "password": password, "email": upn}
    data.update(overrides)
    return data


def mailbox(emulator, upn: str = BOB_UPN):
    user = emulator.state.directory.user_by_login(upn)
    return emulator.state.graph.ensure_mailbox(user)


@pytest.fixture
def connect(emulator):
    """connect(client, upn, password) -> the user's CalendarConnection, made through the box's Save."""

    def do_connect(client, upn: str = BOB_UPN, password: str = BOB_PW):
        from shiftdesk.calendarsync.models import CalendarConnection

        response = client.post("/account/calendar-sync/exchange/", box_post(emulator, upn, password))
        assert response.status_code == 302, response.content.decode()[:3000]
        return CalendarConnection.objects.get(account_email=upn)

    return do_connect
