"""The browser side of the identity platform: /authorize, the login and consent pages, "Need admin
approval", /adminconsent and /logout. Errors about the client or redirect URI stay on Microsoft's error
page; every other error goes back to the app's redirect URI."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from m365emulator.directory import DELEGATED_PERMISSIONS, AppRegistration, User
from m365emulator.identity import exceptions as aad
from m365emulator.identity.models import (
    check_account,
    consent_tenant,
    find_app,
    missing_consent,
    parse_scopes,
    resolve_authority,
    user_may_consent,
)
from m365emulator.identity.responses import correlation_id, emulator
from m365emulator.state import EmulatorState, note_request

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
SESSION_COOKIE = "ESTSAUTH"
FLOW_LIFETIME = 3600
RESPONSE_MODES = ("query", "fragment", "form_post")
PROMPTS = ("login", "none", "consent", "select_account")


def error_page(request: Request, err: aad.AadError) -> HTMLResponse:
    context = {"err": err, "correlation_id": correlation_id(request)}
    return templates.TemplateResponse(request, "error.html", context, status_code=400)


class RedirectError(Exception):
    """An error that goes back to the app's redirect URI (the client and redirect URI were valid)."""

    def __init__(self, flow: dict, err: aad.AadError):
        super().__init__(err.message)
        self.flow, self.err = flow, err


def redirect_to_app(request: Request, flow: dict, params: dict[str, str]) -> Response:
    if flow.get("state") is not None:
        params["state"] = flow["state"]
    uri = flow["redirect_uri"]
    mode = flow.get("response_mode") or "query"
    if mode == "form_post":
        context = {"redirect_uri": uri, "params": list(params.items())}
        return templates.TemplateResponse(request, "form_post.html", context)
    sep = "#" if mode == "fragment" else ("&" if "?" in uri else "?")
    return RedirectResponse(uri + sep + urlencode(params), status_code=302)


def redirect_error(request: Request, flow: dict, err: aad.AadError) -> Response:
    params = {"error": err.error, "error_description": err.description(correlation_id(request))}
    if err.subcode:
        params["error_subcode"] = err.subcode
    return redirect_to_app(request, flow, params)


async def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    if request.method == "POST":
        try:
            form = await request.form()
        except Exception:  # noqa: BLE001 - an unparseable body is a malformed request, not a crash
            raise aad.malformed_request() from None
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


def _validate_client(state: EmulatorState, tenant_segment: str, params: dict[str, str]) -> tuple:
    """Checks that may only end on the error page: tenant, client and redirect URI."""
    authority = resolve_authority(state.directory, tenant_segment)
    if not params.get("client_id"):
        raise aad.missing_parameter("client_id")
    app = find_app(state.directory, params["client_id"], authority)
    redirect_uri = params.get("redirect_uri") or ""
    if not redirect_uri:
        if len(app.redirect_uris) != 1:
            raise aad.missing_parameter("redirect_uri")
        redirect_uri = app.redirect_uris[0]
    if redirect_uri not in app.redirect_uris:
        raise aad.redirect_mismatch(redirect_uri, app.client_id)
    return authority, app, redirect_uri


# --- /authorize and /adminconsent ------------------------------------------------------------------------
async def authorize(request: Request) -> Response:
    return await _begin(request, "authorize", _fill_authorize_flow)


async def adminconsent(request: Request) -> Response:
    return await _begin(request, "adminconsent", _fill_adminconsent_flow)


async def _begin(request: Request, kind: str, fill) -> Response:
    """Validate the client (errors stay on the error page), then fill in the flow (its errors go back to the
    app) and go on to the login step."""
    state = emulator(request)
    try:
        params = await _params(request)
        with state.lock:
            _authority, app, redirect_uri = _validate_client(state, request.path_params["tenant"], params)
            note_request(request.scope, client_id=app.client_id)
            flow = {
                "kind": kind,
                "tenant": request.path_params["tenant"],
                "client_id": app.client_id,
                "redirect_uri": redirect_uri,
                "state": params.get("state"),
                "response_mode": "query",
                "created": time.time(),
                "v2": "/v2.0/"
                in request.url.path,  # /{tenant}/v2.0/adminconsent answers declines differently
            }
            fill(flow, params, app)
            return _start(request, state, flow)
    except aad.AadError as err:
        return error_page(request, err)
    except RedirectError as exc:
        return redirect_error(request, exc.flow, exc.err)


