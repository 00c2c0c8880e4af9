"""The /v1.0 ASGI app: authenticates the bearer token, routes by urls.ROUTES, throttles per app+mailbox,
and renders results or Graph-shaped errors. `dispatch` is shared with $batch items."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from . import exceptions as exc
from . import timezones as tz
from .models import ID_PREFIX, OTHER_ENCODING_PREFIX, looks_like_id, other_encoding

log = logging.getLogger("m365emulator.graph")
JSON_TYPE = (
    b"application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
)
DIAG = (
    b'{"ServerInfo":{"DataCenter":"Emulator","Slice":"E","Ring":"5","ScaleUnit":"000","RoleInstance":"EMU"}}'
)
READ_SCOPES = frozenset(
    {
        "Calendars.Read",
        "Calendars.ReadWrite",
        "Calendars.Read.Shared",
        "Calendars.ReadWrite.Shared",
        "Calendars.ReadBasic",
    }
)
WRITE_SCOPES = frozenset({"Calendars.ReadWrite", "Calendars.ReadWrite.Shared"})
SHARED_SCOPES = frozenset({"Calendars.Read.Shared", "Calendars.ReadWrite.Shared"})
USER_SCOPES = frozenset(
    {
        "User.Read",
        "User.ReadWrite",
        "User.ReadBasic.All",
        "User.Read.All",
        "User.ReadWrite.All",
        "Directory.Read.All",
    }
)
OTHER_USER_SCOPES = frozenset(
    {"User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All"}
)


@dataclass
class Result:
    status: int = 200
    body: Any = None  # dict -> JSON; bytes/str -> raw; None -> empty
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Ctx:
    """One Graph request (a top-level HTTP request or one $batch item)."""

    state: Any
    method: str
    path: str  # below /v1.0, e.g. /me/events/AAMk...
    params: dict[str, str]
    headers: dict[str, str]  # lower-case names
    raw_body: bytes | None
    base: str  # https://host:port/v1.0
    scope: dict | None = None
    claims: Any = None
    user: Any = None  # the directory User whose mailbox the path names
    user_prefix: str = "/me"
    counted: bool = False  # a $batch item already counted by its batch (variant whole_batch_429)
    # Variant shared_calendar_ids=per_mailbox: the owner's ids the sharee's ids in the path stood for
    # (owner's id -> (owner oid, the sharee's id)); `foreign` once the answer comes from another mailbox
    # (its ids are then shown as the sharee's); `unknown_id` when an id of the path is neither the caller's
    # nor one its mailbox gave out for a shared calendar.
    translated: dict[str, tuple[str, str]] = field(default_factory=dict)
    foreign: bool = False
    unknown_id: bool = False
    _json: Any = None
    _parsed: bool = False

    @property
    def graph(self) -> Any:
        return self.state.graph

    def json(self) -> Any:
        if not self._parsed:
            self._parsed = True
            if self.raw_body is None or self.raw_body in (b"", ""):
                self._json = None
            elif isinstance(self.raw_body, (dict, list)):
                self._json = self.raw_body
            else:
                try:
                    self._json = json.loads(self.raw_body)
                except (ValueError, UnicodeDecodeError):
                    raise exc.bad_request(
                        "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."
                    ) from None
        return self._json

    def body_object(self) -> dict:
        data = self.json()
        if data is None:
            raise exc.bad_request("Empty Payload. JSON content expected.")
        if not isinstance(data, dict):
            raise exc.bad_request("Unable to read JSON request payload: a JSON object is expected.")
        return data

    def prefer(self) -> dict[str, str]:
        raw = self.headers.get("prefer", "")
        out: dict[str, str] = {}
        for part in raw.split(","):
            key, _, value = part.strip().partition("=")
            if key:
                out[key.strip().lower()] = value.strip().strip('"')
        return out

    def out_zone(self, applied: dict[str, str]) -> str:
        name = self.prefer().get("outlook.timezone")
        if name and tz.is_known(name):
            applied["Preference-Applied"] = f'outlook.timezone="{name}"'
            return name
        return "UTC"

    def page_size(self, applied: dict[str, str], default: int = 10) -> int:
        value = self.prefer().get("odata.maxpagesize")
        if value and value.isdigit() and int(value) > 0:
            size = min(int(value), 1000)
            applied["Preference-Applied"] = ", ".join(
                filter(None, [applied.get("Preference-Applied"), f"odata.maxpagesize={size}"])
            )
            return size
        return default

    def link(self, path: str, params: dict[str, str]) -> str:
        return f"{self.base}{quote(path, safe='/$()=,')}?{urlencode(params, quote_via=quote, safe='$()')}"

    def context(self, suffix: str) -> str:
        return f"{self.base}/$metadata#{suffix}"

    def user_context(self) -> str:
        return f"users('{self.user.oid}')"

    def mailbox(self) -> Any:
        return self.graph.ensure_mailbox(self.user)


def error_body(err: exc.GraphError, headers: dict[str, str]) -> dict:
    return {
        "error": {
            "code": err.code,
            "message": err.message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": headers.get("request-id", ""),
                "client-request-id": headers.get("client-request-id", ""),
            },
        }
    }


def _token_error(err: Any, raw: str) -> exc.GraphError:
    if getattr(err, "kind", "") == "expired":
        return exc.unauthenticated("Access token has expired or is not yet valid.")
    if "audience" in getattr(err, "message", "").lower():
        return exc.unauthenticated("Access token validation failure. Invalid audience.")
    if raw.count(".") != 2:
        return exc.unauthenticated(
            "IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or JWE Compact Serialization Format."
        )
    return exc.unauthenticated("Access token validation failure.")


def authenticate(ctx: Ctx) -> None:
    from m365emulator.tokens import TokenError, verify_access_token

    header = ctx.headers.get("authorization", "")
    scheme, _, raw = header.partition(" ")
    raw = raw.strip()
    if not header or scheme.lower() != "bearer" or not raw:
        raise exc.unauthenticated("Access token is empty.")
    try:
        ctx.claims = verify_access_token(ctx.state, raw)
    except TokenError as err:
        raise _token_error(err, raw) from None
    user = ctx.state.directory.users.get(ctx.claims.oid)
    if not ctx.claims.app_only and (user is None or not getattr(user, "enabled", True)):
        raise exc.unauthenticated("Access token validation failure.")


def resolve_user(ctx: Ctx, segment: str | None) -> None:
    """Bind ctx.user: the signed-in user for /me, else /users/{id|userPrincipalName}."""
    directory = ctx.state.directory
    claims = ctx.claims
    if segment is None:
        if claims.app_only:
            raise exc.bad_request("/me request is only valid with delegated authentication flow.")
        ctx.user = directory.users[claims.oid]
        ctx.user_prefix = "/me"
        return
    user = directory.users.get(segment) or directory.user_by_login(segment)
    if user is None and len(segment) == 16:  # a personal account's Graph id (serialize.personal_graph_id)
        from .serialize import personal_graph_id

        user = next(
            (u for u in directory.users.values() if u.is_personal and personal_graph_id(u) == segment), None
        )
    if user is None or user.tenant_id != claims.tid:
        raise exc.invalid_user(segment)
    ctx.user = user
    ctx.user_prefix = f"/users/{segment}"


def require(ctx: Ctx, kind: str) -> None:
    """Scope checks as Graph makes them; other users' calendars need *.Shared (delegated) or app roles."""
    scopes = ctx.claims.scopes
    other = ctx.user is not None and ctx.user.oid != ctx.claims.oid and not ctx.claims.app_only
    if kind == "user":
        if not scopes & (OTHER_USER_SCOPES if other else USER_SCOPES):
            raise exc.directory_denied()
        return
    wanted = WRITE_SCOPES if kind == "write" else READ_SCOPES
    if other:
        wanted = wanted & SHARED_SCOPES
    if not scopes & wanted:
        raise exc.access_denied()


