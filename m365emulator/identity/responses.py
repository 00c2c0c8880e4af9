"""JSON endpoints of the identity platform: OIDC discovery, JWKS and /token (every grant type)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse

from m365emulator import tokens
from m365emulator.directory import (
    CONSUMERS_TENANT_ID,
    REFRESH_INACTIVITY,
    AppRegistration,
    Directory,
)
from m365emulator.identity import exceptions as aad
from m365emulator.identity.models import (
    Authority,
    Scopes,
    authenticate_client,
    basic_credentials,
    consent_tenant,
    find_app,
    parse_scopes,
    resolve_authority,
)
from m365emulator.state import EmulatorState, note_request

NO_STORE = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}


def emulator(request: Request) -> EmulatorState:
    return request.app.state.emulator


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def correlation_id(request: Request) -> str:
    """Microsoft echoes the client's `client-request-id` (MSAL sends one) as the correlation id."""
    value = request.headers.get("client-request-id", "")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return str(uuid.uuid4())


def error_json(request: Request, err: aad.AadError) -> JSONResponse:
    corr = correlation_id(request)
    headers = {**NO_STORE, "x-ms-request-id": err.trace_id, "client-request-id": corr}
    return JSONResponse(err.body(corr), status_code=err.status, headers=headers)


# --- discovery -----------------------------------------------------------------------------------------
async def openid_configuration(request: Request):
    state = emulator(request)
    segment = request.path_params["tenant"]
    try:
        authority = resolve_authority(state.directory, segment)
    except aad.AadError as err:
        return error_json(request, err)
    base = base_url(request)
    if authority.kind == "tenant":
        path_tenant = issuer_tenant = authority.tenant.id
    elif authority.kind == "consumers":
        path_tenant, issuer_tenant = "consumers", CONSUMERS_TENANT_ID
    else:
        path_tenant, issuer_tenant = authority.kind, "{tenantid}"
    root = f"{base}/{path_tenant}"
    body = {
        "token_endpoint": f"{root}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{root}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/{issuer_tenant}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
        "claims_supported": [
            "sub",
            "iss",
            "cloud_instance_name",
            "cloud_instance_host_name",
            "cloud_graph_host_name",
            "msgraph_host",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "acr",
            "nonce",
            "preferred_username",
            "name",
            "tid",
            "ver",
            "at_hash",
            "c_hash",
            "email",
        ],  # fmt: skip
        "kerberos_endpoint": f"{root}/kerberos",
        "tenant_region_scope": "EU" if authority.kind == "tenant" else None,
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }
    return JSONResponse(body)


async def keys(request: Request):
    state = emulator(request)
    try:
        resolve_authority(state.directory, request.path_params["tenant"])
    except aad.AadError as err:
        return error_json(request, err)
    return JSONResponse(tokens.jwks(state))


# --- token ---------------------------------------------------------------------------------------------
async def token(request: Request):
    state = emulator(request)
    form: dict[str, str] = {}
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        try:
            form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        except Exception:  # noqa: BLE001 - any unparseable body is Microsoft's "malformed request"
            return error_json(request, aad.malformed_request())
    try:
        with state.lock:
            body = _token(request, state, form)
    except aad.AadError as err:
        return error_json(request, err)
    return JSONResponse(body, headers={**NO_STORE, "client-request-id": correlation_id(request)})


