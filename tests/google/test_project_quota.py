"""Google's per-project quota is one budget for every connection of a worker (shiftdesk/google/provider.py
ProjectQuota), against googleemulator over HTTPS: a refusal that may be the project's pauses the worker's other
Google connections too; the user's own quota refusal does not; a worker that spent the project's minute sends
nothing more and says when it may."""

from __future__ import annotations

import asyncio

import pytest

from shiftdesk.calendarsync.providers.base import EventContent, Fate, Operation
from shiftdesk.google.oauth import SCOPES
from shiftdesk.google.provider import PROJECT_QUOTA, GoogleBackend
from tests.google.conftest import CLIENT_ID

BOB, ALICE, CAROL = "bob@example.org", "alice@example.org", "carol@gmail.com"


@pytest.fixture
def quota(gemu, gworld, settings):
    """The worker's project quota emptied before and after (it is the process's), Google's default back-off."""
    settings.SYNC_BACKOFF_BASE_SECONDS = 2
    settings.SYNC_INLINE_RETRY_AFTER_MAX_SECONDS = 5
    PROJECT_QUOTA.reset()
    yield PROJECT_QUOTA
    PROJECT_QUOTA.reset()


def token_of(gemu, email: str) -> str:
    answer = gemu.gcontrol.post("/tokens", json={"client_id": CLIENT_ID, "email": email, "scopes": SCOPES})
    answer.raise_for_status()
    return answer.json()["access_token"]


def creates(calendar: str, n: int, tag: str) -> list[Operation]:
    content = EventContent("Desk", {"dateTime": "2030-01-07T09:00:00", "timeZone": "Europe/London"},
                           {"dateTime": "2030-01-07T13:00:00", "timeZone": "Europe/London"}, "<p>x</p>", "Here", 15)  # fmt: skip
    return [
        Operation(
            "create",
            tag=i,
            link_key=f"{tag}{i}",
            calendar_id=calendar,
            content=content,
            transaction_id=f"{tag}-t{i}",
        )  # fmt: skip
        for i in range(n)
    ]


def run_for(gemu, *work: tuple[str, list[Operation]]) -> None:
    """Each (account, operations) through its own provider, one after another, as one worker's steps would."""

    async def go() -> None:
        for email, ops in work:
            provider = GoogleBackend().open(None, token_of(gemu, email))  # type: ignore[arg-type]
            try:
                await provider.run(ops)
            finally:
                await provider.aclose()

    asyncio.run(go())


def calls_of(gemu, email: str) -> list[dict]:
    return [r for r in gemu.gcontrol.get("/requests").json()["value"] if r.get("user") == email]


def _paused_by_the_project(gemu, quota, alice_ops) -> None:
    """Alice's connection sent nothing: her call waits out the shared pause, longer than the inline wait."""
    [alice_op] = alice_ops
    error = alice_op.error
    assert error is not None and not error.sent and alice_op.fate is Fate.NOT_SENT
    assert (
        error.retry_after is not None and 5 < error.retry_after <= quota.PAUSE_MAX_SECONDS
    )  # the shared pause
    assert calls_of(gemu, ALICE) == []


def test_refusals_from_two_connections_in_a_row_make_the_workers_other_connections_wait(
    gemu, quota, settings
):
    # A pause of PAUSE_MAX_SECONDS (the back-off's 10-20 s capped): longer than the inline wait without a lease,
    # so Alice's calls end "not sent" rather than sleep.
    settings.SYNC_BACKOFF_BASE_SECONDS = 20
    gemu.gcontrol.put("/faults", json={"error_rates": {"rateLimitExceeded": 1.0}, "remaining": 2,
                                        "paths": ["/google/calendar/v3"]}).raise_for_status()  # fmt: skip
    bob_ops, carol_ops, alice_ops = creates(BOB, 1, "b"), creates(CAROL, 1, "c"), creates(ALICE, 1, "a")
    run_for(gemu, (BOB, bob_ops), (CAROL, carol_ops), (ALICE, alice_ops))

    assert gemu.gcontrol.get("/faults").json()["injected"] == 2  # Bob's and Carol's calls were refused
    _paused_by_the_project(gemu, quota, alice_ops)


