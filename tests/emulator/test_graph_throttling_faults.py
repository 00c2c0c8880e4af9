"""Outlook throttling per app and mailbox (concurrency, requests per window) and injected faults."""

from __future__ import annotations

import asyncio
import ssl
import time

import httpx
import pytest

from .graph_helpers import assert_graph_error, client, token_for

MEGAN = "megan@contoso.onmicrosoft.com"
ADELE = "adele@contoso.onmicrosoft.com"


@pytest.fixture
def megan(emulator, world):
    with client(emulator, token_for(emulator, MEGAN)) as http:
        yield http


def concurrent_gets(emulator, token, count, path="/me/calendars"):
    async def run():
        verify = ssl.create_default_context(cafile=emulator.ca_file)
        async with httpx.AsyncClient(base_url=emulator.base_url + "/v1.0", verify=verify, timeout=15,
                                     headers={"Authorization": f"Bearer {token}"}) as http:  # fmt: skip
            return await asyncio.gather(*(http.get(path) for _ in range(count)))

    return asyncio.run(run())


def test_more_than_four_concurrent_requests_are_throttled(emulator, world):
    emulator.control.put("/faults", json={"latency_ms": 400}).raise_for_status()
    responses = concurrent_gets(emulator, token_for(emulator, MEGAN), 7)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 200, 200, 429, 429, 429]
    throttled = next(r for r in responses if r.status_code == 429)
    error = assert_graph_error(throttled, 429, "ApplicationThrottled")
    assert error["message"] == "Application is over its MailboxConcurrency limit."
    assert throttled.headers["Retry-After"] == "1"


def test_limits_are_per_app_and_mailbox(emulator, world):
    emulator.control.put("/faults", json={"latency_ms": 300}).raise_for_status()

    async def run():
        verify = ssl.create_default_context(cafile=emulator.ca_file)
        tokens = [
            token_for(emulator, MEGAN),
            token_for(emulator, ADELE),
            token_for(emulator, MEGAN, client_id="other-app"),
        ]
        async with httpx.AsyncClient(base_url=emulator.base_url + "/v1.0", verify=verify, timeout=15) as http:
            calls = [
                http.get("/me/calendars", headers={"Authorization": f"Bearer {t}"})
                for t in tokens
                for _ in range(4)
            ]
            return await asyncio.gather(*calls)

    assert {r.status_code for r in asyncio.run(run())} == {200}


def test_request_budget_per_window(megan, emulator):
    emulator.control.put("/graph/throttling", json={"requests": 3, "window_seconds": 600}).raise_for_status()
    assert [megan.get("/me").status_code for _ in range(3)] == [200, 200, 200]
    response = megan.get("/me")
    error = assert_graph_error(response, 429, "ApplicationThrottled")
    assert error["message"] == "Application is over its MailboxRequests limit."
    assert 1 <= int(response.headers["Retry-After"]) <= 600
    emulator.control.put("/graph/throttling", json={"enabled": False}).raise_for_status()
    assert megan.get("/me").status_code == 200


def test_throttling_settings_are_validated(emulator, world):
    assert emulator.control.put("/graph/throttling", json={"requests": 0}).status_code == 400
    assert emulator.control.put("/graph/throttling", json={"bogus": 1}).status_code == 400
    assert emulator.control.get("/graph/throttling").json()["concurrency"] == 4


def test_status_faults_are_deterministic_for_a_seed(megan, emulator):
    def pattern():
        emulator.control.put(
            "/faults", json={"status_rates": {"503": 0.3, "504": 0.2, "429": 0.1}, "seed": 42}
        ).raise_for_status()
        return [megan.get("/me").status_code for _ in range(30)]

    first = pattern()
    assert first == pattern()
    assert {200, 503, 504, 429} == set(first)
    emulator.control.delete("/faults").raise_for_status()
    assert megan.get("/me").status_code == 200


