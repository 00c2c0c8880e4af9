"""Injected faults for /v1.0 (and each $batch item): latency, a share of 429/503/504, dropped connections,
and lost responses (the request is carried out, then the connection drops before the answer arrives).
Pure-ASGI middleware plus `FaultConfig`, set through the control API; deterministic for a given seed."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

LATENCY_SCOPE_KEY = "m365emulator.latency"  # seconds the Graph app sleeps inside its throttle section
FAULT_STATUSES = (429, 503, 504)
ERRORS = {
    429: ("ApplicationThrottled", "Application is over its MailboxConcurrency limit."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Please retry later."),
    504: ("GatewayTimeout", "The gateway did not receive a timely response from the upstream server."),
}


class FaultConfigError(ValueError):
    pass


@dataclass
class Decision:
    drop: bool = False
    lost: bool = False  # carried out, then the connection drops: the client cannot know it happened
    status: int | None = None
    latency: float = 0.0  # seconds


@dataclass
class FaultConfig:
    latency_ms: float = 0.0
    latency_min_ms: float | None = None
    latency_max_ms: float | None = None
    status_rates: dict[int, float] = field(default_factory=dict)
    drop_rate: float = 0.0
    lost_response_rate: float = 0.0
    retry_after: int = 1
    seed: int | None = None
    paths: list[str] = field(default_factory=lambda: ["/v1.0"])
    remaining: int | None = None  # stop injecting errors/drops after this many (latency is not counted)
    injected: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(self.seed)

    @property
    def active(self) -> bool:
        return bool(
            self.latency_ms
            or self.latency_max_ms
            or self.drop_rate
            or self.lost_response_rate
            or any(self.status_rates.values())
        )

    @classmethod
    def from_json(cls, data: Any) -> FaultConfig:
        """Build from the control API's JSON; raises FaultConfigError with a readable reason."""
        if not isinstance(data, dict):
            raise FaultConfigError("expected a JSON object")
        known = {
            "latency_ms", "status_rates", "drop_rate", "lost_response_rate", "retry_after", "seed", "paths",
            "remaining",
        }  # fmt: skip
        unknown = set(data) - known
        if unknown:
            raise FaultConfigError(f"unknown fields: {sorted(unknown)}")
        cfg = cls(seed=_opt_int(data.get("seed"), "seed"))
        latency = data.get("latency_ms", 0)
        if isinstance(latency, dict):
            lo, hi = latency.get("min"), latency.get("max")
            if not _is_num(lo) or not _is_num(hi) or lo < 0 or hi < lo:
                raise FaultConfigError("latency_ms {min, max} needs 0 <= min <= max")
            cfg.latency_min_ms, cfg.latency_max_ms = float(lo), float(hi)
        elif _is_num(latency) and latency >= 0:
            cfg.latency_ms = float(latency)
        else:
            raise FaultConfigError("latency_ms must be a number >= 0 or {min, max}")
        rates = data.get("status_rates", {})
        if not isinstance(rates, dict):
            raise FaultConfigError("status_rates must map a status (429, 503, 504) to a share 0..1")
        for key, share in rates.items():
            status = int(key) if str(key).isdigit() else -1
            if status not in FAULT_STATUSES or not _is_num(share) or not 0 <= share <= 1:
                raise FaultConfigError("status_rates must map a status (429, 503, 504) to a share 0..1")
            cfg.status_rates[status] = float(share)
        if sum(cfg.status_rates.values()) > 1:
            raise FaultConfigError("status_rates add up to more than 1")
        drop = data.get("drop_rate", 0)
        if not _is_num(drop) or not 0 <= drop <= 1:
            raise FaultConfigError("drop_rate must be a share 0..1")
        cfg.drop_rate = float(drop)
        lost = data.get("lost_response_rate", 0)
        if not _is_num(lost) or not 0 <= lost <= 1:
            raise FaultConfigError("lost_response_rate must be a share 0..1")
        cfg.lost_response_rate = float(lost)
        cfg.retry_after = _opt_int(data.get("retry_after", 1), "retry_after") or 0
        cfg.remaining = _opt_int(data.get("remaining"), "remaining")
        paths = data.get("paths", ["/v1.0"])
        if not isinstance(paths, list) or not all(isinstance(p, str) and p.startswith("/") for p in paths):
            raise FaultConfigError("paths must be a list of path prefixes starting with /")
        if any(p.startswith("/_emulator") for p in paths):
            raise FaultConfigError("/_emulator is never faulted")
        cfg.paths = paths
        return cfg

    def to_json(self) -> dict:
        latency: Any = self.latency_ms
        if self.latency_max_ms is not None:
            latency = {"min": self.latency_min_ms, "max": self.latency_max_ms}
        return {
            "latency_ms": latency,
            "status_rates": {str(k): v for k, v in self.status_rates.items()},
            "drop_rate": self.drop_rate,
            "lost_response_rate": self.lost_response_rate,
            "retry_after": self.retry_after,
            "seed": self.seed,
            "paths": self.paths,
            "remaining": self.remaining,
            "injected": self.injected,
        }

    def applies_to(self, path: str) -> bool:
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.paths)

    def decide(self, allow_drop: bool = True) -> Decision:
        """One draw per request (or batch item), in arrival order, from the seeded generator."""
        with self._lock:
            rng = self._rng
            decision = Decision()
            if self.latency_max_ms is not None:
                decision.latency = rng.uniform(self.latency_min_ms or 0.0, self.latency_max_ms) / 1000
            else:
                decision.latency = self.latency_ms / 1000
            if self.remaining is not None and self.remaining <= 0:
                return decision
            roll = rng.random()
            if allow_drop and roll < self.drop_rate:
                decision.drop = True
            else:
                edge = self.drop_rate if allow_drop else 0.0
                for status in FAULT_STATUSES:
                    share = self.status_rates.get(status, 0.0)
                    if share and roll < edge + share:
                        decision.status = status
                        break
                    edge += share
            if allow_drop and self.lost_response_rate and not (decision.drop or decision.status):
                # A second draw only when configured, so existing seeds keep their sequences.
                decision.lost = rng.random() < self.lost_response_rate
            if decision.drop or decision.lost or decision.status:
                self.injected += 1
                if self.remaining is not None:
                    self.remaining -= 1
            return decision


