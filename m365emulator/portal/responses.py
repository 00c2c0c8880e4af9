"""The app-registration portal (/portal/): the seed's Step 1 walk — New registration, Overview,
Certificates & secrets, API permissions — on plain HTML forms signed in with a directory user."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import uuid
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from m365emulator.control.identity import ControlError, create_app
from m365emulator.directory import (
    APPLICATION_PERMISSIONS,
    DELEGATED_PERMISSIONS,
    MULTI_TENANT,
    MULTI_TENANT_AND_PERSONAL,
    SINGLE_TENANT,
    AppRegistration,
    User,
    redirect_uri_problem,
)
from m365emulator.identity.pages import SESSION_COOKIE
from m365emulator.state import EmulatorState

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

EXPIRIES = [
    ("180", "Recommended: 180 days (6 months)"),
    ("90", "90 days (3 months)"),
    ("365", "365 days (12 months)"),
    ("545", "545 days (18 months)"),
    ("730", "730 days (24 months)"),
    ("custom", "Custom"),
]
GROUPS = [
    ("OpenId permissions", ("email", "offline_access", "openid", "profile")),
    (
        "Calendars",
        ("Calendars.Read", "Calendars.Read.Shared", "Calendars.ReadWrite", "Calendars.ReadWrite.Shared"),
    ),
    ("MailboxSettings", ("MailboxSettings.Read",)),
    ("User", ("User.Read", "User.ReadBasic.All", "User.Read.All")),
]


def _audiences(tenant_name: str) -> list[tuple[str, str]]:
    return [
        (
            SINGLE_TENANT,
            f"Accounts in this organizational directory only ({tenant_name} only - Single tenant)",
        ),
        (
            MULTI_TENANT,
            "Accounts in any organizational directory (Any Microsoft Entra ID tenant - Multitenant)",
        ),
        (
            MULTI_TENANT_AND_PERSONAL,
            "Accounts in any organizational directory (Any Microsoft Entra ID tenant - Multitenant) and personal "
            "Microsoft accounts (e.g. Skype, Xbox)",
        ),
    ]


def _state(request: Request) -> EmulatorState:
    return request.app.state.emulator


def _user(request: Request) -> User | None:
    directory = _state(request).directory
    session = directory.session(request.cookies.get(SESSION_COOKIE))
    return directory.users.get(session.user_oid) if session else None


def _csrf(request: Request) -> str:
    """Tied to the session: a form posted from another site cannot know it."""
    session_id = request.cookies.get(SESSION_COOKIE, "")
    return hashlib.sha256(f"portal-csrf/{session_id}".encode()).hexdigest()


def _render(request: Request, template: str, status: int = 200, **context) -> Response:
    context.setdefault("user", _user(request))
    context.setdefault("csrf", _csrf(request))
    return templates.TemplateResponse(
        request, template, context, status_code=status, headers={"Cache-Control": "no-store"}
    )


async def _form(request: Request) -> dict:
    try:
        form = await request.form()
    except Exception:  # noqa: BLE001 - a broken body is a bad request, never a crash
        return {}
    data: dict = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            data.setdefault(key, []).append(value)
    return data


def _one(form: dict, key: str) -> str:
    return (form.get(key) or [""])[0].strip()


def _checked_post(form: dict, request: Request) -> bool:
    return hmac.compare_digest(_one(form, "csrf"), _csrf(request))


def _app_for(request: Request, user: User) -> AppRegistration | None:
    """Only apps registered in the signed-in user's own directory."""
    app = _state(request).directory.app(request.path_params.get("client_id", ""))
    return app if app is not None and app.home_tenant_id == user.tenant_id else None


def _signin_redirect() -> Response:
    return RedirectResponse("/portal/signin", status_code=303)


def _signed_in(handler):
    """Pages for a signed-in directory user: handler(request, user)."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        user = _user(request)
        if user is None:
            return _signin_redirect()
        return await handler(request, user)

    return endpoint


def _app_page(handler):
    """Pages about one app of the user's own directory: handler(request, user, app)."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        user = _user(request)
        if user is None:
            return _signin_redirect()
        app = _app_for(request, user)
        if app is None:
            return _not_found(request)
        return await handler(request, user, app)

    return endpoint


