"""Control API, identity part (/_emulator/...): seed tenants, users, apps, secrets and consents in one
call with deterministic ids; revoke grants; expire tokens now; reset; dump state. JSON in, JSON out;
bad input answers 400 with {"error": {"code", "message"}}, never a 500."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from m365emulator import tokens
from m365emulator.directory import (
    APPLICATION_PERMISSIONS,
    CONSUMERS_TENANT_ID,
    DELEGATED_PERMISSIONS,
    OIDC_SCOPES,
    REFRESH_INACTIVITY,
    SIGN_IN_AUDIENCES,
    SINGLE_TENANT,
    AppRegistration,
    Tenant,
    User,
    redirect_uri_problem,
    stable_id,
)
from m365emulator.state import EmulatorState

DEFAULT_SECRET_DAYS = 180  # the portal's recommended "180 days (6 months)"
MAX_SECRET_SECONDS = 100 * 365 * 86400


class ControlError(Exception):
    def __init__(self, message: str, status: int = 400, code: str = "BadRequest"):
        super().__init__(message)
        self.message, self.status, self.code = message, status, code


def error_response(err: ControlError) -> JSONResponse:
    return JSONResponse({"error": {"code": err.code, "message": err.message}}, status_code=err.status)


async def read_json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ControlError("The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ControlError("The body must be a JSON object.")
    return data


def _field(spec: dict, name: str, kind: type = str, default: Any = ..., required: bool = False) -> Any:
    if name not in spec or spec[name] is None:
        if required or default is ...:
            raise ControlError(f"'{name}' is required.")
        return default
    value = spec[name]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ControlError(f"'{name}' must be a {kind.__name__}.")
    return value


def _str_list(spec: dict, name: str) -> list[str]:
    value = spec.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ControlError(f"'{name}' must be a list of strings.")
    return value


def _expiry(spec: dict) -> float:
    """`expires` (ISO date-time), `expires_in_days` or `expires_in_seconds` (may be negative: already expired)."""
    if spec.get("expires") is not None:
        try:
            when = dt.datetime.fromisoformat(str(spec["expires"]).replace("Z", "+00:00"))
        except ValueError:
            raise ControlError("'expires' must be an ISO 8601 date-time.") from None
        when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
        if when.year > 2200:
            raise ControlError("A secret expires at most 100 years from now.")
        return when.timestamp()
    if spec.get("expires_in_seconds") is not None:
        seconds = _field(spec, "expires_in_seconds", float)
    else:
        seconds = _field(spec, "expires_in_days", float, DEFAULT_SECRET_DAYS) * 86400
    if not -MAX_SECRET_SECONDS <= seconds <= MAX_SECRET_SECONDS:  # also refuses NaN
        raise ControlError("A secret expires at most 100 years from now.")
    return time.time() + seconds


# --- operations (also used by `m365emulator serve --seed` and the test fixture) -------------------------
def find_tenant(state: EmulatorState, ref: str) -> Tenant:
    if ref.lower() == "consumers":
        return state.directory.tenants[CONSUMERS_TENANT_ID]
    tenant = state.directory.tenant_by_segment(ref)
    if tenant is None:
        raise ControlError(f"Tenant '{ref}' not found.", 404, "NotFound")
    return tenant


def find_user(state: EmulatorState, ref: str) -> User:
    user = state.directory.users.get(ref) or state.directory.user_by_login(ref)
    if user is None:
        raise ControlError(f"User '{ref}' not found.", 404, "NotFound")
    return user


def find_app(state: EmulatorState, client_id: str) -> AppRegistration:
    app = state.directory.app(client_id)
    if app is None:
        raise ControlError(f"Application '{client_id}' not found.", 404, "NotFound")
    return app


def create_tenant(state: EmulatorState, spec: dict) -> dict:
    domain = _field(spec, "domain", str, required=True).lower()
    tenant_id = _field(spec, "id", str, None) or stable_id("tenant", domain)
    tenant = state.directory.add_tenant(
        tenant_id, domain, _field(spec, "display_name", str, domain.split(".")[0].title()),
        _field(spec, "users_may_consent", bool, True),
    )  # fmt: skip
    out = {"id": tenant.id, "domain": tenant.domain, "users": []}
    for user_spec in spec.get("users") or []:
        out["users"].append(create_user(state, {**_obj(user_spec, "users[]"), "tenant": tenant.id}))
    return out


def create_user(state: EmulatorState, spec: dict) -> dict:
    tenant = find_tenant(state, _field(spec, "tenant", str, "consumers"))
    personal = tenant.id == CONSUMERS_TENANT_ID
    upn = _field(spec, "upn", str, None) or _field(spec, "mail", str, required=True)
    if "@" not in upn:
        raise ControlError("'upn' must look like name@domain.")
    user = User(
        oid=_field(spec, "oid", str, None) or stable_id("user", upn),
        tenant_id=tenant.id,
        user_principal_name=upn,
        mail=_field(spec, "mail", str, upn),
        display_name=_field(spec, "display_name", str, upn.split("@")[0].replace(".", " ").title()),
        password=_field(spec, "password", str, "Passw0rd!"),
        time_zone=_field(spec, "time_zone", str, "UTC"),
        is_personal=personal,
        enabled=_field(spec, "enabled", bool, True),
        is_admin=_field(spec, "is_admin", bool, False) and not personal,
    )
    state.directory.add_user(user)
    state.graph.ensure_mailbox(user)
    return {
        "oid": user.oid,
        "upn": user.user_principal_name,
        "tenant_id": user.tenant_id,
        "password": user.password,
    }


def create_app(state: EmulatorState, spec: dict) -> dict:
    tenant = find_tenant(state, _field(spec, "tenant", str, required=True))
    name = _field(spec, "name", str, required=True)
    audience = _field(spec, "sign_in_audience", str, SINGLE_TENANT)
    if audience not in SIGN_IN_AUDIENCES:
        raise ControlError(f"'sign_in_audience' must be one of {', '.join(SIGN_IN_AUDIENCES)}.")
    redirect_uris = _str_list(spec, "redirect_uris")
    for uri in redirect_uris:
        if problem := redirect_uri_problem(uri):
            raise ControlError(f"{uri}: {problem}")
    delegated = _str_list(spec, "delegated_permissions") or ["User.Read"]
    unknown = [p for p in delegated if p not in DELEGATED_PERMISSIONS]
    unknown += [p for p in _str_list(spec, "application_permissions") if p not in APPLICATION_PERMISSIONS]
    if unknown:
        raise ControlError(f"Unknown permission(s): {', '.join(unknown)}.")
    client_id = (_field(spec, "client_id", str, None) or stable_id("app", tenant.id, name)).lower()
    app = state.directory.add_app(
        AppRegistration(
            client_id=client_id,
            object_id=stable_id("app-object", client_id),
            display_name=name,
            home_tenant_id=tenant.id,
            sign_in_audience=audience,
            redirect_uris=redirect_uris,
            delegated_permissions=delegated,
            application_permissions=_str_list(spec, "application_permissions"),
        )
    )
    out: dict[str, Any] = {"client_id": app.client_id, "tenant_id": tenant.id, "secrets": [], "consents": []}
    for secret_spec in spec.get("secrets") or []:
        out["secrets"].append(add_secret(state, app.client_id, _obj(secret_spec, "secrets[]")))
    for consent_spec in spec.get("consents") or []:
        out["consents"].append(
            add_consent(state, {**_obj(consent_spec, "consents[]"), "client_id": app.client_id})
        )
    return out


def add_secret(state: EmulatorState, client_id: str, spec: dict) -> dict:
    app = find_app(state, client_id)
    description = _field(spec, "description", str, "secret")
    key_id = _field(spec, "key_id", str, None) or stable_id(
        "secret", app.client_id, description, str(len(app.secrets))
    )
    secret, value = state.directory.add_secret(
        app, description, _expiry(spec), value=_field(spec, "value", str, None), key_id=key_id
    )
    return {"key_id": secret.key_id, "value": value, "hint": secret.hint, "expires": _iso(secret.expires)}


def add_consent(state: EmulatorState, spec: dict) -> dict:
    app = find_app(state, _field(spec, "client_id", str, required=True))
    user_ref = _field(spec, "user", str, None)
    user = find_user(state, user_ref) if user_ref else None
    if user is not None:
        tenant_id = CONSUMERS_TENANT_ID if user.is_personal else user.tenant_id
    else:
        tenant_id = find_tenant(state, _field(spec, "tenant", str, app.home_tenant_id)).id
    scopes = _str_list(spec, "scopes") or app.admin_consent_scopes()
    unknown = [s for s in scopes if s not in DELEGATED_PERMISSIONS]
    if unknown:
        raise ControlError(f"Unknown scope(s): {', '.join(unknown)}.")
    roles = _str_list(spec, "app_roles") if user is None else []
    consent = state.directory.grant_consent(
        tenant_id, app.client_id, scopes, user.oid if user else None, roles
    )
    return {"tenant_id": consent.tenant_id, "client_id": consent.client_id, "user_oid": consent.user_oid,
            "scopes": consent.scopes, "app_roles": consent.app_roles}  # fmt: skip


def apply_seed(state: EmulatorState, spec: dict) -> dict:
    """The one-call world: {"tenants": [...with "users"], "personal_users": [...], "apps": [...]}."""
    with state.lock:
        out: dict[str, list] = {"tenants": [], "personal_users": [], "apps": []}
        for t in _list(spec, "tenants"):
            out["tenants"].append(create_tenant(state, t))
        for u in _list(spec, "personal_users"):
            out["personal_users"].append(create_user(state, {**u, "tenant": "consumers"}))
        for a in _list(spec, "apps"):
            out["apps"].append(create_app(state, a))
        state.dirty = True
        return out


def _list(spec: dict, name: str) -> list[dict]:
    value = spec.get(name) or []
    if not isinstance(value, list):
        raise ControlError(f"'{name}' must be a list.")
    return [_obj(v, f"{name}[]") for v in value]


def _obj(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise ControlError(f"'{where}' must be an object.")
    return value


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- HTTP handlers -------------------------------------------------------------------------------------------
def _handler(fn):
    """Wraps an operation(state, request, body) -> (status, json): locking and the error shape."""

    async def endpoint(request: Request) -> Response:
        state: EmulatorState = request.app.state.emulator
        try:
            body = await read_json(request) if request.method in ("POST", "PATCH", "PUT") else {}
            with state.lock:
                status, payload = fn(state, request, body)
                if request.method != "GET":
                    state.dirty = True
        except ControlError as err:
            return error_response(err)
        return JSONResponse(payload, status_code=status)

    return endpoint


def _seed(state, request, body):
    return 201, apply_seed(state, body)


def _reset(state, request, body):
    state.reset()
    return 200, {"reset": True}


def _dump(state, request, body):
    return 200, state.dump()


def _save(state, request, body):
    if not state.state_dir:
        raise ControlError("The emulator runs without a state dir.", 409, "Conflict")
    state.save_to_disk()
    return 200, {"saved": str(state.state_dir)}


def _tenants(state, request, body):
    return 201, create_tenant(state, body)


def _tenant_policy(state, request, body):
    tenant = find_tenant(state, request.path_params["tenant"])
    tenant.users_may_consent = _field(body, "users_may_consent", bool, tenant.users_may_consent)
    if "display_name" in body:
        tenant.display_name = _field(body, "display_name", str)
    return 200, {"id": tenant.id, "domain": tenant.domain, "users_may_consent": tenant.users_may_consent}


def _users(state, request, body):
    return 201, create_user(state, body)


def _password(state, request, body):
    user = find_user(state, request.path_params["user"])
    state.directory.set_password(user.oid, _field(body, "password", str, required=True))
    return 200, {"oid": user.oid, "tokens_valid_from": _iso(user.tokens_valid_from)}


def _revoke_sessions(state, request, body):
    user = find_user(state, request.path_params["user"])
    state.directory.revoke_user_sessions(user.oid)
    return 200, {"oid": user.oid, "tokens_valid_from": _iso(user.tokens_valid_from)}


def _apps(state, request, body):
    return 201, create_app(state, body)


def _app_get(state, request, body):
    app = find_app(state, request.path_params["client_id"])
    data = {k: v for k, v in app.__dict__.items() if k not in ("secrets", "certificates")}
    data["secrets"] = [{"key_id": s.key_id, "description": s.description, "hint": s.hint,
                        "expires": _iso(s.expires)} for s in app.secrets]  # fmt: skip
    data["certificates"] = [{"key_id": c.key_id, "thumbprint": c.thumbprint, "description": c.description,
                             "expires": _iso(c.expires)} for c in app.certificates]  # fmt: skip
    return 200, data


def _secrets(state, request, body):
    return 201, add_secret(state, request.path_params["client_id"], body)


def _expire_secret(state, request, body):
    app = find_app(state, request.path_params["client_id"])
    for secret in app.secrets:
        if secret.key_id == request.path_params["key_id"]:
            secret.expires = time.time() - 1
            return 200, {"key_id": secret.key_id, "expires": _iso(secret.expires)}
    raise ControlError("No such secret.", 404, "NotFound")


def _certificates(state, request, body):
    app = find_app(state, request.path_params["client_id"])
    try:
        cred = state.directory.add_certificate(
            app, _field(body, "pem", str, required=True), _field(body, "description", str, "")
        )
    except ValueError as exc:
        raise ControlError(f"'pem' is not a PEM certificate: {exc}") from None
    return 201, {"key_id": cred.key_id, "thumbprint": cred.thumbprint, "expires": _iso(cred.expires)}


def _consents(state, request, body):
    return 201, add_consent(state, body)


def _revoke(state, request, body):
    """A user removing the app ("user") or an admin removing it from a tenant ("tenant")."""
    app = find_app(state, _field(body, "client_id", str, required=True))
    user_ref, tenant_ref = _field(body, "user", str, None), _field(body, "tenant", str, None)
    user = find_user(state, user_ref) if user_ref else None
    tenant = find_tenant(state, tenant_ref) if tenant_ref else None
    if user is None and tenant is None:
        raise ControlError("Give 'user' (a user removes the app) or 'tenant' (an admin removes it).")
    tenant_id = tenant.id if tenant else (CONSUMERS_TENANT_ID if user.is_personal else user.tenant_id)
    # With no user, every user's consent and refresh token in the tenant goes too (an admin's removal).
    count = state.directory.revoke(app.client_id, tenant_id, user.oid if user else None)
    return 200, {"revoked_refresh_tokens": count}


def _expire_tokens(state, request, body):
    """{"access_token": raw} | {"refresh_token": raw} | {"user": oid-or-upn} (every access token so far)."""
    done: dict[str, Any] = {}
    if body.get("access_token"):
        try:
            tokens.expire_access_token(state, raw=_field(body, "access_token", str))
        except tokens.TokenError as exc:
            raise ControlError(exc.message) from None
        done["access_token"] = "expired"
    if body.get("refresh_token"):
        grant = state.directory.refresh_grants.get(_field(body, "refresh_token", str))
        if grant is None:
            raise ControlError("Unknown refresh token.", 404, "NotFound")
        grant.last_used = time.time() - REFRESH_INACTIVITY - 1
        done["refresh_token"] = "expired"
    if body.get("user"):
        user = find_user(state, _field(body, "user", str))
        tokens.expire_access_token(state, oid=user.oid)
        if body.get("refresh_tokens"):
            for g in state.directory.refresh_grants.values():
                if g.user_oid == user.oid:
                    g.last_used = time.time() - REFRESH_INACTIVITY - 1
        done["user"] = user.oid
    if not done:
        raise ControlError("Give 'access_token', 'refresh_token' or 'user'.")
    return 200, done


def _issue_token(state, request, body):
    """A Graph access token without the browser dance, for demos and benchmarks run out of process:
    {"user", "client_id", "scopes"} for a delegated token, or {"client_id", "tenant", "roles"} for an app."""
    app = find_app(state, _field(body, "client_id", str, required=True))
    if body.get("user"):
        user = find_user(state, _field(body, "user", str))
        scopes = _str_list(body, "scopes") or [p for p in app.delegated_permissions if p not in OIDC_SCOPES]
        raw, exp = tokens.issue_access_token(
            state, client_id=app.client_id, app_name=app.display_name, tenant_id=user.tenant_id,
            scopes=scopes, user=user,
        )  # fmt: skip
    else:
        tenant = find_tenant(state, _field(body, "tenant", str, app.home_tenant_id))
        raw, exp = tokens.issue_access_token(
            state, client_id=app.client_id, app_name=app.display_name, tenant_id=tenant.id, scopes=[],
            roles=_str_list(body, "roles") or list(app.application_permissions),
        )  # fmt: skip
    return 201, {"access_token": raw, "token_type": "Bearer", "expires_on": exp}


def _settings(state, request, body):
    """{"propagation_delay_seconds": n}: new apps answer AADSTS700016 and new secrets AADSTS7000215 for n s."""
    if request.method == "PATCH":
        delay = _field(body, "propagation_delay_seconds", float, state.directory.propagation_delay)
        if not 0 <= delay <= 3600:
            raise ControlError("'propagation_delay_seconds' must be between 0 and 3600.")
        state.directory.propagation_delay = delay
    return 200, {"propagation_delay_seconds": state.directory.propagation_delay}


routes = [
    Route("/seed", _handler(_seed), methods=["POST"]),
    Route("/reset", _handler(_reset), methods=["POST"]),
    Route("/state", _handler(_dump), methods=["GET"]),
    Route("/save", _handler(_save), methods=["POST"]),
    Route("/tenants", _handler(_tenants), methods=["POST"]),
    Route("/tenants/{tenant}", _handler(_tenant_policy), methods=["PATCH"]),
    Route("/users", _handler(_users), methods=["POST"]),
    Route("/users/{user}/password", _handler(_password), methods=["POST"]),
    Route("/users/{user}/revokeSessions", _handler(_revoke_sessions), methods=["POST"]),
    Route("/apps", _handler(_apps), methods=["POST"]),
    Route("/apps/{client_id}", _handler(_app_get), methods=["GET"]),
    Route("/apps/{client_id}/secrets", _handler(_secrets), methods=["POST"]),
    Route("/apps/{client_id}/secrets/{key_id}/expire", _handler(_expire_secret), methods=["POST"]),
    Route("/apps/{client_id}/certificates", _handler(_certificates), methods=["POST"]),
    Route("/consents", _handler(_consents), methods=["POST"]),
    Route("/revoke", _handler(_revoke), methods=["POST"]),
    Route("/identity/settings", _handler(_settings), methods=["GET", "PATCH"]),
    Route("/tokens", _handler(_issue_token), methods=["POST"]),
    Route("/tokens/expire", _handler(_expire_tokens), methods=["POST"]),
]
