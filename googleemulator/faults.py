"""Injected faults for the Calendar API (and each batch item): latency, a share of Google's quota and
server errors (403 rateLimitExceeded / userRateLimitExceeded, 429, 500, 503), dropped connections and lost
responses. Same JSON shape and seeded draws as m365emulator's faults (`PUT /_emulator/google/faults`),
with Google's error bodies; it reuses m365emulator's DroppedConnection so uvicorn's log stays quiet."""

from __future__ import annotations

import asyncio
import json
import random
import threading
from dataclasses import dataclass, field
from typing import Any

from googleemulator.calendar import exceptions as ge
from m365emulator.faults import DroppedConnection

ERRORS = ("rateLimitExceeded", "userRateLimitExceeded", "429", "500", "503")
DEFAULT_PATHS = ["/google/calendar/v3", "/google/batch"]


def error_for(kind: str) -> ge.ApiError:
    if kind in ("rateLimitExceeded", "userRateLimitExceeded"):
        return ge.rate_limit(kind)
    if kind == "429":
        return ge.rate_limit("rateLimitExceeded", 429)
    if kind == "503":
        return ge.ApiError(503, "backendError", "The service is currently unavailable.")
    return ge.backend_error(500)


class FaultConfigError(ValueError):
    pass


@dataclass
class Decision:
    drop: bool = False
    lost: bool = False
    error: str | None = None
    latency: float = 0.0


@dataclass
class FaultConfig:
    latency_ms: float = 0.0
    latency_min_ms: float | None = None
    latency_max_ms: float | None = None
    error_rates: dict[str, float] = field(default_factory=dict)
    drop_rate: float = 0.0
    lost_response_rate: float = 0.0
    retry_after: int | None = None
    seed: int | None = None
    paths: list[str] = field(default_factory=lambda: list(DEFAULT_PATHS))
    remaining: int | None = None
    injected: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(self.seed)

    @classmethod
    def from_json(cls, data: Any) -> FaultConfig:
        if not isinstance(data, dict):
            raise FaultConfigError("expected a JSON object")
        known = {
            "latency_ms",
            "error_rates",
            "drop_rate",
            "lost_response_rate",
            "retry_after",
            "seed",
            "paths",
            "remaining",
        }
        if set(data) - known:
            raise FaultConfigError(f"unknown fields: {sorted(set(data) - known)}")

        def share(name: str, value: Any) -> float:
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
                raise FaultConfigError(f"{name} must be a share 0..1")
            return float(value)

        def count(name: str, value: Any) -> int | None:
            if value is None:
                return None
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise FaultConfigError(f"{name} must be a non-negative integer")
            return value

        cfg = cls(seed=count("seed", data.get("seed")))
        latency = data.get("latency_ms", 0)
        if isinstance(latency, dict):
            lo, hi = latency.get("min"), latency.get("max")
            if not all(isinstance(v, (int, float)) for v in (lo, hi)) or lo < 0 or hi < lo:
                raise FaultConfigError("latency_ms {min, max} needs 0 <= min <= max")
            cfg.latency_min_ms, cfg.latency_max_ms = float(lo), float(hi)
        elif isinstance(latency, (int, float)) and not isinstance(latency, bool) and latency >= 0:
            cfg.latency_ms = float(latency)
        else:
            raise FaultConfigError("latency_ms must be a number >= 0 or {min, max}")
        rates = data.get("error_rates", {})
        if not isinstance(rates, dict) or set(rates) - set(ERRORS):
            raise FaultConfigError(f"error_rates maps one of {list(ERRORS)} to a share 0..1")
        cfg.error_rates = {k: share(f"error_rates.{k}", v) for k, v in rates.items()}
        if sum(cfg.error_rates.values()) > 1:
            raise FaultConfigError("error_rates add up to more than 1")
        cfg.drop_rate = share("drop_rate", data.get("drop_rate", 0))
        cfg.lost_response_rate = share("lost_response_rate", data.get("lost_response_rate", 0))
        cfg.retry_after = count("retry_after", data.get("retry_after"))
        cfg.remaining = count("remaining", data.get("remaining"))
        paths = data.get("paths", DEFAULT_PATHS)
        if not isinstance(paths, list) or not all(
            isinstance(p, str) and p.startswith("/google/") for p in paths
        ):
            raise FaultConfigError("paths must be a list of path prefixes starting with /google/")
        cfg.paths = paths
        return cfg

    def to_json(self) -> dict:
        latency: Any = self.latency_ms
        if self.latency_max_ms is not None:
            latency = {"min": self.latency_min_ms, "max": self.latency_max_ms}
        return {
            "latency_ms": latency, "error_rates": self.error_rates, "drop_rate": self.drop_rate,
            "lost_response_rate": self.lost_response_rate, "retry_after": self.retry_after, "seed": self.seed,
            "paths": self.paths, "remaining": self.remaining, "injected": self.injected,
        }  # fmt: skip

    def applies_to(self, path: str) -> bool:
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.paths)

    def decide(self, allow_drop: bool = True) -> Decision:
        """One draw per request (or batch item), in arrival order, from the seeded generator."""
        with self._lock:
            rng, decision = self._rng, Decision()
            if self.latency_max_ms is not None:
                decision.latency = rng.uniform(self.latency_min_ms or 0.0, self.latency_max_ms) / 1000
            else:
                decision.latency = self.latency_ms / 1000
            if self.remaining is not None and self.remaining <= 0:
                return decision
            roll = rng.random()
            edge = self.drop_rate if allow_drop else 0.0
            if allow_drop and roll < self.drop_rate:
                decision.drop = True
            else:
                for kind in ERRORS:
                    rate = self.error_rates.get(kind, 0.0)
                    if rate and roll < edge + rate:
                        decision.error = kind
                        break
                    edge += rate
            if allow_drop and self.lost_response_rate and not (decision.drop or decision.error):
                decision.lost = rng.random() < self.lost_response_rate
            if decision.drop or decision.lost or decision.error:
                self.injected += 1
                if self.remaining is not None:
                    self.remaining -= 1
            return decision