def _is_num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _opt_int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FaultConfigError(f"{name} must be a non-negative integer")
    return value


def fault_body(status: int) -> tuple[dict, dict[str, str]]:
    """Graph-shaped error body and headers for an injected status."""
    code, message = ERRORS[status]
    request_id = str(uuid.uuid4())
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": request_id,
            },
        }
    }
    return body, {"Retry-After": "1"} if status in (429, 503) else {}


class DroppedConnection(Exception):
    """Raised after a response has started, so the server closes the connection without a response."""


def _not_an_injected_drop(record: logging.LogRecord) -> bool:
    """Uvicorn logs the exception that drops the connection; an injected drop is not an error."""
    return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


logging.getLogger("uvicorn.error").addFilter(_not_an_injected_drop)


class FaultMiddleware:
    def __init__(self, app: Any, state: Any) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        config: FaultConfig | None = getattr(self.state.graph, "faults", None)
        if (
            scope["type"] != "http"
            or config is None
            or not config.active
            or not config.applies_to(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        decision = config.decide()
        entry = scope.get("m365emulator.log")  # the request-log entry (state.LOG_SCOPE_KEY), if any
        if entry is not None and (decision.drop or decision.lost or decision.status):
            entry["fault"] = "dropped" if decision.drop else "lost" if decision.lost else "injected"
        if decision.drop:
            # Uvicorn closes the transport when an app fails after starting a response: the client
            # sees the connection drop with no (complete) response, like a reset mid-flight.
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]}
            )
            if entry is not None:
                entry["status"] = None  # no response reached the client
            raise DroppedConnection("injected dropped connection")
        if decision.status:
            if decision.latency:
                await asyncio.sleep(decision.latency)
            body, headers = fault_body(decision.status)
            if decision.status in (429, 503):
                headers["Retry-After"] = str(config.retry_after)
            raw = json.dumps(body).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": decision.status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(raw)).encode()),
                    ]
                    + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
                }
            )
            await send({"type": "http.response.body", "body": raw})
            return
        if decision.lost:
            await self._lose_response(scope, receive, send, decision, entry)
            return
        if decision.latency:
            if scope["path"].startswith("/v1.0"):
                scope[LATENCY_SCOPE_KEY] = decision.latency  # slept inside the throttle's in-flight section
            else:
                await asyncio.sleep(decision.latency)
        await self.app(scope, receive, send)

    async def _lose_response(
        self, scope: dict, receive: Any, send: Any, decision: Decision, entry: dict | None
    ) -> None:
        """Carry the request out, swallow its answer, then drop the connection mid-response."""
        if decision.latency and scope["path"].startswith("/v1.0"):
            scope[LATENCY_SCOPE_KEY] = decision.latency

        async def swallow(message: dict) -> None:
            return None

        await self.app(scope, receive, swallow)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})
        if entry is not None:
            entry["status"] = None  # the write happened; no response reached the client
        raise DroppedConnection("injected lost response")
