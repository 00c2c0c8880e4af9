"""The control API's door (/_emulator): it resets and seeds the whole world, so a web page the developer happens
to have open must not reach it. Pure ASGI, in front of the control routes only:

- Host must be a loopback name/address or one the emulator was told it is reached by (DNS rebinding: a page of
  evil.example whose name is re-pointed at 127.0.0.1 sends Host: evil.example).
- Origin, when a browser sends one, must be the emulator's own origin (https://<that host>): a page elsewhere
  cannot send control requests, not even "simple" cross-site POSTs.
- A body must be application/json (a cross-site HTML form can only send urlencoded, multipart or text/plain).
  Bodiless requests (POST /reset, DELETE /faults) need no Content-Type.
- With a control token (required by `m365emulator serve` on a non-loopback address), every control request
  must carry it in the X-Emulator-Control-Token header.
Refusals answer 403 (415 for a body of another type) in the control API's {"error": {"code", "message"}} shape.
"""

from __future__ import annotations

import hmac
import json
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
TOKEN_HEADER = "x-emulator-control-token"


def host_of(value: str) -> str:
    """The host part of a Host header value ("[::1]:8443" -> "::1"), lowercased; "" if it cannot be parsed."""
    try:
        return (urlsplit("//" + value).hostname or "").lower()
    except ValueError:
        return ""


def is_loopback_host(host: str) -> bool:
    return host in LOOPBACK_NAMES or host.endswith(".localhost") or host.startswith("127.")


class ControlGuard:
    def __init__(self, app, state, *, hosts: tuple[str, ...] = (), token: str = "") -> None:
        self.app = app
        self.state = state  # its base_url names the host the emulator says it is reached at
        self.hosts = frozenset(h.lower() for h in hosts)
        self.token = token

    def allowed_host(self, host: str) -> bool:
        own = host_of(urlsplit(getattr(self.state, "base_url", "") or "").netloc)
        return bool(host) and (is_loopback_host(host) or host in self.hosts or host == own)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self.refusal(scope, headers)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, message = refusal
        code = "forbidden" if status == 403 else "unsupportedMediaType"
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    def refusal(self, scope, headers: dict[str, str]) -> tuple[int, str] | None:
        host_header = headers.get("host", "")
        host = host_of(host_header)
        if not self.allowed_host(host):
            return 403, "The control API answers only on the emulator's own host names (Host header refused)."
        origin = headers.get("origin")
        if origin is not None and origin.lower() != f"https://{host_header}".lower():
            return 403, "The control API does not answer requests from other web origins."
        if self.token and not hmac.compare_digest(
            headers.get(TOKEN_HEADER, "").encode(), self.token.encode()
        ):
            return 403, "The control API needs the control token (X-Emulator-Control-Token header)."
        has_body = headers.get("content-length", "0") not in ("", "0") or "transfer-encoding" in headers
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if (has_body or media) and scope["method"] not in ("GET", "HEAD") and media != "application/json":
            return 415, "The control API accepts only application/json bodies."
        return None
