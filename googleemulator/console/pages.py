"""The Google Cloud console, the admin's side, at /google/console/: sign in, create a project, enable the
Google Calendar API, configure the OAuth consent screen (User type Internal/External, publishing status
Testing/In production, test users), create an OAuth client ID of type "Web application" with authorized
redirect URIs, and see the Client ID and Client secret with copy buttons (the secret in full only once, at
creation, as the console does now). Forms carry a token bound to the console session."""

from __future__ import annotations

import hmac
import re
import secrets
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from googleemulator import PREFIX
from googleemulator.control import ControlError, create_client, create_project
from googleemulator.html import COPY_SCRIPT, E, hidden, page
from googleemulator.oauth.responses import gstate
from googleemulator.state import GoogleState, Project

COOKIE = "GCONSOLE"
BASE = f"{PREFIX}/console"
URI_RE = re.compile(r"^https://[^\s/?#]+[^\s#]*$|^http://localhost(:\d+)?(/[^\s#]*)?$")


def _session(request: Request, state: GoogleState) -> tuple[str | None, str]:
    cookie = request.cookies.get(COOKIE, "")
    email = state.console_sessions.get(cookie)
    token = hmac.new(cookie.encode(), b"console-form", "sha256").hexdigest() if email else ""
    return email, token


def _shell(title: str, body: str, email: str | None, *, script: str = "") -> HTMLResponse:
    who = (
        f'<p class="muted">Signed in as {E(email)} · <a href="{BASE}/signout">Sign out</a></p>'
        if email
        else ""
    )
    return HTMLResponse(
        page(f"{title} – Google Cloud console", who + body, header="Google Cloud", script=script)
    )


def _form(action: str, token: str, inner: str) -> str:
    return f'<form method="post" action="{BASE}{action}">{hidden({"csrf": token})}{inner}</form>'


async def _checked(request: Request, state: GoogleState):
    """(email, form) for a POST from a signed-in console session with a valid form token, else None."""
    email, token = _session(request, state)
    form = await request.form()
    if not email or not hmac.compare_digest(form.get("csrf", ""), token):
        return None, form
    return email, form


def _project(state: GoogleState, email: str, project_id: str) -> Project | None:
    project = state.projects.get(project_id)
    return project if project is not None and project.owner == email else None


def _nav(project: Project, current: str) -> str:
    links = [("", "Dashboard"), ("/apis", "Enabled APIs & services"), ("/consent", "OAuth consent screen"),
             ("/credentials", "Credentials")]  # fmt: skip
    items = "".join(
        f'<li><a href="{BASE}/projects/{quote(project.project_id)}{path}"'
        + (' aria-current="page"' if path == current else "")
        + f">{E(label)}</a></li>"
        for path, label in links
    )
    return f'<nav aria-label="APIs &amp; Services"><ul>{items}</ul></nav>'


# --- sign in ----------------------------------------------------------------------------------------------------
async def signin(request: Request) -> Response:
    state = gstate(request)
    error = ""
    if request.method == "POST":
        form = await request.form()
        account = state.account(form.get("email", ""))
        if account is not None and form.get("password") == account.password:
            cookie = secrets.token_urlsafe(24)
            state.console_sessions[cookie] = account.email
            response = RedirectResponse(f"{BASE}/", status_code=303)
            response.set_cookie(COOKIE, cookie, httponly=True, secure=True, samesite="lax", path=BASE)
            return response
        error = '<p class="error" role="alert" id="signin-error">Wrong email or password.</p>'
    body = (
        "<h1>Sign in to Google Cloud</h1>"
        f'<form method="post" action="{BASE}/signin">'
        '<label for="email">Email</label><input type="email" id="email" name="email" autocomplete="username" required>'
        '<label for="password">Password</label>'
        '<input type="password" id="password" name="password" autocomplete="current-password" required>'
        f'{error}<div class="actions"><button type="submit">Sign in</button></div></form>'
    )
    return HTMLResponse(page("Sign in – Google Cloud console", body, header="Google Cloud", narrow=True))