def require_share(ctx: Ctx, box: Any, calendar: Any, kind: str) -> None:
    """A delegated request for another user's calendar passes only if the owner shared that calendar with the
    caller ("read" or "write"); otherwise, or once the share is withdrawn, 403 ErrorAccessDenied
    (concepts/outlook-get-shared-events-calendars.md: without a share "those GET operations will return an
    error"). `box` is the mailbox the calendar is in: the owner's, also when the sharee names the calendar below
    /me (calendar_mailbox). Writing there through the sharee's own path needs Calendars.ReadWrite.Shared
    (outlook-create-event-in-shared-delegated-calendar.md, step 2); reading needs only Calendars.Read
    (outlook-get-shared-events-calendars.md, "from sharee's mailbox"). Own mailboxes and app-only tokens are
    not concerned."""
    if ctx.claims.app_only or box is None or box.oid == ctx.claims.oid:
        return
    role = calendar.shares.get(ctx.claims.oid)
    if role is None or (kind == "write" and role != "write"):
        raise exc.access_denied()
    if kind == "write" and not ctx.claims.scopes & SHARED_SCOPES & WRITE_SCOPES:
        raise exc.access_denied()


def calendar_mailbox(ctx: Ctx, calendar_id: str | None) -> Any:
    """The mailbox a request naming `calendar_id` reads or writes. Below the caller's own mailbox (/me), a
    calendar another person of the organization shared with the caller is named by the id the caller's
    GET /me/calendars lists (concepts/outlook-get-shared-events-calendars.md, "Sharee: Get shared, custom
    calendar or its events from sharee's mailbox"; outlook-create-event-in-shared-delegated-calendar.md,
    step 2: POST /me/calendars/{id}/events): its events live in the owner's mailbox, so the request is
    served from there and require_share decides (403 once the share is withdrawn or for a write on a
    read-only share). Any other id stays in the caller's mailbox (and answers 404 there)."""
    box = ctx.mailbox()
    if not calendar_id or ctx.claims.app_only or ctx.user is None or ctx.user.oid != ctx.claims.oid:
        return box
    if calendar_id in box.calendars:
        return box
    return _owners_mailbox(ctx, box, calendar_id, lambda other: calendar_id in other.calendars)