def _token(request: Request, state: EmulatorState, form: dict[str, str]) -> dict:
    directory = state.directory
    authority = resolve_authority(directory, request.path_params["tenant"])
    grant_type = form.get("grant_type", "")
    if not grant_type:
        raise aad.missing_parameter("grant_type")
    basic = basic_credentials(request.headers.get("authorization"))
    client_id = form.get("client_id") or (basic[0] if basic else "")
    if not client_id:
        raise aad.missing_parameter("client_id")
    if basic and form.get("client_id") and basic[0].lower() != form["client_id"].lower():
        raise aad.malformed_request("The client_id in the body does not match the Authorization header.")
    if grant_type not in ("authorization_code", "refresh_token", "client_credentials"):
        raise aad.unsupported_grant_type(grant_type)
    app = find_app(directory, client_id, authority)
    note_request(request.scope, client_id=app.client_id)
    secret = form.get("client_secret") or (basic[1] if basic else None)
    if (
        grant_type == "client_credentials"
        and authority.kind != "tenant"
        and state.variants.multitenant_50059 == "before_secret_check"
    ):
        # Variant: Microsoft does not document whether the secret is checked before AADSTS50059; here it is
        # not, so a 50059 proves only that the Application ID exists.
        raise _no_tenant()
    authenticate_client(
        directory,
        app,
        secret,
        form.get("client_assertion_type"),
        form.get("client_assertion"),
        _token_urls(request, authority),
    )
    if grant_type == "authorization_code":
        return _authorization_code(request, state, app, authority, form)
    if grant_type == "refresh_token":
        return _refresh_token(request, state, app, authority, form)
    return _client_credentials(state, app, authority, form)


def _token_urls(request: Request, authority: Authority) -> list[str]:
    """Audiences a client assertion may name: this endpoint under the path's tenant or the tenant GUID."""
    base = base_url(request)
    names = {authority.segment}
    if authority.tenant:
        names |= {authority.tenant.id, authority.tenant.domain}
    return [f"{base}/{n}/oauth2/v2.0/token" for n in names] + [f"{base}/{n}/oauth2/token" for n in names]


def _authorization_code(
    request, state: EmulatorState, app: AppRegistration, authority: Authority, form
) -> dict:
    directory = state.directory
    for name in ("code", "redirect_uri"):
        if not form.get(name):
            raise aad.missing_parameter(name)
    if form["redirect_uri"] not in app.redirect_uris:
        raise aad.redirect_mismatch(form["redirect_uri"], app.client_id)
    code = directory.codes.get(form["code"])
    if code is None or code.client_id != app.client_id.lower():
        raise aad.grant_malformed()
    if authority.kind == "tenant" and authority.tenant.id != code.tenant_id:
        raise aad.grant_malformed()
    if code.redeemed:
        raise aad.code_redeemed()
    if code.expires <= time.time():
        raise aad.code_expired()
    if form["redirect_uri"] != code.redirect_uri:
        raise aad.reply_address_mismatch()
    if code.code_challenge and not _pkce_ok(
        code.code_challenge, code.code_challenge_method, form.get("code_verifier")
    ):
        raise aad.pkce_mismatch()
    code.redeemed = True  # single use, even when what follows fails
    user = directory.users.get(code.user_oid)
    if user is None:
        raise aad.grant_invalid()
    if not user.enabled:
        raise aad.user_disabled()
    scopes = Scopes.from_list(code.scopes)
    return _user_tokens(request, state, app, user, scopes, form, auth_time=time.time(), nonce=code.nonce)


def _pkce_ok(challenge: str, method: str | None, verifier: str | None) -> bool:
    if not verifier:
        return False
    if (method or "plain").upper() == "S256":
        computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    else:
        computed = verifier
    return hmac.compare_digest(computed, challenge)


def _refresh_token(request, state: EmulatorState, app: AppRegistration, authority: Authority, form) -> dict:
    directory = state.directory
    raw = form.get("refresh_token")
    if not raw:
        raise aad.missing_parameter("refresh_token")
    grant = directory.refresh_grants.get(raw)
    if grant is None or grant.client_id != app.client_id.lower():
        raise aad.grant_malformed()
    if authority.kind == "tenant" and authority.tenant.id != grant.tenant_id:
        raise aad.grant_malformed()
    user = directory.users.get(grant.user_oid)
    if grant.revoked or user is None:
        raise aad.grant_invalid()
    if user.tokens_valid_from > grant.issued_at:
        raise aad.grant_revoked(_fmt(grant.issued_at), _fmt(user.tokens_valid_from))
    if time.time() - grant.last_used > REFRESH_INACTIVITY:
        raise aad.refresh_inactive(_fmt(grant.issued_at))
    if not user.enabled:
        raise aad.user_disabled()
    requested = form.get("scope", "").strip()
    scopes = parse_scopes(requested, app) if requested else Scopes.from_list(grant.scopes)
    granted = directory.granted_scopes(consent_tenant(user), app.client_id.lower(), user.oid)
    if any(s not in granted for s in scopes.graph):
        raise aad.consent_required(app.client_id, app.display_name)
    grant.last_used = time.time()
    # A refresh token keeps its original scopes; a narrower access token may be asked for.
    keep = set(grant.scopes) | set(scopes.all)
    return _user_tokens(
        request, state, app, user, scopes, form, auth_time=grant.issued_at, nonce=None, keep=keep
    )