def _not_found(request: Request) -> Response:
    return _render(
        request, "list.html", status=404, apps=[], errors=["The application was not found in this directory."]
    )


def _day(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%m/%d/%Y")


# --- sign in ------------------------------------------------------------------------------------------------
async def signin_page(request: Request) -> Response:
    return _render(request, "signin.html", user=None, login="")


async def signin(request: Request) -> Response:
    state, form = _state(request), await _form(request)
    login, password = _one(form, "login"), (form.get("passwd") or [""])[0]
    with state.lock:
        user = state.directory.user_by_login(login)
        ok = (
            user is not None
            and user.enabled
            and hmac.compare_digest(user.password.encode(), password.encode())
        )
        if not ok:
            errors = [
                "Your account or password is incorrect. If you don't remember your password, reset it now."
            ]
            return _render(request, "signin.html", status=200, user=None, login=login, errors=errors)
        session = state.directory.new_session(user.oid)
    response = RedirectResponse("/portal/", status_code=303)
    response.set_cookie(SESSION_COOKIE, session.id, httponly=True, secure=True, samesite="lax", path="/")
    return response


async def signout(request: Request) -> Response:
    form = await _form(request)
    if _checked_post(form, request):
        _state(request).directory.sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
    response = RedirectResponse("/portal/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- registrations ------------------------------------------------------------------------------------------
@_signed_in
async def app_list(request: Request, user: User) -> Response:
    apps = [
        {"client_id": a.client_id, "display_name": a.display_name, "created_on": _day(a.created)}
        for a in _state(request).directory.apps.values()
        if a.home_tenant_id == user.tenant_id
    ]
    return _render(request, "list.html", apps=sorted(apps, key=lambda a: a["display_name"].lower()))


@_signed_in
async def register_page(request: Request, user: User) -> Response:
    form = {"name": "", "sign_in_audience": SINGLE_TENANT, "redirect_uri": ""}
    return _render(request, "register.html", form=form, audiences=_audiences(_tenant_name(request, user)))


@_signed_in
async def register(request: Request, user: User) -> Response:
    form = await _form(request)
    state = _state(request)
    values = {k: _one(form, k) for k in ("name", "sign_in_audience", "redirect_uri", "platform")}
    errors = []
    if not _checked_post(form, request):
        errors.append("Your session has changed. Reload the page and try again.")
    if not values["name"]:
        errors.append("Name is required.")
    if values["redirect_uri"] and (problem := redirect_uri_problem(values["redirect_uri"])):
        errors.append(problem)
    if values["platform"] not in ("", "web"):
        errors.append("This emulator registers Web redirect URIs only; choose Web.")
    audiences = _audiences(_tenant_name(request, user))
    if values["sign_in_audience"] not in [a for a, _ in audiences]:
        errors.append("Select the supported account types.")
    if errors:
        return _render(request, "register.html", status=400, form=values, audiences=audiences, errors=errors)
    spec = {
        "tenant": user.tenant_id,
        "name": values["name"],
        "client_id": str(uuid.uuid4()),
        "sign_in_audience": values["sign_in_audience"],
        "redirect_uris": [values["redirect_uri"]] if values["redirect_uri"] else [],
    }
    with state.lock:
        try:
            created = create_app(state, spec)
        except ControlError as err:
            return _render(
                request, "register.html", status=400, form=values, audiences=audiences, errors=[err.message]
            )
        state.dirty = True
    return RedirectResponse(f"/portal/apps/{created['client_id']}?registered=1", status_code=303)


def _tenant_name(request: Request, user: User) -> str:
    tenant = _state(request).directory.tenants.get(user.tenant_id)
    return tenant.display_name if tenant else "this directory"


@_app_page
async def overview(request: Request, user: User, app: AppRegistration) -> Response:
    label = dict(_audiences(_tenant_name(request, user)))[app.sign_in_audience]
    return _render(
        request, "overview.html", app=app, section="overview", audience_label=label,
        base=str(request.base_url).rstrip("/"), just_registered=request.query_params.get("registered") == "1",
    )  # fmt: skip


@_app_page
async def authentication(request: Request, user: User, app: AppRegistration) -> Response:
    errors = []
    if request.method == "POST":
        form = await _form(request)
        add, remove = _one(form, "add"), _one(form, "remove")
        if not _checked_post(form, request):
            errors.append("Your session has changed. Reload the page and try again.")
        elif add and (problem := redirect_uri_problem(add)):
            errors.append(problem)
        else:
            with _state(request).lock:
                if add and add not in app.redirect_uris:
                    app.redirect_uris.append(add)
                if remove in app.redirect_uris:
                    app.redirect_uris.remove(remove)
                _state(request).dirty = True
    return _render(
        request,
        "authentication.html",
        status=400 if errors else 200,
        app=app,
        section="authentication",
        errors=errors,
    )


# --- Certificates & secrets -----------------------------------------------------------------------------------
def _credentials_context(app: AppRegistration) -> dict:
    return {
        "secrets": [{"key_id": s.key_id, "description": s.description, "hint": s.hint, "expires": _day(s.expires)}
                    for s in app.secrets],
        "certificates": [{"thumbprint": c.thumbprint, "description": c.description, "expires": _day(c.expires)}
                         for c in app.certificates],
    }  # fmt: skip


@_app_page
async def credentials(request: Request, user: User, app: AppRegistration) -> Response:
    return _render(request, "credentials.html", app=app, section="credentials", **_credentials_context(app))


@_app_page
async def new_secret(request: Request, user: User, app: AppRegistration) -> Response:
    today = dt.date.today()
    values = {"description": "", "expires": "180", "start": today.isoformat(), "end": ""}
    if request.method == "GET":
        return _render(
            request, "new_secret.html", app=app, section="credentials", form=values, expiries=EXPIRIES
        )
    form = await _form(request)
    values.update({k: _one(form, k) for k in values if _one(form, k)})
    errors, expires = [], None
    if not _checked_post(form, request):
        errors.append("Your session has changed. Reload the page and try again.")
    elif values["expires"] == "custom":
        try:
            end = dt.date.fromisoformat(values["end"])
        except ValueError:
            errors.append("Enter an End date for a Custom expiry.")
        else:
            if end <= today:
                errors.append("The End date must be in the future.")
            elif (end - today).days > 730:
                errors.append("The End date must be at most 24 months from today.")
            expires = dt.datetime.combine(end, dt.time(), dt.UTC).timestamp()
    elif values["expires"] in dict(EXPIRIES):
        expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=int(values["expires"]))).timestamp()
    else:
        errors.append("Select when the secret expires.")
    if errors:
        return _render(request, "new_secret.html", status=400, app=app, section="credentials", form=values,
                       expiries=EXPIRIES, errors=errors)  # fmt: skip
    state = _state(request)
    with state.lock:
        secret, value = state.directory.add_secret(app, values["description"] or "Password uploaded", expires)
        state.dirty = True
    # The one time the value is shown: it is not stored, only its hash.
    return _render(request, "credentials.html", app=app, section="credentials",
                   new_secret={"key_id": secret.key_id, "value": value}, **_credentials_context(app))  # fmt: skip


