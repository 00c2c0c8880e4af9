"""The sync engine's own world (tests/calendarsync/conftest.py) with each staff member connected by Password
Authentication instead of OAuth: the same engine tests then run against the emulator's EWS."""

from __future__ import annotations

import pytest

from m365emulator.ews.store import ews_settings
from tests.calendarsync.conftest import STAFF_PASSWORD, Sync, azure, emulator_server  # noqa: F401  (fixtures)
from tests.calendarsync.conftest import emulator as graph_emulator  # noqa: F401


@pytest.fixture
def emulator(graph_emulator, settings):  # noqa: F811
    settings.EXCHANGE_CA_BUNDLE = graph_emulator.ca_file
    ews = ews_settings(graph_emulator.state)
    ews.enabled, ews.busy_requests = True, 0
    ews.disabled_users.clear()
    return graph_emulator


class ExchangeSync(Sync):
    """Sync whose connect() is the Password Authentication box's: test the connection, then store it."""

    def connect(self, user, *, choose: bool = True):
        from shiftdesk.calendarsync.actions import do_connect_calendar
        from shiftdesk.exchange.actions import do_connect_exchange
        from shiftdesk.exchange.client import check_connection

        upn = self.upns[user.pk]
        host = self.emulator.base_url.removeprefix("https://")
        server, calendars = check_connection(host, upn, STAFF_PASSWORD, upn)
        if choose:
            return do_connect_exchange(user, server=server, password=STAFF_PASSWORD, calendars=calendars)
        return do_connect_calendar(user, provider="exchange", account_email=upn, account_name=upn,
                                   account_id=f"{server.endpoint}#{upn}", credentials=STAFF_PASSWORD,
                                   provider_settings=server.as_dict())  # fmt: skip

    def ews_calendar_id(self, graph_id: str) -> str:
        return graph_id.replace("-", "+").replace("_", "/")

    def ews_requests(self) -> list[dict]:
        return [e for e in self.emulator.state.request_log if e["path"] == "/EWS/Exchange.asmx"]


@pytest.fixture
def sync(azure, emulator, alice):  # noqa: F811
    return ExchangeSync(emulator, azure, alice)