def _user_tokens(request, state, app, user, scopes: Scopes, form, *, auth_time, nonce, keep=None) -> dict:
    graph_scopes = list(scopes.graph) or [s for s in scopes.oidc if s != "offline_access"]
    access, _exp = tokens.issue_access_token(
        state,
        client_id=app.client_id,
        app_name=app.display_name,
        tenant_id=user.tenant_id,
        scopes=graph_scopes,
        user=user,
    )
    body = {
        "token_type": "Bearer",
        "scope": scopes.response_scope(),
        "expires_in": tokens.ACCESS_TOKEN_LIFETIME,
        "ext_expires_in": tokens.ACCESS_TOKEN_LIFETIME,
        "access_token": access,
    }
    if "offline_access" in scopes.oidc or (keep and "offline_access" in keep):
        grant = state.directory.new_refresh_grant(
            app.client_id.lower(), user.oid, user.tenant_id, sorted(keep or scopes.all)
        )
        body["refresh_token"] = grant.token
    if "openid" in scopes.oidc:
        body["id_token"] = tokens.issue_id_token(
            state,
            base_url=base_url(request),
            client_id=app.client_id,
            user=user,
            nonce=nonce,
            auth_time=auth_time,
        )
    if form.get("client_info") == "1":
        body["client_info"] = tokens.client_info(user)
    return body


def _client_credentials(state: EmulatorState, app: AppRegistration, authority: Authority, form) -> dict:
    scope = form.get("scope", "").strip()
    if not scope:
        raise aad.missing_parameter("scope")
    resources = scope.split()
    if len(resources) != 1 or not resources[0].endswith("/.default"):
        raise aad.AadError(
            1002012,
            "invalid_scope",
            f"The provided value for scope {scope} is not valid. Client credential flows must have a scope value "
            "with /.default suffixed to the resource identifier (application ID URI).",
        )
    if resources[0].lower() not in (
        "https://graph.microsoft.com/.default",
        f"{tokens.GRAPH_APP_ID}/.default",
    ):
        raise aad.invalid_scope(resources[0])
    if authority.kind != "tenant":
        raise _no_tenant()
    tenant_id = authority.tenant.id
    directory: Directory = state.directory
    consented = any(
        c.client_id == app.client_id.lower() and c.tenant_id == tenant_id for c in directory.consents
    )
    if tenant_id != app.home_tenant_id and not consented:
        # A multi-tenant app has no service principal in a tenant whose admin never consented.
        raise aad.app_not_found(app.client_id, authority.tenant.display_name)
    roles = directory.granted_app_roles(tenant_id, app.client_id.lower())
    access, _exp = tokens.issue_access_token(
        state, client_id=app.client_id, app_name=app.display_name, tenant_id=tenant_id, scopes=[], roles=roles
    )
    return {
        "token_type": "Bearer",
        "expires_in": tokens.ACCESS_TOKEN_LIFETIME,
        "ext_expires_in": tokens.ACCESS_TOKEN_LIFETIME,
        "access_token": access,
    }


def _no_tenant() -> aad.AadError:
    return aad.AadError(
        50059,
        "invalid_request",
        "No tenant-identifying information found in either the request or implied by any provided credentials.",
    )


def _fmt(ts: float) -> str:
    return time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(ts))