def test_a_refusal_while_the_workers_window_is_nearly_spent_makes_other_connections_wait(
    gemu, quota, settings
):
    settings.SYNC_BACKOFF_BASE_SECONDS = 20
    settings.SYNC_GOOGLE_PROJECT_QUOTA_PER_MINUTE = 11  # Bob's batch of 10 fills it past NEARLY_SPENT
    gemu.gcontrol.put("/faults", json={"error_rates": {"rateLimitExceeded": 1.0}, "remaining": 1,
                                        "paths": ["/google/calendar/v3"]}).raise_for_status()  # fmt: skip
    bob_ops, alice_ops = creates(BOB, 10, "b"), creates(ALICE, 1, "a")
    run_for(gemu, (BOB, bob_ops), (ALICE, alice_ops))

    assert sum(op.error is not None for op in bob_ops) == 1  # one part of Bob's batch was refused
    _paused_by_the_project(gemu, quota, alice_ops)


@pytest.mark.parametrize("bob_calls", [1, 10])
def test_a_lone_refusal_amid_answered_calls_stays_that_connections(gemu, quota, settings, bob_calls):
    """A single request refused once, or one part of a batch of ten, with the worker's window nearly empty:
    a per-calendar or per-user limit as likely as the project's, so only Bob backs off (chaos-like refusals
    spread over many connections must not pause the whole worker)."""
    settings.SYNC_BACKOFF_BASE_SECONDS = 20
    gemu.gcontrol.put("/faults", json={"error_rates": {"rateLimitExceeded": 1.0}, "remaining": 1,
                                        "paths": ["/google/calendar/v3"]}).raise_for_status()  # fmt: skip
    bob_ops, alice_ops = creates(BOB, bob_calls, "b"), creates(ALICE, 1, "a")
    run_for(gemu, (BOB, bob_ops), (ALICE, alice_ops))

    assert gemu.gcontrol.get("/faults").json()["injected"] == 1
    assert sum(op.error is not None and op.error.retry_after is not None for op in bob_ops) == 1  # Bob waits
    assert quota.paused_until == 0.0
    assert alice_ops[0].error is None and alice_ops[0].fate is Fate.ANSWERED  # Alice did not
    assert [c["status"] for c in calls_of(gemu, ALICE)] == [200]


def test_a_users_own_quota_refusal_does_not_pause_other_connections(gemu, quota, settings):
    settings.SYNC_BACKOFF_BASE_SECONDS = 20
    gemu.gcontrol.put("/faults", json={"error_rates": {"userRateLimitExceeded": 1.0}, "remaining": 1,
                                        "paths": ["/google/calendar/v3"]}).raise_for_status()  # fmt: skip
    bob_ops, alice_ops = creates(BOB, 1, "b"), creates(ALICE, 1, "a")
    run_for(gemu, (BOB, bob_ops), (ALICE, alice_ops))

    assert bob_ops[0].error is not None and bob_ops[0].error.retry_after  # Bob waits (his own Pacer)
    assert alice_ops[0].error is None and alice_ops[0].fate is Fate.ANSWERED  # Alice did not
    assert [c["status"] for c in calls_of(gemu, ALICE)] == [200]


@pytest.mark.parametrize("batch_size", [1, 50])
def test_a_worker_that_spent_the_projects_minute_sends_nothing_more_and_says_when(
    gemu, quota, settings, batch_size
):
    settings.SYNC_GOOGLE_BATCH_SIZE = batch_size  # single requests, or batch parts (each one call)
    settings.SYNC_GOOGLE_PROJECT_QUOTA_PER_MINUTE = 3
    bob_ops, alice_ops = creates(BOB, 3, "b"), creates(ALICE, 2, "a")
    run_for(gemu, (BOB, bob_ops), (ALICE, alice_ops))

    assert all(op.error is None for op in bob_ops)  # the minute's three calls
    assert all(op.fate is Fate.NOT_SENT for op in alice_ops)
    errors = [op.error for op in alice_ops if op.error is not None]
    assert errors  # single requests: the first says why and the step sends no more; a batch: each part
    for error in errors:
        assert not error.sent and error.retry_after is not None and 50 <= error.retry_after <= 60
    assert calls_of(gemu, ALICE) == []  # nothing was sent to be refused
    refused = [r for r in gemu.gcontrol.get("/requests").json()["value"] if r["status"] in (403, 429)]
    assert refused == []
