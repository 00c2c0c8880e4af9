"""The batch endpoint (POST /batch/calendar/v3, the discovery document's batchPath): multipart/mixed, each
part an `application/http` request with only the path of its URL; at most 1000 calls per batch (Calendar
batch guide). The outer request's headers apply to each part unless the part sets its own (Content-*
excepted). Parts run one after another through the same dispatch as single requests; the answer is a
multipart/mixed response in the same order, each part's Content-ID `response-<the request's Content-ID>`."""

from __future__ import annotations

import re
import secrets
from email.parser import BytesParser
from email.policy import HTTP
from http import HTTPStatus

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from googleemulator import PREFIX
from googleemulator.calendar import exceptions as ge
from googleemulator.calendar import responses
from googleemulator.calendar.responses import Answer, to_response
from googleemulator.faults import error_for, log_injected
from googleemulator.oauth.responses import gstate, issuer

MAX_CALLS = 1000
REQUEST_LINE = re.compile(rb"^([A-Z]+) (\S+)(?: HTTP/1\.[01])?$")


def _split_parts(content_type: str, body: bytes) -> list[tuple[dict[str, str], bytes]] | None:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        return None
    parts = []
    for part in message.iter_parts():
        payload = part.get_payload(decode=True) or b""
        parts.append(({k.lower(): str(v) for k, v in part.items()}, payload))
    return parts


def _parse_inner(raw: bytes) -> tuple[str, str, dict[str, str], bytes]:
    head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    lines = head.strip(b"\n").split(b"\n")
    match = REQUEST_LINE.match(lines[0].strip())
    if not match:
        raise ValueError("bad request line")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return (
        match.group(1).decode(),
        match.group(2).decode(),
        headers,
        body.rstrip(b"\n") if body.strip() else b"",
    )


def _error(status: int, message: str) -> Response:
    err = ge.ApiError(status, "badRequest" if status == 400 else "backendError", message)
    return to_response(Answer(status, err.body()))


async def batch(request: Request) -> Response:
    state = gstate(request)
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/mixed"):
        return _error(400, "Batch request content type must be multipart/mixed.")
    parts = _split_parts(content_type, await request.body())
    if parts is None:
        return _error(400, "Invalid multipart request.")
    if len(parts) > MAX_CALLS:
        return _error(400, f"A batch request cannot contain more than {MAX_CALLS} requests.")
    outer = {k.lower(): v for k, v in request.headers.items() if not k.lower().startswith("content-")}
    base = issuer(request)
    prefix = f"{PREFIX}/calendar/v3/"
    out_boundary = "batch_" + secrets.token_urlsafe(12)
    chunks = []
    for part_headers, payload in parts:
        try:
            method, target, headers, body = _parse_inner(payload)
        except ValueError:
            answer = Answer(400, ge.ApiError(400, "badRequest", "Bad Request").body())
        else:
            path, _, query = target.partition("?")
            merged = {**outer, **headers}
            fault = (
                state.faults.decide(allow_drop=False)
                if state.faults and state.faults.applies_to(path)
                else None
            )
            if fault and fault.error:
                err = error_for(fault.error)
                answer = Answer(err.code, err.body(), dict(err.headers))
                log_injected(state, method, path, err.code, "injected")
            elif not path.startswith(prefix):
                answer = Answer(404, ge.not_found().body())
            else:
                answer = await responses.call(
                    state, method, path[len(prefix) :], QueryParams(query), merged, body, base
                )
        chunks.append(_render_part(part_headers.get("content-id"), answer))
    body = b"".join(f"--{out_boundary}\r\n".encode() + c for c in chunks) + f"--{out_boundary}--\r\n".encode()
    return Response(body, media_type=f"multipart/mixed; boundary={out_boundary}")


def _render_part(content_id: str | None, answer: Answer) -> bytes:
    head = "Content-Type: application/http\r\n"
    if content_id:
        inner = content_id.strip()
        if inner.startswith("<") and inner.endswith(">"):
            inner = inner[1:-1]
        head += f"Content-ID: <response-{inner}>\r\n"
    reason = HTTPStatus(answer.status).phrase if answer.status in HTTPStatus._value2member_map_ else ""
    payload = answer.encode()
    lines = [f"HTTP/1.1 {answer.status} {reason}"]
    if answer.body is not None:
        lines.append("Content-Type: application/json; charset=UTF-8")
    for key, value in answer.headers.items():
        lines.append(f"{key}: {value}")
    lines.append(f"Content-Length: {len(payload)}")
    return (head + "\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode() + payload + b"\r\n"
