"""The EWS route, /EWS/Exchange.asmx: authenticate (Basic or NTLM), apply the EWS switches (EWS disabled,
injected ErrorServerBusy), dispatch the SOAP operation to responses.py, answer text/xml."""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from m365emulator.state import LOG_SCOPE_KEY, note_request

from . import exceptions as exc
from . import soap
from .auth import AuthFailed, NtlmServer, basic_user, www_authenticate
from .responses import OPERATIONS, Context
from .store import ews_settings

XML = "text/xml; charset=utf-8"
_ntlm_servers: dict[int, NtlmServer] = {}


def _unauthorized(request: Request, challenge: str | None = None) -> Response:
    settings = ews_settings(request.app.state.emulator)
    response = Response(b"", status_code=401)
    if challenge:
        response.raw_headers.append((b"www-authenticate", f"NTLM {challenge}".encode()))
    else:
        host = request.url.hostname or "localhost"
        response.raw_headers.extend(www_authenticate(host, settings.basic_auth, settings.ntlm_auth))
    return response


def _authenticate(request: Request):
    state = request.app.state.emulator
    settings = ews_settings(state)
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "basic" and settings.basic_auth:
        return basic_user(state.directory, value)
    if scheme in ("ntlm", "negotiate") and settings.ntlm_auth:
        try:
            message = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise AuthFailed() from None
        ntlm = _ntlm_servers.setdefault(id(state), NtlmServer())
        connection = tuple(request.client or ("?", 0))
        if len(message) > 12 and message[8] == 1:
            raise AuthFailed(ntlm.negotiate(connection, message))
        return ntlm.authenticate(state.directory, connection, message)
    raise AuthFailed()


async def exchange_asmx(request: Request) -> Response:
    state = request.app.state.emulator
    settings = ews_settings(state)
    if not settings.enabled:
        return Response(b"", status_code=403)
    raw = await request.body()
    try:
        with state.lock:
            user = _authenticate(request)
    except AuthFailed as failed:
        return _unauthorized(request, failed.challenge)
    note_request(request.scope, mailbox=user.oid)
    if user.oid in settings.disabled_users:
        return Response(b"", status_code=403)
    if request.method == "GET":
        return Response(b"", status_code=405)
    try:
        settings.requests += 1
        back_off = settings.take_busy()
        if back_off is not None:
            raise exc.server_busy(back_off)
        header, op = soap.parse_request(raw)
        name = op.tag.rpartition("}")[2]
        entry = request.scope.get(LOG_SCOPE_KEY)
        if entry is not None:
            entry["operation"] = name  # which SOAP operation: every EWS request shares one path
        handler = OPERATIONS.get(name)
        if handler is None or not op.tag.startswith(f"{{{soap.M}}}"):
            raise exc.EWSFault("ErrorInvalidRequest", f"The request is invalid: {name} is not supported.")
        with state.lock, state.graph.lock:
            body = soap.envelope(handler(Context(state, user, header), op))
    except exc.EWSFault as fault:
        return Response(soap.fault(fault), status_code=fault.status, media_type=XML)
    return Response(body, media_type=XML)


routes = [Route("/EWS/Exchange.asmx", exchange_asmx, methods=["GET", "POST"])]
