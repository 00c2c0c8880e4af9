"""EWS authentication and negotiation, driven by exchangelib unmodified: Basic, NTLM, version probe, 401/403."""

from __future__ import annotations

import pytest
from exchangelib.errors import TransportError, UnauthorizedError

from m365emulator.ews.store import ews_settings
from tests.emulator.ews_client import BASIC, NTLM, account

MEGAN, MEGAN_PW = "megan@contoso.onmicrosoft.com", "Megan-pw1"


def ews_requests(emulator) -> list[dict]:
    return [e for e in emulator.state.request_log if e["path"] == "/EWS/Exchange.asmx"]


def test_it_serves_a_calendar_over_basic_auth(emulator, world):
    acc = account(emulator, MEGAN, MEGAN_PW, auth_type=BASIC)
    assert acc.calendar.name == "Calendar"


def test_it_serves_a_calendar_over_ntlm(emulator, world):
    acc = account(emulator, MEGAN, MEGAN_PW, auth_type=NTLM)
    assert acc.calendar.name == "Calendar"
    statuses = [e["status"] for e in ews_requests(emulator)]
    # No credentials -> 401 offering NTLM; NEGOTIATE -> 401 with a CHALLENGE; AUTHENTICATE -> the answer.
    assert statuses[:3] == [401, 401, 200]


@pytest.mark.parametrize("auth_type", [BASIC, NTLM])
def test_it_refuses_a_wrong_password_with_401(emulator, world, auth_type):
    acc = account(emulator, MEGAN, "not-the-password", auth_type=auth_type)
    with pytest.raises(UnauthorizedError):
        _ = acc.calendar


def test_it_accepts_a_bare_account_name_with_ntlm(emulator, world):
    acc = account(emulator, "megan", MEGAN_PW, email=MEGAN, auth_type=NTLM)
    assert acc.calendar.name == "Calendar"


def test_it_offers_ntlm_and_basic_and_exchangelib_picks_ntlm(emulator, world):
    acc = account(emulator, MEGAN, MEGAN_PW, auth_type=None, probe=True)
    assert acc.protocol.auth_type == NTLM
    first = ews_requests(emulator)[0]
    assert first["status"] == 401


def test_with_ntlm_switched_off_exchangelib_falls_back_to_basic(emulator, world):
    ews_settings(emulator.state).ntlm_auth = False
    try:
        acc = account(emulator, MEGAN, MEGAN_PW, auth_type=None, probe=True)
        assert acc.protocol.auth_type == BASIC
        assert acc.calendar.name == "Calendar"
    finally:
        ews_settings(emulator.state).ntlm_auth = True


def test_the_version_probe_reads_server_version_info(emulator, world):
    acc = account(emulator, MEGAN, MEGAN_PW, probe=True)
    assert acc.version.build.major_version == 15
    assert acc.version.build.minor_version == 1
    assert acc.version.build.major_build == 2507
    assert acc.version.api_version == "Exchange2016"


def test_given_auth_type_and_version_exchangelib_sends_no_probe(emulator, world):
    acc = account(emulator, MEGAN, MEGAN_PW, auth_type=BASIC)
    _ = acc.calendar
    log = ews_requests(emulator)
    assert [e.get("operation") for e in log] == [
        "GetFolder",
        "GetFolder",
    ]  # root, calendar: no ConvertId probe
    assert [e["status"] for e in log] == [200, 200]  # Basic is sent up front: no 401 round trip


def test_ews_switched_off_answers_403(emulator, world):
    settings = ews_settings(emulator.state)
    settings.enabled = False
    try:
        acc = account(emulator, MEGAN, MEGAN_PW)
        with pytest.raises(TransportError, match="403"):
            _ = acc.calendar
    finally:
        settings.enabled = True


def test_ews_switched_off_for_one_mailbox_answers_403_for_it_only(emulator, world):
    megan = emulator.state.directory.user_by_login(MEGAN)
    settings = ews_settings(emulator.state)
    settings.disabled_users.add(megan.oid)
    try:
        with pytest.raises(TransportError, match="403"):
            _ = account(emulator, MEGAN, MEGAN_PW).calendar
        assert account(emulator, "adele@contoso.onmicrosoft.com", "Adele-pw1").calendar.name == "Calendar"
    finally:
        settings.disabled_users.discard(megan.oid)


def test_a_disabled_user_cannot_sign_in(emulator, world):
    emulator.state.directory.user_by_login(MEGAN).enabled = False
    with pytest.raises(UnauthorizedError):
        _ = account(emulator, MEGAN, MEGAN_PW).calendar


def test_the_md4_used_for_ntlm_is_md4():
    from m365emulator.ews.auth import _md4

    # RFC 1320 test suite.
    assert _md4(b"").hex() == "31d6cfe0d16ae931b73c59d7e0c089c0"
    assert _md4(b"abc").hex() == "a448017aaf21d8525fc10ae87aa6729d"
    assert _md4(
        b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"
    ).hex() == ("e33b4ddc9c38f2199c3e7b164fcc0536")