@_app_page
async def add_certificate(request: Request, user: User, app: AppRegistration) -> Response:
    form = await _form(request)
    errors = []
    if not _checked_post(form, request):
        errors.append("Your session has changed. Reload the page and try again.")
    else:
        state = _state(request)
        try:
            with state.lock:
                state.directory.add_certificate(app, _one(form, "pem"), _one(form, "description"))
                state.dirty = True
        except ValueError:
            errors.append("The certificate could not be read. Upload a PEM certificate (public part only).")
    return _render(request, "credentials.html", status=400 if errors else 200, app=app, section="credentials",
                   errors=errors, **_credentials_context(app))  # fmt: skip


# --- API permissions ------------------------------------------------------------------------------------------
def _permission_rows(state: EmulatorState, app: AppRegistration, tenant_name: str) -> list[dict]:
    granted = state.directory.granted_scopes(app.home_tenant_id, app.client_id, None)
    roles = state.directory.granted_app_roles(app.home_tenant_id, app.client_id)
    rows = []
    for name in app.delegated_permissions:
        text, admin = DELEGATED_PERMISSIONS.get(name, (name, False))
        status = f"Granted for {tenant_name}" if name in granted else ""
        rows.append(
            {
                "name": name,
                "type": "Delegated",
                "text": text,
                "admin": "Yes" if admin else "No",
                "status": status,
            }
        )
    for name in app.application_permissions:
        status = f"Granted for {tenant_name}" if name in roles else f"Not granted for {tenant_name}"
        rows.append({"name": name, "type": "Application", "text": DELEGATED_PERMISSIONS.get(name, (name,))[0],
                     "admin": "Yes", "status": status})  # fmt: skip
    return rows