async def signout(request: Request) -> Response:
    gstate(request).console_sessions.pop(request.cookies.get(COOKIE, ""), None)
    response = RedirectResponse(f"{BASE}/signin", status_code=303)
    response.delete_cookie(COOKIE, path=BASE)
    return response


def _need_signin() -> Response:
    return RedirectResponse(f"{BASE}/signin", status_code=303)


# --- projects ---------------------------------------------------------------------------------------------------
async def home(request: Request) -> Response:
    state = gstate(request)
    email, token = _session(request, state)
    if not email:
        return _need_signin()
    if request.method == "POST":
        email, form = await _checked(request, state)
        if not email:
            return _need_signin()
        name = (form.get("name") or "").strip()
        if not name:
            return _shell("Projects", _projects_body(state, email, token, "Enter a project name."), email)
        with state.lock:
            made = create_project(state, {"name": name, "owner": email, "calendar_api_enabled": False,
                                          "consent_screen": {"app_name": "", "support_email": email}})  # fmt: skip
        return RedirectResponse(f"{BASE}/projects/{quote(made['project_id'])}", status_code=303)
    return _shell("Projects", _projects_body(state, email, token), email)


def _projects_body(state: GoogleState, email: str, token: str, error: str = "") -> str:
    rows = "".join(
        f'<tr><td><a href="{BASE}/projects/{quote(p.project_id)}">{E(p.name)}</a></td><td>{E(p.project_id)}</td>'
        f"<td>{E(p.number)}</td></tr>"
        for p in state.projects.values()
        if p.owner == email
    )
    table = (
        f'<table><caption class="muted">Your projects</caption><thead><tr><th scope="col">Name</th>'
        f'<th scope="col">Project ID</th><th scope="col">Project number</th></tr></thead><tbody>{rows}</tbody></table>'
        if rows
        else "<p>You have no projects yet.</p>"
    )
    err = f'<p class="error" role="alert" id="name-error">{E(error)}</p>' if error else ""
    described = ' aria-describedby="name-error"' if error else ""
    create = _form(
        "/",
        token,
        '<h2>New project</h2><label for="name">Project name</label>'
        f'<input type="text" id="name" name="name" required{described}>'
        f'{err}<div class="actions"><button type="submit">Create</button></div>',
    )
    return f"<h1>Projects</h1>{table}{create}"


async def dashboard(request: Request) -> Response:
    state = gstate(request)
    email, _ = _session(request, state)
    if not email:
        return _need_signin()
    project = _project(state, email, request.path_params["project_id"])
    if project is None:
        return _shell("Not found", "<h1>Project not found</h1>", email)
    status = "Enabled" if project.calendar_api_enabled else "Not enabled"
    consent = project.consent
    body = (
        f"<h1>{E(project.name)}</h1>{_nav(project, '')}"
        f"<dl><dt>Project ID</dt><dd>{E(project.project_id)}</dd><dt>Project number</dt><dd>{E(project.number)}</dd>"
        f"<dt>Google Calendar API</dt><dd>{status}</dd><dt>User type</dt><dd>{consent.user_type.title()}</dd>"
        f"<dt>Publishing status</dt><dd>{_publishing(consent.publishing_status)}</dd></dl>"
    )
    return _shell(project.name, body, email)


def _publishing(status: str) -> str:
    return "In production" if status == "production" else "Testing"


async def apis(request: Request) -> Response:
    state = gstate(request)
    email, token = _session(request, state)
    if not email:
        return _need_signin()
    project = _project(state, email, request.path_params["project_id"])
    if project is None:
        return _shell("Not found", "<h1>Project not found</h1>", email)
    if request.method == "POST":
        email, form = await _checked(request, state)
        if not email:
            return _need_signin()
        project.calendar_api_enabled = form.get("action") == "enable"
        state.dirty = True
    enabled = project.calendar_api_enabled
    body = (
        f"<h1>Google Calendar API</h1>{_nav(project, '/apis')}"
        f'<p>Status: <strong class="{"ok" if enabled else "muted"}">{"Enabled" if enabled else "Not enabled"}</strong></p>'
        + _form(
            f"/projects/{quote(project.project_id)}/apis",
            token,
            f'<button type="submit" name="action" value="{"disable" if enabled else "enable"}">'
            f"{'Disable API' if enabled else 'Enable'}</button>",
        )
    )
    return _shell("Google Calendar API", body, email)


