"""Graph JSON batching: per-item results, the 20-request limit, dependsOn and 424, per-item throttling/faults."""

from __future__ import annotations

import pytest

from .graph_helpers import assert_graph_error, client, shift, token_for

MEGAN = "megan@contoso.onmicrosoft.com"


@pytest.fixture
def megan(emulator, world):
    with client(emulator, token_for(emulator, MEGAN)) as http:
        yield http


def post(i, body=None, url="/me/events", **extra):
    item = {
        "id": str(i),
        "method": "POST",
        "url": url,
        "headers": {"Content-Type": "application/json"},
        "body": body or shift(subject=f"S{i}"),
    }
    item.update(extra)
    return item


def by_id(response):
    assert response.status_code == 200, response.text
    return {r["id"]: r for r in response.json()["responses"]}


def test_batch_runs_each_request(megan):
    event = megan.post("/me/events", json=shift()).json()
    requests = [
        post(1),
        {"id": "2", "method": "GET", "url": f"/me/events/{event['id']}?$select=subject"},
        {
            "id": "3",
            "method": "PATCH",
            "url": f"me/events/{event['id']}",
            "headers": {"Content-Type": "application/json"},
            "body": {"subject": "Patched"},
        },
        {"id": "4", "method": "GET", "url": "/me/events/AAMkAGI1AAAt9AHjAAA="},
        {"id": "5", "method": "DELETE", "url": f"/me/events/{event['id']}", "dependsOn": ["3"]},
    ]
    results = by_id(megan.post("/$batch", json={"requests": requests}))
    assert results["1"]["status"] == 201 and results["1"]["body"]["subject"] == "S1"
    assert results["2"]["body"]["subject"] == "Early shift"
    assert results["3"]["body"]["subject"] == "Patched"
    assert results["4"]["status"] == 404 and results["4"]["body"]["error"]["code"] == "ErrorItemNotFound"
    assert results["5"]["status"] == 204 and "body" not in results["5"]
    assert results["1"]["headers"]["Content-Type"].startswith("application/json")


def test_batch_limit_is_20(megan):
    assert (
        by_id(megan.post("/$batch", json={"requests": [post(i) for i in range(20)]}))["19"]["status"] == 201
    )
    assert_graph_error(
        megan.post("/$batch", json={"requests": [post(i) for i in range(21)]}), 400, "BadRequest"
    )


def test_failed_predecessor_gives_424(megan):
    requests = [
        post(1, body={"subject": "no times"}),
        post(2, dependsOn=["1"]),
        post(3, dependsOn=["2"]),
        post(4),
    ]
    results = by_id(megan.post("/$batch", json={"requests": requests}))
    assert results["1"]["status"] == 400
    assert results["2"]["status"] == 424 and results["3"]["status"] == 424
    assert results["4"]["status"] == 201


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"requests": []},
        {"requests": [post(1), post(1)]},
        {"requests": [post(1, dependsOn=["9"])]},
        {"requests": [{"id": "1", "method": "POST", "url": "/me/events", "body": shift()}]},
        {"requests": [{"id": "1", "method": "GET", "url": "https://graph.microsoft.com/v1.0/me"}]},
        {"requests": [{"id": "1", "method": "FETCH", "url": "/me"}]},
        {"requests": [{"id": "1", "method": "GET"}]},
    ],
)
def test_bad_batches_are_400(megan, payload):
    assert_graph_error(megan.post("/$batch", json=payload), 400, "BadRequest")


def test_batch_needs_a_token(emulator, world):
    with client(emulator, None) as http:
        assert_graph_error(
            http.post("/$batch", json={"requests": [post(1)]}), 401, "InvalidAuthenticationToken"
        )


def test_items_are_throttled_one_by_one(megan, emulator):
    emulator.control.put("/graph/throttling", json={"requests": 3}).raise_for_status()
    requests = [{"id": str(i), "method": "GET", "url": "/me/calendars"} for i in range(5)]
    results = by_id(megan.post("/$batch", json={"requests": requests}))
    statuses = [results[str(i)]["status"] for i in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    throttled = results["4"]
    assert throttled["body"]["error"]["code"] == "ApplicationThrottled"
    assert throttled["body"]["error"]["message"] == "Application is over its MailboxRequests limit."
    assert int(throttled["headers"]["Retry-After"]) >= 1


def test_items_are_faulted_one_by_one(megan, emulator):
    emulator.control.put(
        "/faults", json={"status_rates": {"503": 1.0}, "paths": ["/v1.0/me/events"]}
    ).raise_for_status()
    requests = [post(1), {"id": "2", "method": "GET", "url": "/me/calendars"}]
    results = by_id(megan.post("/$batch", json={"requests": requests}))
    assert results["1"]["status"] == 503 and results["1"]["headers"]["Retry-After"] == "1"
    assert results["2"]["status"] == 200


def _timed_batch(megan, requests):
    import time

    started = time.perf_counter()
    results = by_id(megan.post("/$batch", json={"requests": requests}))
    return results, time.perf_counter() - started


def test_independent_items_run_in_parallel_and_dependson_chains_in_sequence(megan, emulator):
    emulator.control.put("/faults", json={"latency_ms": 150}).raise_for_status()
    try:
        parallel = [{"id": str(i), "method": "GET", "url": "/me/calendars"} for i in range(4)]
        results, elapsed = _timed_batch(megan, parallel)
        assert [results[str(i)]["status"] for i in range(4)] == [200] * 4
        # The batch request's own 150 ms, then the four items at once: ~0.3 s, not 4 x 0.15 + 0.15 = 0.75 s.
        assert 0.28 < elapsed < 0.6, elapsed

        chained = [
            {
                "id": str(i),
                "method": "GET",
                "url": "/me/calendars",
                **({"dependsOn": [str(i - 1)]} if i else {}),
            }
            for i in range(4)
        ]
        results, elapsed = _timed_batch(megan, chained)
        assert [results[str(i)]["status"] for i in range(4)] == [200] * 4
        assert elapsed > 0.72, elapsed  # 0.15 + 4 x 0.15: one after another
    finally:
        emulator.control.delete("/faults")


def test_parallel_items_beyond_the_mailbox_concurrency_get_429_inside_the_200(megan, emulator):
    emulator.control.put("/faults", json={"latency_ms": 200}).raise_for_status()
    try:
        requests = [{"id": str(i), "method": "GET", "url": "/me/calendars"} for i in range(7)]
        results = by_id(megan.post("/$batch", json={"requests": requests}))
    finally:
        emulator.control.delete("/faults")
    statuses = sorted(r["status"] for r in results.values())
    assert statuses == [200] * 4 + [429] * 3
    throttled = next(r for r in results.values() if r["status"] == 429)
    assert throttled["body"]["error"]["message"] == "Application is over its MailboxConcurrency limit."
    assert int(throttled["headers"]["Retry-After"]) >= 1


def test_a_dependson_cycle_fails_its_items_with_424(megan):
    requests = [post(1, dependsOn=["2"]), post(2, dependsOn=["1"]), post(3, dependsOn=["2"]), post(4)]
    results = by_id(megan.post("/$batch", json={"requests": requests}))
    assert [results[str(i)]["status"] for i in range(1, 5)] == [424, 424, 424, 201]