def _owners_mailbox(ctx: Ctx, box: Any, item_id: str, holds: Any) -> Any:
    """The mailbox of another person of the caller's organization that `item_id` names, else the caller's
    `box`. Under shared_calendar_ids=per_mailbox only the sharee's own ids name the local copy (translate_ids
    found its owner; the owner's ids answer from the caller's mailbox: 404); under `same` the mailbox that
    `holds` it."""
    if ctx.state.variants.shared_calendar_ids == "per_mailbox":
        owner = ctx.translated.get(item_id)
        if owner is None or ctx.unknown_id or owner[0] not in ctx.graph.mailboxes:
            return box
        ctx.foreign = True
        return ctx.graph.mailboxes[owner[0]]
    directory = ctx.state.directory
    for other in ctx.graph.mailboxes.values():
        owner_user = directory.users.get(other.oid)
        if other is not box and owner_user is not None and owner_user.tenant_id == ctx.user.tenant_id:
            if holds(other):
                ctx.foreign = True
                return other
    return box


def event_mailbox(ctx: Ctx, event_id: str, calendar_id: str | None) -> Any:
    """The mailbox a request naming an event reads or writes. With a calendar in the path, calendar_mailbox's.
    Without one (/me/events/{id}), the caller's own, unless the variant shared_event_me_path=served lets the
    id of an event in another person's calendar reach it there (require_share then decides: 403 once the share
    is withdrawn)."""
    if calendar_id:
        return calendar_mailbox(ctx, calendar_id)
    box = ctx.mailbox()
    if (
        ctx.state.variants.shared_event_me_path != "served"
        or ctx.claims.app_only
        or ctx.user is None
        or ctx.user.oid != ctx.claims.oid
        or own_id(box, event_id)
    ):
        return box
    return _owners_mailbox(ctx, box, event_id, lambda other: own_id(other, event_id))


