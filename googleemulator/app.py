"""build_google_app(state): the Google side as one ASGI app (mounted at /google by m365emulator's
server), the control app (mounted at /_emulator/google), and the saver that persists the Google world."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Mount, Route

from googleemulator import PREFIX
from googleemulator.faults import GoogleFaultMiddleware
from googleemulator.state import GoogleState

log = logging.getLogger("googleemulator")


async def _home(request: Request):
    return RedirectResponse(f"{PREFIX}/console/", status_code=302)


async def _not_found(request: Request, exc):
    return JSONResponse(
        {
            "error": {
                "code": 404,
                "message": "Not Found",
                "errors": [{"domain": "global", "reason": "notFound", "message": "Not Found"}],
                "status": "NOT_FOUND",
            }
        },
        404,
    )


async def _server_error(request: Request, exc):
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(
        {
            "error": {
                "code": 500,
                "message": "Backend Error",
                "errors": [{"domain": "global", "reason": "backendError", "message": "Backend Error"}],
                "status": "INTERNAL",
            }
        },
        500,
    )


def build_google_app(state: GoogleState) -> Starlette:
    from googleemulator.calendar.urls import routes as calendar_routes
    from googleemulator.console.urls import routes as console_routes
    from googleemulator.oauth.urls import routes as oauth_routes
    from googleemulator.viewer.urls import routes as viewer_routes

    app = Starlette(
        routes=[
            Route("/", _home),
            Mount("/console", routes=console_routes),
            Mount("/calendar/view", routes=viewer_routes),
            *oauth_routes,
            *calendar_routes,
        ],
        middleware=[Middleware(GoogleFaultMiddleware, state=state)],
        exception_handlers={404: _not_found, 500: _server_error},
    )
    app.state.google = state
    return app


def build_control_app(state: GoogleState) -> Starlette:
    from googleemulator.control import routes

    app = Starlette(routes=routes)
    app.state.google = state
    return app