def test_fault_bodies_are_graph_shaped(megan, emulator):
    emulator.control.put(
        "/faults", json={"status_rates": {"429": 1.0}, "retry_after": 7, "remaining": 1}
    ).raise_for_status()
    response = megan.get("/me")
    assert_graph_error(response, 429, "ApplicationThrottled")
    assert response.headers["Retry-After"] == "7"
    assert megan.get("/me").status_code == 200  # `remaining` ran out
    assert emulator.control.get("/faults").json()["injected"] == 1


def test_dropped_connection(megan, emulator):
    emulator.control.put("/faults", json={"drop_rate": 1.0, "remaining": 1}).raise_for_status()
    with pytest.raises(httpx.TransportError):
        megan.get("/me")
    assert megan.get("/me").status_code == 200


def test_a_lost_response_carries_the_request_out_then_drops_the_connection(megan, emulator):
    """The case an idempotent client must survive: the event exists, but the client never heard so."""
    emulator.control.put("/faults", json={"lost_response_rate": 1.0, "remaining": 1}).raise_for_status()
    event = {
        "subject": "Lost answer",
        "start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"},
    }
    with pytest.raises(httpx.TransportError):
        megan.post("/me/events", json=event)
    subjects = [e["subject"] for e in megan.get("/me/events").json()["value"]]
    assert subjects.count("Lost answer") == 1
    log = emulator.control.get("/graph/requests").json()["value"]
    assert [(e["path"], e["status"], e.get("fault")) for e in log[-2:]] == [
        ("/v1.0/me/events", None, "lost"),
        ("/v1.0/me/events", 200, None),
    ]
    assert emulator.control.get("/faults").json()["injected"] == 1


def test_latency_fixed_and_uniform(megan, emulator):
    emulator.control.put("/faults", json={"latency_ms": 120}).raise_for_status()
    started = time.perf_counter()
    assert megan.get("/me").status_code == 200
    assert time.perf_counter() - started >= 0.12
    emulator.control.put(
        "/faults", json={"latency_ms": {"min": 50, "max": 80}, "seed": 1}
    ).raise_for_status()
    started = time.perf_counter()
    megan.get("/me")
    assert 0.05 <= time.perf_counter() - started < 1.0


def test_control_api_is_never_faulted(emulator, world):
    emulator.control.put("/faults", json={"status_rates": {"503": 1.0}}).raise_for_status()
    assert emulator.control.get("/graph/mailboxes").status_code == 200


@pytest.mark.parametrize(
    "config",
    [
        {"status_rates": {"500": 0.5}},
        {"status_rates": {"503": 0.7, "504": 0.7}},
        {"drop_rate": 2},
        {"lost_response_rate": -0.1},
        {"latency_ms": -1},
        {"latency_ms": {"min": 5}},
        {"paths": ["/_emulator"]},
        {"surprise": True},
        [],
    ],
)
def test_bad_fault_configs_are_400(emulator, world, config):
    assert emulator.control.put("/faults", json=config).status_code == 400


def test_request_log_marks_injected_faults(megan, emulator):
    emulator.control.put("/faults", json={"status_rates": {"504": 1.0}, "remaining": 1}).raise_for_status()
    assert megan.get("/me").status_code == 504
    emulator.control.put("/faults", json={"drop_rate": 1.0, "remaining": 1}).raise_for_status()
    with pytest.raises(httpx.TransportError):
        megan.get("/me/calendars")
    log = emulator.control.get("/graph/requests").json()["value"]
    assert [(e["path"], e["status"], e.get("fault")) for e in log[-2:]] == [
        ("/v1.0/me", 504, "injected"),
        ("/v1.0/me/calendars", None, "dropped"),
    ]


def test_latency_also_delays_errors(emulator, world):
    emulator.control.put("/faults", json={"latency_ms": 100}).raise_for_status()
    with client(emulator, None) as http:
        started = time.perf_counter()
        assert http.get("/me").status_code == 401
        assert time.perf_counter() - started >= 0.1
