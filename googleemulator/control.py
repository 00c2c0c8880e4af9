"""The Google part of the control API, under /_emulator/google: seed and reset the world, move its clock,
faults and quotas, settings, tokens without a browser, a user's own edits to their calendars (which push
and sync exactly like API edits), sync-token expiry, the request log and push deliveries. JSON in, JSON out;
bad input → 400/404 `{"error": {"code", "message"}}`."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from googleemulator.calendar import exceptions as ge
from googleemulator.calendar import models as cm
from googleemulator.calendar.push import pusher
from googleemulator.faults import FaultConfig, FaultConfigError
from googleemulator.oauth import models as om
from googleemulator.state import (
    Account,
    Calendar,
    ConsentScreen,
    GoogleState,
    OAuthClient,
    Project,
    stable_digits,
)


class ControlError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _state(request: Request) -> GoogleState:
    return request.app.state.google


async def _body(request: Request) -> dict:
    raw = await request.body()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ControlError("body is not JSON") from None
    if not isinstance(data, dict):
        raise ControlError("expected a JSON object")
    return data


def endpoint(handler):
    async def wrapped(request: Request) -> Response:
        try:
            result = await handler(request, _state(request))
        except ControlError as err:
            return JSONResponse({"error": {"code": err.status, "message": str(err)}}, status_code=err.status)
        except ge.ApiError as err:
            return JSONResponse(err.body(), status_code=err.code)
        if isinstance(result, Response):
            return result
        return JSONResponse(result)

    return wrapped


# --- world ---------------------------------------------------------------------------------------------------
def apply_seed(state: GoogleState, spec: dict) -> dict:
    answer: dict = {"accounts": [], "projects": [], "calendars": []}
    with state.lock:
        for a in spec.get("accounts", []):
            if not a.get("email") or not a.get("password"):
                raise ControlError("an account needs email and password")
            email = a["email"].strip().lower()
            domain = email.split("@", 1)[1]
            hd = a.get("hd", None if domain in ("gmail.com", "googlemail.com") else domain)
            state.accounts[email] = Account(
                email=email, password=a["password"], name=a.get("name") or email.split("@")[0],
                time_zone=a.get("time_zone", "UTC"), hd=hd,
            )  # fmt: skip
            state.primary_calendar(email)
            answer["accounts"].append({"email": email, "sub": state.accounts[email].sub})
        for p in spec.get("projects", []):
            answer["projects"].append(create_project(state, p))
        for c in spec.get("calendars", []):
            cal = create_calendar(state, c)
            answer["calendars"].append({"id": cal.id, "owner": cal.owner, "summary": cal.summary})
        for g in spec.get("grants", []):
            key = om.grant_key(g["client_id"], g["email"])
            state.grants[key] = list(
                dict.fromkeys(state.grants.get(key, []) + om.normalize_scopes(" ".join(g["scopes"]))[0])
            )
        state.dirty = True
    return answer


def create_project(state: GoogleState, p: dict) -> dict:
    if not p.get("name"):
        raise ControlError("a project needs a name")
    project_id = p.get("project_id") or re.sub(r"[^a-z0-9-]", "-", p["name"].lower()).strip(
        "-"
    ) + "-" + stable_digits(p["name"], length=6)
    consent = p.get("consent_screen") or {}
    unknown = set(consent) - set(ConsentScreen.__dataclass_fields__)
    if unknown:
        raise ControlError(f"unknown consent_screen fields: {sorted(unknown)}")
    screen = ConsentScreen(**{"app_name": p["name"], **consent})
    if screen.user_type not in ("internal", "external") or screen.publishing_status not in (
        "testing",
        "production",
    ):
        raise ControlError("user_type is internal|external, publishing_status testing|production")
    project = Project(
        project_id=project_id, name=p["name"], number=stable_digits("project", project_id, length=12),
        owner=(p.get("owner") or "").lower(), calendar_api_enabled=p.get("calendar_api_enabled", True), consent=screen,
    )  # fmt: skip
    state.projects[project_id] = project
    clients = [create_client(state, project, c) for c in p.get("clients", [])]
    return {"project_id": project_id, "number": project.number, "clients": clients}


def create_client(state: GoogleState, project: Project, c: dict) -> dict:
    uris = c.get("redirect_uris", [])
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        raise ControlError("redirect_uris is a list of strings")
    client_id = c.get("client_id") or (
        f"{project.number}-{hashlib.sha256((project.project_id + c.get('name', '')).encode()).hexdigest()[:32]}"
        ".apps.googleusercontent.com"
    )
    secret = c.get("client_secret") or "GOCSPX-" + secrets.token_urlsafe(21)
    state.clients[client_id] = OAuthClient(
        client_id=client_id, client_secret=secret, name=c.get("name") or "Web client 1", project_id=project.project_id,
        redirect_uris=list(uris), created=state.now(),
    )  # fmt: skip
    return {"client_id": client_id, "client_secret": secret, "name": state.clients[client_id].name}


def create_calendar(state: GoogleState, c: dict) -> Calendar:
    owner = (c.get("owner") or "").lower()
    if state.account(owner) is None:
        raise ControlError(f"unknown owner {owner!r}")
    cal_id = (
        c.get("id")
        or "c_"
        + hashlib.sha256(f"{owner}|{c.get('summary')}".encode()).hexdigest()[:40]
        + "@group.calendar.google.com"
    )
    cal = Calendar(id=cal_id, owner=owner, summary=c.get("summary") or "Calendar",
                   time_zone=c.get("time_zone") or state.account(owner).time_zone, description=c.get("description", ""))  # fmt: skip
    for share in c.get("shares", []):
        cal.acl[share["email"].lower()] = share.get("role", "reader")
    state.calendars[cal_id] = cal
    return cal


@endpoint
async def seed(request: Request, state: GoogleState):
    return JSONResponse(apply_seed(state, await _body(request)), status_code=201)


@endpoint
async def reset(request: Request, state: GoogleState):
    state.reset()
    return {"reset": True}


@endpoint
async def dump(request: Request, state: GoogleState):
    return state.dump()


@endpoint
async def save(request: Request, state: GoogleState):
    await asyncio.to_thread(state.save_to_disk)
    return {"saved": bool(state.state_dir)}


@endpoint
async def faults(request: Request, state: GoogleState):
    if request.method == "PUT":
        try:
            state.faults = FaultConfig.from_json(await _body(request))
        except FaultConfigError as exc:
            raise ControlError(str(exc)) from None
    elif request.method == "DELETE":
        state.faults = None
    return state.faults.to_json() if state.faults else {}


@endpoint
async def settings(request: Request, state: GoogleState):
    if request.method in ("PUT", "PATCH"):
        try:
            state.settings.update(await _body(request))
        except ValueError as exc:
            raise ControlError(str(exc)) from None
        state.dirty = True
    return asdict(state.settings)


@endpoint
async def clock(request: Request, state: GoogleState):
    """`{"offset_seconds": n}` or `{"advance_seconds": n}`: the Google side's clock (token lifetimes,
    the 7-day Testing limit, channel expiry, sync-token age) runs n seconds ahead of the real one."""
    if request.method == "PUT":
        data = await _body(request)
        if "advance_seconds" in data:
            state.clock_offset += float(data["advance_seconds"])
        elif "offset_seconds" in data:
            state.clock_offset = float(data["offset_seconds"])
        else:
            raise ControlError("offset_seconds or advance_seconds")
    return {"offset_seconds": state.clock_offset, "now": state.now()}


@endpoint
async def projects(request: Request, state: GoogleState):
    if request.method == "POST":
        return JSONResponse(create_project(state, await _body(request)), status_code=201)
    return {"value": [asdict(p) for p in state.projects.values()]}


@endpoint
async def project(request: Request, state: GoogleState):
    proj = state.projects.get(request.path_params["project_id"])
    if proj is None:
        raise ControlError("unknown project", 404)
    if request.method == "PATCH":
        data = await _body(request)
        if "calendar_api_enabled" in data:
            proj.calendar_api_enabled = bool(data["calendar_api_enabled"])
        for key, value in (data.get("consent_screen") or {}).items():
            if key not in ConsentScreen.__dataclass_fields__:
                raise ControlError(f"unknown consent_screen field {key!r}")
            setattr(proj.consent, key, value)
        state.dirty = True
    clients = [
        asdict(c) | {"client_secret": c.client_secret[:4] + "…"}
        for c in state.clients.values()
        if c.project_id == proj.project_id
    ]
    return asdict(proj) | {"clients": clients}


@endpoint
async def tokens(request: Request, state: GoogleState):
    """`{client_id, email, scopes?}` → tokens as the token endpoint would answer, without the browser."""
    data = await _body(request)
    client = state.clients.get(data.get("client_id", ""))
    account = state.account(data.get("email", ""))
    if client is None or account is None:
        raise ControlError("unknown client_id or email", 404)
    scopes, unknown = om.normalize_scopes(" ".join(data.get("scopes") or [om.CAL + "calendar"]))
    if unknown:
        raise ControlError(f"unknown scopes {unknown}")
    with state.lock:
        key = om.grant_key(client.client_id, account.email)
        state.grants[key] = list(dict.fromkeys(state.grants.get(key, []) + scopes))
        return om.issue_tokens(state, client, account, scopes, with_refresh=True, issuer=_issuer(request))


def _issuer(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}/google"


@endpoint
async def expire_tokens(request: Request, state: GoogleState):
    """`{access_token}` or `{refresh_token}`: that token runs out now; `{email}`: every access token of that
    account does (the next call answers 401 and the app refreshes), its refresh tokens stay good."""
    data = await _body(request)
    with state.lock:
        if data.get("email"):
            email = str(data["email"]).lower()
            mine = [t for t in state.access_tokens.values() if t.email == email]
            for t in mine:
                t.expires = state.now() - 1
            return {"expired": len(mine)}
        if data.get("access_token") in state.access_tokens:
            state.access_tokens[data["access_token"]].expires = state.now() - 1
            return {"expired": 1}
        if data.get("refresh_token") in state.refresh_tokens:
            state.refresh_tokens[data["refresh_token"]].expires = state.now() - 1
            return {"expired": 1}
    raise ControlError("unknown token", 404)


@endpoint
async def revoke(request: Request, state: GoogleState):
    """`{client_id, email}`: the user removes the app in their Google Account (Security > Third-party access)."""
    data = await _body(request)
    with state.lock:
        return {
            "revoked_refresh_tokens": om.revoke_grant(
                state, data.get("client_id", ""), data.get("email", "").lower()
            )
        }


# --- calendars: the user's own edits -----------------------------------------------------------------------
def _cal(state: GoogleState, cal_id: str) -> Calendar:
    cal = state.calendars.get(cal_id)
    if cal is None or cal.deleted:
        raise ControlError("unknown calendar", 404)
    return cal


@endpoint
async def calendars(request: Request, state: GoogleState):
    if request.method == "POST":
        with state.lock:
            cal = create_calendar(state, await _body(request))
            state.dirty = True
        return JSONResponse({"id": cal.id, "owner": cal.owner, "summary": cal.summary}, status_code=201)
    owner = request.query_params.get("owner")
    with state.lock:
        cals = state.calendars_of(owner) if owner else [c for c in state.calendars.values() if not c.deleted]
        return {
            "value": [
                {k: v for k, v in asdict(c).items() if k != "events"} | {"events": len(c.events)}
                for c in cals
            ]
        }


@endpoint
async def calendar(request: Request, state: GoogleState):
    with state.lock:
        cal = _cal(state, request.path_params["cal"])
        if request.method == "DELETE":
            # The owner deletes the calendar: channels watching it hear not_exists, then it is gone.
            cal.deleted = True
            if state.channels:
                pusher(state).notify(cal.id, "not_exists")
            state.dirty = True
            return Response(status_code=204)
        return {k: v for k, v in asdict(cal).items() if k != "events"} | {
            "events": [dict(e) for e in cal.events.values()]
        }


@endpoint
async def acl(request: Request, state: GoogleState):
    """`{email, role}` shares the calendar (reader | writer | freeBusyReader); role null unshares it."""
    data = await _body(request)
    with state.lock:
        cal = _cal(state, request.path_params["cal"])
        email = (data.get("email") or "").lower()
        if data.get("role") is None:
            cal.acl.pop(email, None)
        elif data["role"] in ("reader", "writer", "freeBusyReader"):
            cal.acl[email] = data["role"]
        else:
            raise ControlError("role is reader, writer, freeBusyReader or null")
        state.dirty = True
        return {"acl": cal.acl}


@endpoint
async def events(request: Request, state: GoogleState):
    data = await _body(request)
    with state.lock:
        cal = _cal(state, request.path_params["cal"])
        ev = cm.insert_event(state, cal, data, cal.owner, _issuer(request))
        return JSONResponse(cm.render(ev), status_code=201)


@endpoint
async def event(request: Request, state: GoogleState):
    with state.lock:
        cal = _cal(state, request.path_params["cal"])
        event_id = request.path_params["ev"]
        if request.method == "DELETE":
            cm.delete_event(state, cal, event_id)
            return Response(status_code=204)
        if request.method == "PATCH":
            return cm.render(cm.patch_event(state, cal, event_id, await _body(request), None))
        return dict(cm.get_event(cal, event_id))


@endpoint
async def move(request: Request, state: GoogleState):
    data = await _body(request)
    with state.lock:
        cal = _cal(state, request.path_params["cal"])
        target = _cal(state, data.get("destination", ""))
        return cm.render(cm.move_event(state, cal, request.path_params["ev"], target))


@endpoint
async def expire_sync_tokens(request: Request, state: GoogleState):
    with state.lock:
        cal = _cal(state, request.path_params["cal"])
        cal.sync_epoch += 1
        expired = [k for k, t in state.sync_tokens.items() if t["calendar"] == cal.id]
        for key in expired:
            del state.sync_tokens[key]
        state.dirty = True
        return {"expired": len(expired)}


# --- logs --------------------------------------------------------------------------------------------------------
@endpoint
async def requests_log(request: Request, state: GoogleState):
    q = request.query_params
    rows = [
        r for r in list(state.request_log)
        if (not q.get("client_id") or r["client_id"] == q["client_id"]) and (not q.get("user") or r["user"] == q["user"])
        and (not q.get("status") or str(r["status"]) == q["status"]) and (not q.get("method") or r["method"] == q["method"])
    ]  # fmt: skip
    limit = int(q.get("limit", "1000"))
    return {"value": rows[-limit:]}


@endpoint
async def deliveries(request: Request, state: GoogleState):
    """Push deliveries made; `?wait=1` first waits (up to 10 s) until every queued one was attempted."""
    if request.query_params.get("wait") and state.pusher is not None:
        await asyncio.to_thread(state.pusher.wait_idle)
    return {"value": list(state.deliveries)}


@endpoint
async def channels(request: Request, state: GoogleState):
    return {"value": list(state.channels.values())}


routes = [
    Route("/seed", seed, methods=["POST"]),
    Route("/reset", reset, methods=["POST"]),
    Route("/state", dump, methods=["GET"]),
    Route("/save", save, methods=["POST"]),
    Route("/faults", faults, methods=["GET", "PUT", "DELETE"]),
    Route("/settings", settings, methods=["GET", "PUT", "PATCH"]),
    Route("/clock", clock, methods=["GET", "PUT"]),
    Route("/projects", projects, methods=["GET", "POST"]),
    Route("/projects/{project_id}", project, methods=["GET", "PATCH"]),
    Route("/tokens", tokens, methods=["POST"]),
    Route("/tokens/expire", expire_tokens, methods=["POST"]),
    Route("/revoke", revoke, methods=["POST"]),
    Route("/calendars", calendars, methods=["GET", "POST"]),
    Route("/calendars/{cal}", calendar, methods=["GET", "DELETE"]),
    Route("/calendars/{cal}/acl", acl, methods=["PUT"]),
    Route("/calendars/{cal}/events", events, methods=["POST"]),
    Route("/calendars/{cal}/events/{ev}", event, methods=["GET", "PATCH", "DELETE"]),
    Route("/calendars/{cal}/events/{ev}/move", move, methods=["POST"]),
    Route("/calendars/{cal}/expire-sync-tokens", expire_sync_tokens, methods=["POST"]),
    Route("/requests", requests_log, methods=["GET"]),
    Route("/deliveries", deliveries, methods=["GET"]),
    Route("/channels", channels, methods=["GET"]),
]
