"""The browser side of Google's authorization endpoint: /o/oauth2/v2/auth, the account chooser, the two-step
sign-in (email, then password), the consent page with one checkbox per sensitive scope, and the error page.
Errors about the client, the redirect URI, the scopes or who may use the app stay on Google's error page;
the user pressing Cancel, `prompt=none` failures go back to the app as `error=…&state=…`."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from googleemulator import PREFIX, keys
from googleemulator.html import E, hidden, page
from googleemulator.oauth import exceptions as oe
from googleemulator.oauth import models
from googleemulator.oauth.responses import gstate, issuer
from googleemulator.state import Account, GoogleState

SESSION_COOKIE = "SID"  # Google's own cookie name; never ShiftDesk's sessionid (same host in the demo)
PROMPTS = {"none", "consent", "select_account"}


def error_page(err: oe.PageError) -> HTMLResponse:
    details = f"<h2>Request details</h2><p><code>{E(err.details)}</code></p>" if err.details else ""
    body = (
        f"<h1>{E(err.headline)}</h1><p>{E(err.explanation)}</p>"
        f'<p class="error"><strong>Error {err.status}: {E(err.error)}</strong></p>{details}'
    )
    return HTMLResponse(page(f"Error {err.status}: {err.error}", body, narrow=True), status_code=err.status)


def _redirect(flow: dict, params: dict[str, str]) -> RedirectResponse:
    if flow.get("state") is not None:
        params["state"] = flow["state"]
    uri = flow["redirect_uri"]
    return RedirectResponse(uri + ("&" if "?" in uri else "?") + urlencode(params), status_code=302)


def _signed_in(request: Request, state: GoogleState) -> list[str]:
    return list(state.sessions.get(request.cookies.get(SESSION_COOKIE, ""), []))


async def authorize(request: Request) -> Response:
    state = gstate(request)
    q = dict(request.query_params)
    try:
        flow = _validate(state, q)
    except oe.PageError as err:
        return error_page(err)
    flow_id = secrets.token_urlsafe(24)
    with state.lock:
        state.flows[flow_id] = flow
    flow["id"] = flow_id
    return _next_step(request, state, flow)


def _validate(state: GoogleState, q: dict[str, str]) -> dict:
    if not q.get("client_id"):
        raise oe.page_invalid_request("Missing required parameter: client_id")
    client = state.clients.get(q["client_id"])
    if client is None:
        raise oe.page_invalid_client()
    app_name = state.project_of(client).consent.app_name or client.name
    if not q.get("redirect_uri"):
        raise oe.page_invalid_request("Missing required parameter: redirect_uri")
    if q["redirect_uri"] not in client.redirect_uris:
        raise oe.page_redirect_uri_mismatch(app_name, q["redirect_uri"])
    if not q.get("response_type"):
        raise oe.page_invalid_request("Required parameter is missing: response_type")
    if q["response_type"] != "code":
        raise oe.page_invalid_request(f"Invalid response_type: {q['response_type']}")
    if not q.get("scope"):
        raise oe.page_invalid_request("Missing required parameter: scope")
    scopes, unknown = models.normalize_scopes(q["scope"])
    if unknown:
        raise oe.page_invalid_scope(unknown)
    access_type = q.get("access_type", "online")
    if access_type not in ("online", "offline"):
        raise oe.page_invalid_request(f"Invalid access_type: {access_type}")
    prompt = set(q.get("prompt", "").split())
    if not prompt <= PROMPTS or ("none" in prompt and len(prompt) > 1):
        raise oe.page_invalid_request(f"Invalid prompt: {q.get('prompt')}")
    method = q.get("code_challenge_method")
    if q.get("code_challenge"):
        method = method or "plain"
        if method not in ("S256", "plain"):
            raise oe.page_invalid_request(f"Invalid code_challenge_method: {method}")
    elif method:
        raise oe.page_invalid_request("Missing required parameter: code_challenge")
    return {
        "client_id": client.client_id,
        "redirect_uri": q["redirect_uri"],
        "scopes": scopes,
        "state": q.get("state"),
        "offline": access_type == "offline",
        "prompt": sorted(prompt),
        "login_hint": (q.get("login_hint") or "").lower() or None,
        "nonce": q.get("nonce"),
        "code_challenge": q.get("code_challenge"),
        "code_challenge_method": method,
        "include_granted_scopes": q.get("include_granted_scopes") == "true",
        "email": None,
        "app_name": app_name,
        "created": state.now(),
    }


def _next_step(request: Request, state: GoogleState, flow: dict, cookie: str | None = None) -> Response:
    """Where the walk stands: choose/sign in an account, check it may use the app, consent, code."""
    signed_in = state.sessions.get(cookie, []) if cookie else _signed_in(request, state)
    prompt = set(flow["prompt"])
    if flow["email"] is None:
        hint = flow["login_hint"]
        if hint and hint in signed_in and "select_account" not in prompt:
            flow["email"] = hint
        elif "none" in prompt:
            if len(signed_in) == 1 and not hint:
                flow["email"] = signed_in[0]
            else:
                error = "login_required" if not signed_in else "interaction_required"
                return _redirect(flow, {"error": error})
        elif signed_in:
            return _with_cookie(HTMLResponse(_chooser(flow, signed_in)), cookie)
        else:
            return _with_cookie(HTMLResponse(_identifier_page(flow, email=hint or "")), cookie)
    account = state.account(flow["email"])
    client = state.clients[flow["client_id"]]
    consent_screen = state.project_of(client).consent
    if consent_screen.user_type == "internal" and account.hd != (consent_screen.org_domain or "").lower():
        return error_page(oe.page_org_internal(flow["app_name"]))
    if (
        consent_screen.user_type == "external"
        and consent_screen.publishing_status == "testing"
        and account.email not in [u.lower() for u in consent_screen.test_users]
    ):
        return error_page(oe.page_access_denied_testing(flow["app_name"]))
    granted = state.grants.get(models.grant_key(client.client_id, account.email), [])
    if "consent" in prompt or not set(flow["scopes"]) <= set(granted):
        if "none" in prompt:
            return _redirect(flow, {"error": "consent_required"})
        return _with_cookie(HTMLResponse(_consent_page(flow, account)), cookie)
    return _with_cookie(_finish(request, state, flow, flow["scopes"], consent_shown=False), cookie)


def _with_cookie(response: Response, cookie: str | None) -> Response:
    if cookie:
        response.set_cookie(SESSION_COOKIE, cookie, httponly=True, secure=True, samesite="lax", path=PREFIX)
    return response


def _form(action: str, flow: dict, inner: str, extra: dict | None = None) -> str:
    return f'<form method="post" action="{PREFIX}{action}">{hidden({"flow": flow["id"], **(extra or {})})}{inner}</form>'


def _chooser(flow: dict, emails: list[str]) -> str:
    items = "".join(
        f'<li><button type="submit" name="email" value="{E(e)}">{E(e)}</button></li>' for e in emails
    )
    items += '<li><button type="submit" name="email" value="">Use another account</button></li>'
    body = f"<h1>Choose an account</h1><p>to continue to {E(flow['app_name'])}</p>" + _form(
        "/signin/chooser", flow, f'<ul class="accounts" aria-label="Accounts">{items}</ul>'
    )
    return page("Sign in - Google Accounts", body, narrow=True)


def _identifier_page(flow: dict, error: str = "", email: str = "") -> str:
    err = f'<p class="error" id="email-error" role="alert">{E(error)}</p>' if error else ""
    described = ' aria-describedby="email-error"' if error else ""
    inner = (
        f'<label for="identifier">Email or phone</label>'
        f'<input type="email" id="identifier" name="identifier" value="{E(email)}" autocomplete="username" required{described}>'
        f'{err}<div class="actions"><button type="submit">Next</button></div>'
    )
    body = f"<h1>Sign in</h1><p>to continue to {E(flow['app_name'])}</p>" + _form(
        "/signin/identifier", flow, inner
    )
    return page("Sign in - Google Accounts", body, narrow=True)


def _password_page(flow: dict, email: str, error: str = "") -> str:
    err = f'<p class="error" id="password-error" role="alert">{E(error)}</p>' if error else ""
    described = ' aria-describedby="password-error"' if error else ""
    inner = (
        f'<label for="password">Enter your password</label>'
        f'<input type="password" id="password" name="Passwd" autocomplete="current-password" required{described}>'
        f'{err}<div class="actions"><button type="submit">Next</button></div>'
    )
    body = f"<h1>Welcome</h1><p>{E(email)}</p>" + _form(
        "/signin/challenge", flow, inner, {"identifier": email}
    )
    return page("Sign in - Google Accounts", body, narrow=True)


def _consent_page(flow: dict, account: Account) -> str:
    sensitive = [s for s in flow["scopes"] if s not in models.BASIC]
    basic = [s for s in flow["scopes"] if s in models.BASIC]
    boxes = "".join(
        f'<li class="choice"><input type="checkbox" id="scope-{i}" name="granted" value="{E(s)}">'
        f'<label for="scope-{i}">{E(models.SCOPES[s])}</label></li>'
        for i, s in enumerate(sensitive)
    )
    always = "".join(f"<li>{E(models.SCOPES[s])}</li>" for s in basic)
    select_all = (
        '<p class="choice"><input type="checkbox" id="select-all" '
        "onclick=\"document.querySelectorAll('input[name=granted]').forEach(function(c){c.checked=this.checked},this)\">"
        '<label for="select-all">Select all</label></p>'
        if len(sensitive) > 1
        else ""
    )
    inner = (
        (
            f'<h2 id="can">{E(flow["app_name"])} already has some access</h2><ul>{always}</ul>'
            if always
            else ""
        )
        + (
            f'<h2 id="wants">Select what {E(flow["app_name"])} can access</h2>{select_all}'
            f'<ul class="scopes" aria-labelledby="wants">{boxes}</ul>'
            if sensitive
            else ""
        )
        + '<p class="muted">Make sure you trust this app. You can see or remove access in your Google Account.</p>'
        '<div class="actions"><button type="submit" name="action" value="cancel" class="secondary">Cancel</button>'
        '<button type="submit" name="action" value="allow">Continue</button></div>'
    )
    body = (
        f"<h1>{E(flow['app_name'])} wants access to your Google Account</h1><p>{E(account.email)}</p>"
        + _form("/signin/oauth/consent", flow, inner)
    )
    return page("Sign in - Google Accounts", body, narrow=True)


async def _flow(request: Request) -> tuple[GoogleState, dict | None, dict]:
    state = gstate(request)
    form = dict(await request.form())
    form["granted"] = (await request.form()).getlist("granted")
    flow = state.flows.get(form.get("flow", ""))
    return state, flow, form


def _expired() -> HTMLResponse:
    body = "<h1>Something went wrong</h1><p>Sorry, this sign-in session has expired. Go back to the app and try again.</p>"
    return HTMLResponse(page("Sign in - Google Accounts", body, narrow=True), status_code=400)


async def chooser(request: Request) -> Response:
    state, flow, form = await _flow(request)
    if flow is None:
        return _expired()
    email = (form.get("email") or "").lower()
    if not email or email not in _signed_in(request, state):
        return HTMLResponse(_identifier_page(flow))
    flow["email"] = email
    return _next_step(request, state, flow)


async def identifier(request: Request) -> Response:
    state, flow, form = await _flow(request)
    if flow is None:
        return _expired()
    email = (form.get("identifier") or "").strip().lower()
    if state.account(email) is None:
        return HTMLResponse(_identifier_page(flow, "Couldn't find your Google Account", email))
    return HTMLResponse(_password_page(flow, email))


async def challenge(request: Request) -> Response:
    state, flow, form = await _flow(request)
    if flow is None:
        return _expired()
    email = (form.get("identifier") or "").strip().lower()
    account = state.account(email)
    if account is None:
        return HTMLResponse(_identifier_page(flow, "Couldn't find your Google Account", email))
    if form.get("Passwd") != account.password:
        return HTMLResponse(
            _password_page(flow, email, "Wrong password. Try again or click Forgot password to reset it.")
        )
    cookie = request.cookies.get(SESSION_COOKIE) or secrets.token_urlsafe(24)
    with state.lock:
        emails = state.sessions.setdefault(cookie, [])
        if email not in emails:
            emails.append(email)
    flow["email"] = email
    return _next_step(request, state, flow, cookie=cookie)


async def consent(request: Request) -> Response:
    state, flow, form = await _flow(request)
    if flow is None or flow["email"] is None:
        return _expired()
    if form.get("action") != "allow":
        state.flows.pop(flow["id"], None)
        return _redirect(flow, {"error": "access_denied"})
    chosen = set(form["granted"])
    granted = [s for s in flow["scopes"] if s in models.BASIC or s in chosen]
    return _finish(request, state, flow, granted, consent_shown=True)


def _finish(
    request: Request, state: GoogleState, flow: dict, granted: list[str], consent_shown: bool
) -> Response:
    with state.lock:
        key = models.grant_key(flow["client_id"], flow["email"])
        previous = state.grants.get(key, [])
        all_granted = list(dict.fromkeys(previous + granted))
        state.grants[key] = all_granted
        scopes = all_granted if flow["include_granted_scopes"] else granted
        code = keys.new_code()
        state.codes[code] = {
            "client_id": flow["client_id"],
            "redirect_uri": flow["redirect_uri"],
            "email": flow["email"],
            "scopes": scopes,
            "offline": flow["offline"] and consent_shown,
            "nonce": flow["nonce"],
            "code_challenge": flow["code_challenge"],
            "code_challenge_method": flow["code_challenge_method"],
            "expires": state.now() + models.CODE_LIFETIME,
            "used": False,
        }
        state.flows.pop(flow["id"], None)
        state.dirty = True
    return _redirect(
        flow,
        {
            "iss": issuer(request),
            "code": code,
            "scope": " ".join(scopes),
            "authuser": "0",
            "prompt": "consent" if consent_shown else "none",
        },
    )
