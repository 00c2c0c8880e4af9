"""The Calendar API's discovery document (Google's published calendar.v3 description, kept as
discovery.json) served with the emulator's own rootUrl/baseUrl, so `googleapiclient.discovery.build(...,
discoveryServiceUrl=…)` sends every call, and `new_batch_http_request()` its batches, to the emulator.
discovery.json is copied unchanged from google-api-python-client 2.202.0
(googleapiclient/discovery_cache/documents/calendar.v3.json, revision 20261030, Apache License 2.0)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse

from googleemulator.calendar import exceptions as ge
from googleemulator.oauth.responses import issuer


@cache
def _document() -> dict:
    return json.loads((Path(__file__).parent / "discovery.json").read_text())


async def discovery(request: Request) -> JSONResponse:
    api, version = request.path_params["api"], request.path_params["version"]
    if (api, version) != ("calendar", "v3"):
        return JSONResponse(ge.not_found().body(), status_code=404)
    root = issuer(request) + "/"
    doc = dict(_document())
    doc.update(rootUrl=root, baseUrl=root + doc["servicePath"], mtlsRootUrl=root)
    return JSONResponse(doc)