@_app_page
async def permissions(request: Request, user: User, app: AppRegistration) -> Response:
    return _permissions_page(request, user, app)


def _permissions_page(
    request: Request, user: User, app: AppRegistration, message: str = "", errors: list[str] | None = None
) -> Response:
    tenant_name = _tenant_name(request, user)
    return _render(
        request, "permissions.html", status=400 if errors else 200, app=app, section="permissions",
        rows=_permission_rows(_state(request), app, tenant_name), tenant_name=tenant_name,
        can_grant=user.is_admin, message=message, errors=errors or [],
    )  # fmt: skip


@_app_page
async def add_permission(request: Request, user: User, app: AppRegistration) -> Response:
    if request.method == "GET":
        kind = request.query_params.get("type", "")
        kind = kind if kind in ("delegated", "application") else ""
        have = app.delegated_permissions if kind == "delegated" else app.application_permissions
        allowed = DELEGATED_PERMISSIONS if kind == "delegated" else APPLICATION_PERMISSIONS
        groups = [
            (
                group,
                [
                    {"name": n, "text": DELEGATED_PERMISSIONS[n][0], "have": n in have}
                    for n in names
                    if n in allowed
                ],
            )
            for group, names in GROUPS
        ]
        groups = [(g, perms) for g, perms in groups if perms]
        return _render(request, "add_permission.html", app=app, section="permissions",
                       api=request.query_params.get("api") == "graph", kind=kind, groups=groups)  # fmt: skip
    form = await _form(request)
    if not _checked_post(form, request):
        return _permissions_page(
            request, user, app, errors=["Your session has changed. Reload the page and try again."]
        )
    kind = _one(form, "type")
    chosen = form.get("permission") or []
    allowed = DELEGATED_PERMISSIONS if kind == "delegated" else APPLICATION_PERMISSIONS
    unknown = [p for p in chosen if p not in allowed]
    if kind not in ("delegated", "application") or unknown:
        return _permissions_page(
            request, user, app, errors=[f"Unknown permission(s): {', '.join(unknown) or kind}."]
        )
    state = _state(request)
    with state.lock:
        target = app.delegated_permissions if kind == "delegated" else app.application_permissions
        target.extend(p for p in chosen if p not in target)
        state.dirty = True
    return RedirectResponse(f"/portal/apps/{app.client_id}/permissions", status_code=303)


@_app_page
async def grant_admin_consent(request: Request, user: User, app: AppRegistration) -> Response:
    form = await _form(request)
    if not _checked_post(form, request):
        return _permissions_page(
            request, user, app, errors=["Your session has changed. Reload the page and try again."]
        )
    if not user.is_admin:
        return _permissions_page(
            request, user, app, errors=["Only an administrator can grant admin consent."]
        )
    state = _state(request)
    with state.lock:
        state.directory.grant_admin_consent(app.home_tenant_id, app)
        state.dirty = True
    message = "Successfully granted admin consent for the requested permissions."
    return _permissions_page(request, user, app, message=message)
