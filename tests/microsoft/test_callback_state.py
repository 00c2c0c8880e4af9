"""A stray request to the OAuth callback (wrong or missing state, e.g. an <img> on another site) is refused
without discarding the user's pending authorization: the real answer, arriving next, still connects
(issue 11, item 7). Through the emulator's real authorize pages."""

from __future__ import annotations

import pytest

from m365emulator.testing import redirect_params, sign_in
from shiftdesk.calendarsync.models import CalendarConnection
from tests.microsoft.conftest import MEGAN

CALLBACK = "/microsoft/oauth2/callback/"


@pytest.mark.parametrize(
    "stray",
    [
        {"code": "1.Aforged", "state": "someone-elses-state"},
        {"error": "access_denied", "state": "wrong"},
        {"code": "1.Aforged"},  # no state at all
        {"code": "1.Aforged", "state": "état-forgé"},  # non-ASCII: compared as bytes, not a server error
    ],
    ids=["forged-code", "forged-error", "no-state", "non-ascii-state"],
)
def test_a_stray_callback_does_not_discard_the_pending_authorization(bob_client, emulator, azure, stray):
    start = bob_client.get("/account/calendar-sync/microsoft/authorize/")
    with emulator.http() as browser:
        real = redirect_params(sign_in(browser, start["Location"], *MEGAN))
    refused = bob_client.get(CALLBACK, stray, follow=True)
    assert "was not started from your ShiftDesk session" in refused.content.decode()
    assert not CalendarConnection.objects.exists()
    done = bob_client.get(CALLBACK, real, follow=True)
    assert "is connected" in done.content.decode()
    assert CalendarConnection.objects.get(user__email="bob@example.org").account_email == MEGAN[0]


def test_the_real_answer_is_still_used_once_only(bob_client, emulator, azure):
    start = bob_client.get("/account/calendar-sync/microsoft/authorize/")
    with emulator.http() as browser:
        real = redirect_params(sign_in(browser, start["Location"], *MEGAN))
    assert "is connected" in bob_client.get(CALLBACK, real, follow=True).content.decode()
    again = bob_client.get(CALLBACK, real, follow=True)
    assert "was not started from your ShiftDesk session" in again.content.decode()
