"""build_app(state): the one ASGI app serving every surface on one origin, plus the middleware chain
(request log, faults) and the background saver that persists state to the state dir."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Mount, Route

from m365emulator import tokens
from m365emulator.faults import FaultMiddleware
from m365emulator.state import LOG_SCOPE_KEY, EmulatorState

log = logging.getLogger("m365emulator")
SAVE_INTERVAL = 2.0  # seconds between checks for unsaved changes
SAVE_MAX_DEFER = 30.0  # while requests keep coming, a change waits at most this long to be saved
GC_FREEZE_INTERVAL = 5.0  # while busy: put what survived out of the collector's reach this often
GC_IDLE_SECONDS = 2.0  # a full collection once no request came for this long


class RequestLogMiddleware:
    """Appends every request to state.request_log and marks the state dirty on writes. Pure ASGI: the
    Graph surface must serve 2,000 req/s on two cores, so no BaseHTTPMiddleware."""

    def __init__(self, app, state: EmulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        self.state.requests_served += 1
        entry = {
            "time": time.time(),
            "method": scope["method"],
            "path": scope["path"],
            "query": scope.get("query_string", b"").decode("latin-1"),
            "status": None,
            "client_id": None,
            "mailbox": None,
            "ms": None,
        }
        scope[LOG_SCOPE_KEY] = entry

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            entry["ms"] = round((time.perf_counter() - started) * 1000, 3)
            if not scope["path"].startswith("/_emulator/graph/requests"):  # reading the log is not news
                self.state.request_log.append(entry)
            if scope["method"] not in ("GET", "HEAD", "OPTIONS"):
                self.state.dirty = True


def _surface_routes(
    state: EmulatorState, control_hosts: tuple[str, ...] = (), control_token: str = ""
) -> list:
    """Every surface in the contract's routing order: fixed prefixes before the /{tenant}/... routes."""
    from starlette.routing import Router

    from m365emulator.control import routes as control_routes
    from m365emulator.control.guard import ControlGuard
    from m365emulator.ews.urls import routes as ews_routes
    from m365emulator.identity.urls import routes as identity_routes
    from m365emulator.portal.urls import routes as portal_routes

    google_control, google_app = _google_apps(state)
    control_routes = [Mount("/google", app=google_control), *control_routes]
    control = ControlGuard(Router(control_routes), state, hosts=control_hosts, token=control_token)
    routes: list = [Mount("/_emulator", app=control), Mount("/google", app=google_app)]
    routes.append(Mount("/portal", routes=portal_routes))
    routes += _graph_side_routes()
    routes += ews_routes
    routes.append(Route("/", _home))
    routes += identity_routes
    return routes


def _google_apps(state: EmulatorState) -> tuple:
    """The Google emulator (the sibling package googleemulator) on the same origin and CA: its API and pages
    under /google, its control API under /_emulator/google behind the same guard. Its world (state.google)
    lives beside the Microsoft one and saves itself to the same state dir."""
    from googleemulator.app import build_control_app, build_google_app
    from googleemulator.state import GoogleState

    if getattr(state, "google", None) is None:
        state.google = GoogleState(state.state_dir)
    return build_control_app(state.google), build_google_app(state.google)


def _graph_side_routes() -> list:
    from m365emulator.graph.urls import routes as graph_routes
    from m365emulator.viewer.urls import routes as viewer_routes

    return [Mount("/outlook", routes=viewer_routes), *graph_routes]


async def _home(request: Request):
    return RedirectResponse("/portal/", status_code=302)


async def _not_found(request: Request, exc):
    return JSONResponse({"error": "not_found", "error_description": f"No route for {request.url.path}"}, 404)


async def _server_error(request: Request, exc):
    # Last resort: a handler bug must still answer in a documented shape, never with a stack trace.
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse({"error": "server_error", "error_description": "Internal emulator error."}, 500)