def _fill_adminconsent_flow(flow: dict, params: dict[str, str], app: AppRegistration) -> None:
    flow["prompt"] = "select_account"  # Microsoft always asks which admin account to use
    flow["login_hint"] = params.get("login_hint", "")


def _fill_authorize_flow(flow: dict, params: dict[str, str], app: AppRegistration) -> None:
    mode = params.get("response_mode", "query")
    if mode not in RESPONSE_MODES:
        raise RedirectError(flow, aad.malformed_request(f"response_mode '{mode}' is not supported."))
    flow["response_mode"] = mode
    response_type = params.get("response_type", "")
    if response_type != "code":
        raise RedirectError(flow, aad.unsupported_response_type(response_type))
    if not params.get("scope", "").strip():
        raise RedirectError(flow, aad.missing_parameter("scope"))
    try:
        scopes = parse_scopes(params["scope"], app)
    except aad.AadError as err:
        raise RedirectError(flow, err) from None
    method = params.get("code_challenge_method")
    if params.get("code_challenge") and (method or "plain") not in ("S256", "plain"):
        raise RedirectError(
            flow, aad.malformed_request(f"code_challenge_method '{method}' is not supported.")
        )
    prompt = params.get("prompt")
    if prompt and prompt not in PROMPTS:
        raise RedirectError(flow, aad.malformed_request(f"prompt '{prompt}' is not supported."))
    flow.update(
        scopes=scopes.all,
        nonce=params.get("nonce"),
        code_challenge=params.get("code_challenge") or None,
        code_challenge_method=(method or "plain") if params.get("code_challenge") else None,
        prompt=prompt,
        login_hint=params.get("login_hint", ""),
    )


def _start(request: Request, state: EmulatorState, flow: dict) -> Response:
    """Reuse the browser's session unless the app forces a fresh sign-in; else show the login page."""
    directory = state.directory
    ctx = secrets.token_urlsafe(24)
    directory.flows = {k: f for k, f in directory.flows.items() if time.time() - f["created"] < FLOW_LIFETIME}
    directory.flows[ctx] = flow
    session = directory.session(request.cookies.get(SESSION_COOKIE))
    hint = (flow.get("login_hint") or "").lower()
    user = directory.users.get(session.user_oid) if session else None
    if user is not None and not user.enabled:
        user = None
    if user is not None and hint and hint not in (user.user_principal_name.lower(), user.mail.lower()):
        user = None
    if flow.get("prompt") == "none":
        if user is None:
            raise RedirectError(flow, aad.login_required())
        return _after_login(request, state, ctx, user, session.auth_time)
    if user is not None and flow.get("prompt") not in ("login", "select_account"):
        return _after_login(request, state, ctx, user, session.auth_time)
    return _login_page(request, ctx, flow, state)


def _login_page(request, ctx: str, flow: dict, state, error: str = "", code: int = 0, login="") -> Response:
    app = state.directory.app(flow["client_id"])
    context = {
        "ctx": ctx,
        "action": f"/{flow['tenant']}/login",
        "login_hint": login or flow.get("login_hint", ""),
        "app_name": app.display_name if app else "",
        "error": error,
        "code": code,
    }
    return templates.TemplateResponse(request, "login.html", context, headers={"Cache-Control": "no-store"})