async def consent(request: Request) -> Response:
    state = gstate(request)
    email, token = _session(request, state)
    if not email:
        return _need_signin()
    project = _project(state, email, request.path_params["project_id"])
    if project is None:
        return _shell("Not found", "<h1>Project not found</h1>", email)
    screen = project.consent
    account = state.account(email)
    message = ""
    if request.method == "POST":
        email, form = await _checked(request, state)
        if not email:
            return _need_signin()
        action = form.get("action")
        if action == "save":
            user_type = form.get("user_type")
            if user_type == "internal" and not account.hd:
                message = "Internal is only available to Google Workspace users: choose External."
            elif user_type in ("internal", "external") and (form.get("app_name") or "").strip():
                screen.user_type = user_type
                screen.org_domain = account.hd if user_type == "internal" else screen.org_domain
                screen.app_name = form["app_name"].strip()
                screen.support_email = (form.get("support_email") or email).strip()
                message = "Saved."
            else:
                message = "Enter an app name and choose a user type."
        elif action == "publish":
            screen.publishing_status = "production"
            message = "Your app is in production."
        elif action == "testing":
            screen.publishing_status = "testing"
            message = "Your app is back in testing."
        elif action == "add_test_user":
            user = (form.get("test_user") or "").strip().lower()
            if user and user not in screen.test_users:
                screen.test_users.append(user)
        elif action and action.startswith("remove:"):
            screen.test_users = [u for u in screen.test_users if u != action[7:]]
        state.dirty = True

    def radio(value: str, label: str) -> str:
        checked = " checked" if screen.user_type == value else ""
        return (
            f'<p class="choice"><input type="radio" id="ut-{value}" name="user_type" value="{value}"{checked}>'
            f'<label for="ut-{value}">{label}</label></p>'
        )

    testers = "".join(
        f'<li>{E(u)} <button type="submit" class="secondary" name="action" value="remove:{E(u)}" '
        f'aria-label="Remove {E(u)}">Remove</button></li>'
        for u in screen.test_users
    )
    status_box = ""
    if screen.user_type == "external":
        if screen.publishing_status == "testing":
            status_box = (
                '<h2>Publishing status</h2><p>Testing</p><p class="muted">While the app is in Testing, only test '
                "users can authorize it, and their refresh tokens expire after 7 days.</p>"
                '<button type="submit" name="action" value="publish">Publish app</button>'
                f'<h2>Test users</h2><ul aria-label="Test users">{testers}</ul>'
                '<label for="test_user">Add users</label><input type="email" id="test_user" name="test_user">'
                '<div class="actions"><button type="submit" name="action" value="add_test_user" class="secondary">'
                "Add</button></div>"
            )
        else:
            status_box = (
                '<h2>Publishing status</h2><p>In production</p><p class="muted">Sensitive scopes such as Google '
                "Calendar need Google's verification before users outside your test list see no warning.</p>"
                '<button type="submit" name="action" value="testing" class="secondary">Back to testing</button>'
            )
    note = f'<p role="status">{E(message)}</p>' if message else ""
    inner = (
        "<fieldset><legend>User type</legend>"
        + radio("internal", "Internal — only users in your Google Workspace organization")
        + radio("external", "External — any Google Account")
        + "</fieldset>"
        f'<label for="app_name">App name</label><input type="text" id="app_name" name="app_name" value="{E(screen.app_name)}">'
        f'<label for="support_email">User support email</label>'
        f'<input type="email" id="support_email" name="support_email" value="{E(screen.support_email or email)}">'
        '<div class="actions"><button type="submit" name="action" value="save">Save</button></div>'
        + status_box
    )
    body = f"<h1>OAuth consent screen</h1>{_nav(project, '/consent')}{note}" + _form(
        f"/projects/{quote(project.project_id)}/consent", token, inner
    )
    return _shell("OAuth consent screen", body, email)


