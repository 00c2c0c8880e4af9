"""The control API under /_emulator: identity.py (directory, consents, tokens) and graph.py (mailboxes,
faults, request log) side by side, plus openapi.json describing both; server.py mounts this list."""

import json
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from m365emulator.control import graph, identity, variants

OPENAPI_FILE = Path(__file__).with_name("openapi.json")


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(json.loads(OPENAPI_FILE.read_text()))


routes = [Route("/openapi.json", openapi, methods=["GET"]), *identity.routes, *graph.routes, *variants.routes]