def log_injected(state: Any, method: str, path: str, status: int | None, fault: str) -> None:
    """An injected error or drop goes in the request log too (it never reached the API, which logs the rest),
    as m365emulator logs its injected faults: tests count the tries a client made. `path` as the API logs
    it, without the /google prefix; no user (the fault answers before the token is read)."""
    state.request_log.append({"time": state.now(), "method": method, "path": path.removeprefix("/google"),
                              "status": status, "client_id": None, "user": None, "fault": fault})  # fmt: skip


def json_response_messages(err: ge.ApiError, retry_after: int | None) -> tuple[dict, dict]:
    raw = json.dumps(err.body()).encode()
    headers = [
        (b"content-type", b"application/json; charset=UTF-8"),
        (b"content-length", str(len(raw)).encode()),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    headers += [(k.lower().encode(), v.encode()) for k, v in err.headers.items()]
    return {"type": "http.response.start", "status": err.code, "headers": headers}, {
        "type": "http.response.body",
        "body": raw,
    }


class GoogleFaultMiddleware:
    """Pure ASGI, inside the Google app: `scope["path"]` still carries the /google prefix here."""

    def __init__(self, app: Any, state: Any) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        config: FaultConfig | None = self.state.faults
        path = (
            scope.get("root_path", "") + scope["path"]
            if not scope["path"].startswith("/google")
            else scope["path"]
        )
        if scope["type"] != "http" or config is None or not config.applies_to(path):
            await self.app(scope, receive, send)
            return
        decision = config.decide()
        if decision.latency:
            await asyncio.sleep(decision.latency)
        if decision.drop or decision.error:
            log_injected(self.state, scope["method"], path, None if decision.drop else error_for(decision.error).code,
                         "dropped" if decision.drop else "injected")  # fmt: skip
        if decision.drop:
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]}
            )
            raise DroppedConnection("injected dropped connection")
        if decision.error:
            start, body = json_response_messages(error_for(decision.error), config.retry_after)
            await send(start)
            await send(body)
            return
        if decision.lost:

            async def swallow(message: dict) -> None:
                return None

            await self.app(scope, receive, swallow)
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]}
            )
            raise DroppedConnection("injected lost response")
        await self.app(scope, receive, send)