def own_id(box: Any, value: str) -> bool:
    """An id of the mailbox's own calendars, events (regular ids too) or occurrences."""
    if value.startswith(OTHER_ENCODING_PREFIX):
        value = ID_PREFIX + value[len(OTHER_ENCODING_PREFIX) :]
    return (
        value in box.calendars or value in box.events or value in box.occurrences or value in box.regular_ids
    )


def translate_ids(ctx: Ctx, args: tuple[str, ...]) -> tuple[str, ...]:
    """Variant shared_calendar_ids=per_mailbox, a delegated request: each id of the path that the caller's
    mailbox gave out for a calendar shared with it is replaced by the owner's id it stands for (the request is
    then served from the owner's mailbox, calendar_mailbox). On the caller's own path an id that is neither
    its own nor such a one marks the request `unknown_id` (answered from the caller's mailbox: 404). On the
    owner's path (variant shared_calendar_owner_path=accepted) the sharee's ids reach the owner's items."""
    if ctx.state.variants.shared_calendar_ids != "per_mailbox" or ctx.claims.app_only or ctx.user is None:
        return args

    sharee = ctx.claims.oid
    own = ctx.mailbox() if ctx.user.oid == sharee else None
    out = []
    for arg in args:
        if not looks_like_id(arg) or (own is not None and own_id(own, arg)):
            out.append(arg)
            continue
        with ctx.graph.lock:
            found = ctx.graph.owner_of_sharee_id(sharee, arg)
        if found is None:
            ctx.unknown_id = ctx.unknown_id or own is not None
            out.append(arg)
        else:
            ctx.translated[found[1]] = (found[0], arg)
            out.append(found[1])
    return tuple(out)


def show_sharee_ids(ctx: Ctx, body: Any) -> None:
    """Variant shared_calendar_ids=per_mailbox: an answer served from the owner's mailbox through the sharee's
    path shows the ids of the sharee's local copy: every `id` and `seriesMasterId` of a calendar or event that
    is not the caller's own (a removed event's id too), the item in `webLink`, and the calendar in the
    next/delta links."""

    graph, sharee = ctx.graph, ctx.claims.oid
    own = graph.mailboxes.get(sharee)
    owners = {oid for oid, _ in ctx.translated.values()}
    owner = next(iter(owners)) if len(owners) == 1 else None

    def local(value: str, owner_oid: str | None) -> str:
        if owner_oid is None:
            for box, cal, _ in graph.shared_with(sharee):
                if value in (cal.id, other_encoding(cal.id)) or own_id(box, value):
                    owner_oid = box.oid
                    break
            else:
                return value
        return graph.sharee_id(sharee, owner_oid, value)

    def walk(node: Any, owner_oid: str | None) -> None:
        if isinstance(node, list):
            for child in node:
                walk(child, owner_oid)
            return
        if not isinstance(node, dict):
            return
        if isinstance(node.get("owner"), dict) and "canShare" in node:  # a calendar row of the list
            address = node["owner"].get("address")
            row_owner = next((b.oid for b in graph.mailboxes.values() if b.address == address), None)
            if row_owner is not None and row_owner != sharee:
                owner_oid = row_owner
            elif owner is None:
                return  # one of the caller's own calendars
        for key in ("id", "seriesMasterId"):
            value = node.get(key)
            if isinstance(value, str) and looks_like_id(value) and not (own and own_id(own, value)):
                node[key] = new = local(value, owner_oid)
                if key == "id" and isinstance(node.get("webLink"), str):
                    node["webLink"] = node["webLink"].replace(quote(value, safe=""), quote(new, safe=""))
        for key in ("@odata.nextLink", "@odata.deltaLink"):
            if isinstance(node.get(key), str):
                for owner_id, (_oid, sharee_id) in ctx.translated.items():
                    node[key] = node[key].replace(owner_id, sharee_id)
        for child in node.values():
            if isinstance(child, (dict, list)):
                walk(child, owner_oid)

    with graph.lock:
        walk(body, owner)