async def login(request: Request) -> Response:
    """POST /{tenant}/login: the username/password form (wrong password: AADSTS50126 on the page)."""
    state = emulator(request)
    try:
        form = await _params(request)
    except aad.AadError as err:
        return error_page(request, err)
    with state.lock:
        flow = state.directory.flows.get(form.get("ctx", ""))
        if flow is None:
            return error_page(
                request, aad.malformed_request("The sign-in request has expired or is unknown.")
            )
        ctx, login_name = form["ctx"], form.get("login", "").strip()
        user = state.directory.user_by_login(login_name)
        if user is None:
            msg = "This username may be incorrect. Make sure you typed it correctly. Otherwise, contact your admin."
            return _login_page(request, ctx, flow, state, msg, 50034, login_name)
        if not secrets.compare_digest(user.password.encode(), form.get("passwd", "").encode()):
            msg = "Your account or password is incorrect. If you don't remember your password, reset it now."
            return _login_page(request, ctx, flow, state, msg, 50126, login_name)
        if not user.enabled:
            msg = "Your account has been locked. Contact your support person to unlock it, then try again."
            return _login_page(request, ctx, flow, state, msg, 50057, login_name)
        session = state.directory.new_session(user.oid)
        try:
            response = _after_login(request, state, ctx, user, session.auth_time, forced_login=True)
        except aad.AadError as err:
            response = error_page(request, err)
        except RedirectError as exc:
            response = redirect_error(request, exc.flow, exc.err)
    response.set_cookie(SESSION_COOKIE, session.id, httponly=True, secure=True, samesite="none", path="/")
    return response


def _after_login(request, state: EmulatorState, ctx: str, user: User, auth_time: float, forced_login=False):
    directory = state.directory
    flow = directory.flows[ctx]
    flow["user_oid"], flow["auth_time"] = user.oid, auth_time
    authority = resolve_authority(directory, flow["tenant"])
    app = directory.app(flow["client_id"])
    if app is None:  # deleted while the user was signing in
        raise aad.app_not_found(flow["client_id"], authority.directory_name)
    if flow["kind"] == "adminconsent":
        return _admin_consent_step(request, state, ctx, flow, app, user)
    check_account(user, app, authority, directory)  # AADSTS50020: shown on the error page
    scopes = parse_scopes(" ".join(flow["scopes"]), app)
    missing = missing_consent(directory, app, user, scopes)
    if flow.get("prompt") == "consent":
        missing = scopes.all
    if not missing:
        return _issue_code(request, state, flow, user)
    if flow.get("prompt") == "none":
        raise RedirectError(flow, aad.interaction_required_consent(app.client_id, app.display_name))
    if not user_may_consent(directory, user, missing):
        return _page(request, "admin_approval.html", ctx, app, user, missing)
    return _page(request, "consent.html", ctx, app, user, scopes.all, offer_org_consent=user.is_admin)


def _page(
    request, template, ctx, app, user, scopes, admin_consent=False, offer_org_consent=False
) -> Response:
    seen: list[dict] = []
    for name in scopes:
        text = DELEGATED_PERMISSIONS.get(name, (name, False))[0]
        if name not in ("openid", "email") and not any(p["text"] == text for p in seen):
            seen.append({"name": name, "text": text})
    context = {
        "ctx": ctx,
        "action": "/common/Consent/Set",
        "app_name": app.display_name,
        "user_name": user.user_principal_name,
        "permissions": seen,
        "admin_consent": admin_consent,
        "offer_org_consent": offer_org_consent,
        "personal": user.is_personal,
    }
    return templates.TemplateResponse(request, template, context, headers={"Cache-Control": "no-store"})


def _issue_code(request, state: EmulatorState, flow: dict, user: User) -> Response:
    code = state.directory.new_code(
        client_id=flow["client_id"].lower(),
        redirect_uri=flow["redirect_uri"],
        user_oid=user.oid,
        tenant_id=user.tenant_id,
        scopes=flow["scopes"],
        nonce=flow.get("nonce"),
        code_challenge=flow.get("code_challenge"),
        code_challenge_method=flow.get("code_challenge_method"),
    )
    state.directory.flows = {k: f for k, f in state.directory.flows.items() if f is not flow}  # used up
    return redirect_to_app(request, flow, {"code": code.code, "session_state": secrets.token_hex(16)})