def build_app(
    state: EmulatorState,
    *,
    own_process: bool = False,
    control_hosts: tuple[str, ...] = (),
    control_token: str = "",
) -> Starlette:
    """`own_process`: the emulator is the whole process (the CLI), so it may manage the garbage collector;
    not when it runs on a thread inside a test process. `control_hosts`: host names besides loopback the
    control API answers on; `control_token`: the token it then requires (control/guard.py)."""

    @contextlib.asynccontextmanager
    async def lifespan(app):
        saver = asyncio.create_task(_save_periodically(state)) if state.state_dir else None
        collector = asyncio.create_task(_collect_when_idle(state)) if own_process else None
        try:
            yield
        finally:
            if collector:
                collector.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await collector
            if saver:
                saver.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await saver
            state.save_to_disk()

    routes = _surface_routes(state, control_hosts, control_token)
    app = EmulatorApp(
        state,
        fast_mounts=[r for r in routes if isinstance(r, Mount) and r.path == "/v1.0"],
        routes=routes,
        exception_handlers={404: _not_found, 500: _server_error},
        lifespan=lifespan,
    )
    app.state.emulator = state
    tokens.jwks(state)  # make (or load) the signing key now: persisted before the first token, not after
    return app


class EmulatorApp(Starlette):
    """Starlette with the emulator's own outer chain: request log → faults → a fast path that hands
    /v1.0 straight to the Graph app. Starlette's router and exception layers cost about 15% of a simple
    Graph request, and Graph is the surface that must serve 2,000 req/s."""

    def __init__(self, emulator_state: EmulatorState, fast_mounts: list[Mount], **kwargs) -> None:
        self._emulator_state = emulator_state
        self._fast_mounts = [(m.path, m.app) for m in fast_mounts]
        super().__init__(**kwargs)

    def build_middleware_stack(self):
        stack = super().build_middleware_stack()
        if self._fast_mounts:
            stack = FastMounts(stack, self._fast_mounts)
        # Outermost: the request log also records responses the fault injector made up.
        return RequestLogMiddleware(FaultMiddleware(stack, state=self._emulator_state), self._emulator_state)


class FastMounts:
    def __init__(self, app, mounts: list[tuple[str, object]]) -> None:
        self.app = app
        self.mounts = mounts

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            path = scope["path"]
            for prefix, target in self.mounts:
                if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/"):
                    scope["root_path"] = scope.get("root_path", "") + prefix  # what Mount would set
                    await target(scope, receive, send)
                    return
        await self.app(scope, receive, send)


async def _collect_when_idle(state: EmulatorState) -> None:
    """Keep CPython's full collections off the request path. The heap is mostly the long-lived world
    (mailboxes, 20,000 events in the sync benchmark); a full collection scans all of it and stalls every
    request in flight (measured: 16 of them, up to 263 ms each, in a 40 s benchmark drain). So while
    requests keep coming, what survived is frozen (gc.freeze: left out of collections) every few seconds,
    and the full collection of everything (unfreeze, collect, freeze) waits until the emulator is idle.
    Cyclic garbage frozen meanwhile is only held until then."""
    gc.freeze()  # the world loaded at start
    seen, quiet_since, last_freeze, pending = state.requests_served, time.monotonic(), time.monotonic(), False
    while True:
        await asyncio.sleep(1.0)
        now = time.monotonic()
        if state.requests_served != seen:
            seen, quiet_since = state.requests_served, now
            if now - last_freeze >= GC_FREEZE_INTERVAL:
                gc.freeze()
                last_freeze, pending = now, True
        elif pending and now - quiet_since >= GC_IDLE_SECONDS:
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            pending = False


async def _save_periodically(state: EmulatorState) -> None:
    """Save a changed world when the emulator is idle (no request since the last look), or at the latest
    SAVE_MAX_DEFER seconds after the last save while requests keep coming: dumping 20,000 events takes a
    few hundred ms of a thread holding the GIL, which slows every request in flight (the sync benchmark's
    $batch requests took 3% longer with saves every few seconds). Shutdown always saves."""
    interval = SAVE_INTERVAL
    seen, last_save = state.requests_served, time.monotonic()
    while True:
        await asyncio.sleep(interval)
        busy = state.requests_served != seen
        seen = state.requests_served
        if not state.dirty or (busy and time.monotonic() - last_save < SAVE_MAX_DEFER):
            continue
        started = time.perf_counter()
        try:
            await asyncio.to_thread(state.save_to_disk)
        except OSError as exc:
            log.warning("could not save state: %s", exc)
        last_save = time.monotonic()
        # A big world takes a while to dump; never spend more than ~5% of the time saving it.
        interval = max(SAVE_INTERVAL, 20 * (time.perf_counter() - started))