def owner_path_refused(ctx: Ctx) -> bool:
    """Variant shared_calendar_owner_path=refused: a sharee's delegated request below /users/{owner} naming a
    calendar or an event by id (/calendars/{id}..., /events/{id}...) is answered 404 ErrorItemNotFound: the ids
    a sharee holds are those of its own copy (outlook-get-shared-events-calendars.md). The documented
    `/users/{owner}/calendar[/events[/{id}]]` shortcut and the calendar list are not concerned."""
    if ctx.state.variants.shared_calendar_owner_path != "refused":
        return False
    if ctx.claims.app_only or ctx.user is None or ctx.user.oid == ctx.claims.oid:
        return False
    rest = ctx.path.split("/", 3)[3] if ctx.path.count("/") >= 3 else ""
    head = rest.lower().split("/")
    return len(head) >= 2 and head[0] in ("calendars", "events") and head[1] != ""


async def dispatch(ctx: Ctx, latency: float = 0.0) -> Result:
    """Route, authorize, throttle and run one request; GraphError becomes a Graph error Result."""
    from .urls import match

    started = time.perf_counter()
    request_id = ctx.headers.get("client-request-id") or str(uuid.uuid4())
    out_headers = {"request-id": request_id, "client-request-id": request_id}
    key = None
    try:
        authenticate(ctx)
        handler, args, user_segment = match(ctx.method, ctx.path)
        if user_segment is not False:
            resolve_user(ctx, user_segment)
            if owner_path_refused(ctx):
                raise exc.item_not_found()
            args = translate_ids(ctx, args)
        mailbox_oid = ctx.user.oid if ctx.user is not None else ctx.claims.oid
        if mailbox_oid in ctx.graph.denied_mailboxes and not getattr(handler, "unthrottled", False):
            raise exc.access_denied()  # the mailbox denies the app; a $batch envelope is not the mailbox's
        if ctx.scope is not None:
            from m365emulator.state import note_request

            note_request(ctx.scope, ctx.claims.client_id, mailbox_oid)
        if not getattr(handler, "unthrottled", False) and not ctx.counted:  # items count one by one
            key = ctx.graph.throttle.acquire(ctx.claims.client_id, mailbox_oid)
        if latency:
            await asyncio.sleep(latency)
            latency = 0.0  # slept: an error raised by the handler must not sleep again
        result = handler(ctx, *args)
        if inspect.isawaitable(result):
            result = await result
    except exc.GraphError as err:
        if latency and err.status != 429:  # injected latency delays error answers too (not throttling's)
            await asyncio.sleep(latency)
        out_headers.update(err.headers)
        result = Result(err.status, error_body(err, out_headers))
    except Exception:  # noqa: BLE001 - last resort: a Graph-shaped 500, never a stack trace
        log.exception("unhandled error on %s %s", ctx.method, ctx.path)
        err = exc.GraphError(500, "InternalServerError", "An internal server error occurred.")
        result = Result(500, error_body(err, out_headers))
    finally:
        ctx.graph.throttle.release(key)
    result.headers = {**out_headers, **result.headers}
    if (
        ctx.foreign
        and isinstance(result.body, dict)
        and ctx.state.variants.shared_calendar_ids == "per_mailbox"
    ):
        show_sharee_ids(ctx, result.body)
    immutable = wants_immutable_ids(ctx.headers)
    if immutable:
        applied = result.headers.get("Preference-Applied")
        result.headers["Preference-Applied"] = ", ".join(filter(None, [applied, 'IdType="ImmutableId"']))
    elif ctx.user is not None and isinstance(result.body, dict):
        # Without the preference Graph shows regular ids, which change when an event moves to another calendar
        # (concepts/outlook-immutable-id.md): events that moved are shown under their new regular id.
        box = ctx.graph.mailboxes.get(ctx.user.oid)
        if box is not None and box.regular_ids:
            _show_regular_ids(result.body, {v: k for k, v in box.regular_ids.items()})
    if ctx.scope is not None:
        entry = ctx.scope.get(
            "m365emulator.log"
        )  # state.LOG_SCOPE_KEY: tests find requests lacking the header
        if entry is not None:
            entry["immutable_ids"] = immutable
    else:  # a $batch item: the request log counts it one by one, like throttling does
        _log_item(ctx, result, started, immutable)
    return result