async def credentials(request: Request) -> Response:
    state = gstate(request)
    email, token = _session(request, state)
    if not email:
        return _need_signin()
    project = _project(state, email, request.path_params["project_id"])
    if project is None:
        return _shell("Not found", "<h1>Project not found</h1>", email)
    error = ""
    if request.method == "POST":
        email, form = await _checked(request, state)
        if not email:
            return _need_signin()
        uris = [u.strip() for u in (form.get("redirect_uris") or "").splitlines() if u.strip()]
        bad = [u for u in uris if not URI_RE.match(u)]
        name = (form.get("name") or "").strip() or "Web client 1"
        if form.get("application_type") != "web":
            error = "Choose an application type."
        elif bad:
            error = f"Invalid Redirect: {bad[0]} must use https:// (http:// only for localhost) and hold no fragment."
        else:
            with state.lock:
                try:
                    made = create_client(state, project, {"name": name, "redirect_uris": uris})
                except ControlError as exc:
                    error = str(exc)
                else:
                    state.dirty = True
                    return _created(project, made, email)
    rows = "".join(
        f'<tr><td>{E(c.name)}</td><td>Web application</td><td><code class="value" id="cid-{i}">{E(c.client_id)}</code>'
        f'<button type="button" class="copy secondary" data-target="cid-{i}" aria-label="Copy client ID for {E(c.name)}">'
        f"Copy</button></td><td>{'<br>'.join(E(u) for u in c.redirect_uris)}</td>"
        f"<td>****{E(c.client_secret[-4:])}</td></tr>"
        for i, c in enumerate(c for c in state.clients.values() if c.project_id == project.project_id)
    )
    table = (
        '<table><caption class="muted">OAuth 2.0 Client IDs</caption><thead><tr><th scope="col">Name</th>'
        '<th scope="col">Type</th><th scope="col">Client ID</th><th scope="col">Authorized redirect URIs</th>'
        f'<th scope="col">Client secret</th></tr></thead><tbody>{rows}</tbody></table>'
        if rows
        else "<p>No OAuth clients yet.</p>"
    )
    err = f'<p class="error" role="alert" id="create-error">{E(error)}</p>' if error else ""
    create = _form(
        f"/projects/{quote(project.project_id)}/credentials",
        token,
        "<h2>Create OAuth client ID</h2>"
        '<label for="application_type">Application type</label><select id="application_type" name="application_type">'
        '<option value="">Select…</option><option value="web" selected>Web application</option></select>'
        '<label for="client_name">Name</label><input type="text" id="client_name" name="name" value="Web client 1">'
        '<label for="redirect_uris">Authorized redirect URIs (one per line)</label>'
        '<textarea id="redirect_uris" name="redirect_uris" rows="3"></textarea>'
        f'{err}<div class="actions"><button type="submit">Create</button></div>',
    )
    body = f"<h1>Credentials</h1>{_nav(project, '/credentials')}{table}{create}"
    return _shell("Credentials", body, email, script=COPY_SCRIPT)


def _created(project: Project, made: dict, email: str) -> Response:
    body = (
        "<h1>OAuth client created</h1>"
        "<p>The client ID and secret can always be reached from Credentials in APIs &amp; Services. "
        "<strong>The client secret is shown only now:</strong> copy it and keep it safe.</p>"
        '<p><span id="client-id-label">Client ID</span><br><code class="value" id="client-id" aria-labelledby="client-id-label">'
        f'{E(made["client_id"])}</code><button type="button" class="copy secondary" data-target="client-id">Copy client ID</button></p>'
        '<p><span id="client-secret-label">Client secret</span><br><code class="value" id="client-secret" '
        f'aria-labelledby="client-secret-label">{E(made["client_secret"])}</code>'
        '<button type="button" class="copy secondary" data-target="client-secret">Copy client secret</button></p>'
        f'<p><a class="button" href="{BASE}/projects/{quote(project.project_id)}/credentials">OK</a></p>'
    )
    response = _shell("OAuth client created", body, email, script=COPY_SCRIPT)
    response.headers["Cache-Control"] = "no-store"
    return response
