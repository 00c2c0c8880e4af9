"""Control route for the variants (m365emulator/variants.py): GET reads every switch with its allowed values
and their sources; PUT/PATCH sets some; DELETE restores the documented defaults (as /reset does)."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from m365emulator.variants import VariantError


async def variants(request: Request) -> JSONResponse:
    current = request.app.state.emulator.variants
    if request.method in ("PUT", "PATCH"):
        try:
            body = json.loads(await request.body() or b"{}")
            current.update(body)
        except (ValueError, VariantError) as err:
            message = str(err) if isinstance(err, VariantError) else "The body is not valid JSON."
            return JSONResponse({"error": {"code": "InvalidVariant", "message": message}}, 400)
    elif request.method == "DELETE":
        current.reset()
    return JSONResponse(current.to_json())


routes = [Route("/variants", variants, methods=["GET", "PUT", "PATCH", "DELETE"])]