async def consent(request: Request) -> Response:
    """POST /common/Consent/Set: Accept, Cancel, or the "Need admin approval" page's two ways out."""
    state = emulator(request)
    try:
        form = await _params(request)
    except aad.AadError as err:
        return error_page(request, err)
    with state.lock:
        directory = state.directory
        ctx = form.get("ctx", "")
        flow = directory.flows.get(ctx)
        session = directory.session(request.cookies.get(SESSION_COOKIE))
        if flow is None or session is None or session.user_oid != flow.get("user_oid"):
            return error_page(
                request, aad.malformed_request("The consent request has expired or is unknown.")
            )
        user, app = directory.users[session.user_oid], directory.app(flow["client_id"])
        if app is None:
            return error_page(request, aad.app_not_found(flow["client_id"], flow["tenant"]))
        action = form.get("action")
        if action == "switch_account":
            flow["prompt"] = "login"
            return _login_page(request, ctx, flow, state)
        directory.flows.pop(ctx, None)
        if action == "return":
            # "Return to the application without granting consent" on "Need admin approval": Microsoft does not
            # document what the app receives; variants.admin_approval_return plays both plausible answers.
            if state.variants.admin_approval_return == "access_denied":
                return redirect_error(request, flow, aad.approval_return_declined())
            return redirect_error(
                request, flow, aad.interaction_required_consent(app.client_id, app.display_name)
            )
        if action != "accept":
            if flow["kind"] == "adminconsent":
                return _admin_declined(request, flow)
            return redirect_error(request, flow, aad.user_declined())
        if flow["kind"] == "adminconsent":
            directory.grant_admin_consent(user.tenant_id, app)
            return redirect_to_app(request, flow, {"admin_consent": "True", "tenant": user.tenant_id})
        for_org = form.get("consent_org") == "1" and user.is_admin
        directory.grant_consent(
            consent_tenant(user), app.client_id, flow["scopes"], None if for_org else user.oid
        )
        return _issue_code(request, state, flow, user)


def _admin_declined(request: Request, flow: dict) -> Response:
    """An admin declines on the admin-consent page. Documented answers (entra-docs): on /{tenant}/adminconsent
    `error=permission_denied&error_description=The admin canceled the request` (v2-permissions-and-consent.md,
    "Request the permissions from a directory admin"); on /{tenant}/v2.0/adminconsent
    `admin_consent=True&error=consent_required&error_description=AADSTS65004: …` (v2-admin-consent.md,
    "Error response"), so admin_consent=True alone is not a grant."""
    if flow.get("v2"):
        err = aad.AadError(
            65004, "consent_required", "The resource owner or authorization server denied the request."
        )
        params = {
            "admin_consent": "True",
            "error": err.error,
            "error_description": err.description(correlation_id(request)),
        }
        return redirect_to_app(request, flow, params)
    return redirect_to_app(
        request, flow, {"error": "permission_denied", "error_description": "The admin canceled the request"}
    )


def _admin_consent_step(
    request, state: EmulatorState, ctx, flow, app: AppRegistration, user: User
) -> Response:
    authority = resolve_authority(state.directory, flow["tenant"])
    if user.is_personal or (authority.kind == "tenant" and user.tenant_id != authority.tenant.id):
        idp = "live.com" if user.is_personal else f"https://sts.windows.net/{user.tenant_id}/"
        raise aad.user_not_in_tenant(
            user.user_principal_name, idp, authority.directory_name, app.client_id, app.display_name
        )
    if not user.is_admin:
        return _page(request, "admin_approval.html", ctx, app, user, app.admin_consent_scopes())
    perms = app.admin_consent_scopes() + [
        p for p in app.application_permissions if p not in app.delegated_permissions
    ]
    return _page(request, "consent.html", ctx, app, user, perms, admin_consent=True)


# --- /logout ----------------------------------------------------------------------------------------------
async def logout(request: Request) -> Response:
    state = emulator(request)
    try:
        params = await _params(request)
    except aad.AadError as err:
        return error_page(request, err)
    with state.lock:
        state.directory.sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
        target = params.get("post_logout_redirect_uri", "")
        # Only to a registered redirect URI: an open redirector would be a phishing aid.
        allowed = any(target in app.redirect_uris for app in state.directory.apps.values())
    if target and allowed:
        response: Response = RedirectResponse(target, status_code=302)
    else:
        response = templates.TemplateResponse(request, "signed_out.html", {})
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="none")
    return response