def wants_immutable_ids(headers: dict[str, str]) -> bool:
    """`Prefer: IdType="ImmutableId"` among the request's preferences (quotes and case as clients send them)."""
    for part in headers.get("prefer", "").split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "idtype" and value.strip().strip('"').lower() == "immutableid":
            return True
    return False


def _show_regular_ids(body: Any, shown: dict[str, str]) -> None:
    if isinstance(body, dict):
        value = body.get("id")
        if isinstance(value, str) and value in shown:
            body["id"] = shown[value]
        for child in body.values():
            if isinstance(child, (dict, list)):
                _show_regular_ids(child, shown)
    elif isinstance(body, list):
        for child in body:
            _show_regular_ids(child, shown)


def _log_item(ctx: Ctx, result: Result, started: float, immutable: bool = False) -> None:
    log_ = getattr(ctx.state, "request_log", None)
    if log_ is None:
        return
    claims = ctx.claims
    log_.append(
        {
            "time": time.time(),
            "method": ctx.method,
            "path": "/v1.0" + ctx.path,
            "query": urlencode(ctx.params),
            "status": result.status,
            "client_id": claims.client_id if claims else None,
            "mailbox": ctx.user.oid if ctx.user is not None else (claims.oid if claims else None),
            "ms": round((time.perf_counter() - started) * 1000, 3),
            "batch": True,
            "immutable_ids": immutable,
        }
    )


def encode(result: Result) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    headers = [(k.lower().encode(), str(v).encode()) for k, v in result.headers.items()]
    if isinstance(result.body, (dict, list)):
        raw = json.dumps(result.body, ensure_ascii=False, separators=(",", ":")).encode()
        headers.append((b"content-type", JSON_TYPE))
    elif isinstance(result.body, str):
        raw = result.body.encode()
        if not any(k == b"content-type" for k, _ in headers):
            headers.append((b"content-type", b"text/plain; charset=utf-8"))
    else:
        raw = result.body or b""
    headers.append((b"content-length", str(len(raw)).encode()))
    headers.append((b"x-ms-ags-diagnostic", DIAG))
    headers.append((b"odata-version", b"4.0"))
    headers.append((b"cache-control", b"private"))
    return raw, headers


class GraphApp:
    """Mounted at /v1.0. Raw ASGI for speed: one dict of headers, one JSON encode, no Request object."""

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        from m365emulator.faults import LATENCY_SCOPE_KEY

        state = scope["app"].state.emulator
        graph = state.graph
        if graph.subscriptions and getattr(graph, "notify_loop", None) is None:
            from .subscriptions import install  # subscriptions loaded from the state dir: deliver again

            install(graph)
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        host = headers.get("host") or "graph.microsoft.com"
        query = scope.get("query_string", b"").decode("latin-1")
        ctx = Ctx(
            state=state,
            method=scope["method"],
            path=path or "/",
            params=dict(parse_qsl(query, keep_blank_values=True)),
            headers=headers,
            raw_body=body,
            base=f"https://{host}/v1.0",
            scope=scope,
        )
        result = await dispatch(ctx, scope.get(LATENCY_SCOPE_KEY, 0.0))
        raw, out = encode(result)
        await send({"type": "http.response.start", "status": result.status, "headers": out})
        await send({"type": "http.response.body", "body": raw})
