"""The JSON side of Google's OAuth 2.0 / OpenID Connect: discovery document, JWKS, token endpoint
(authorization_code, refresh_token), revoke, userinfo."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from googleemulator import PREFIX, keys
from googleemulator.oauth import exceptions as oe
from googleemulator.oauth import models
from googleemulator.state import GoogleState

NO_STORE = {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate", "Pragma": "no-cache"}


def gstate(request: Request) -> GoogleState:
    return request.app.state.google


def issuer(request: Request) -> str:
    """The emulator's issuer: its origin plus /google (Google's own is https://accounts.google.com)."""
    return f"{request.url.scheme}://{request.url.netloc}{PREFIX}"


async def openid_configuration(request: Request) -> JSONResponse:
    base = issuer(request)
    return JSONResponse(
        {
            "issuer": base,
            "authorization_endpoint": f"{base}/o/oauth2/v2/auth",
            "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/v1/userinfo",
            "revocation_endpoint": f"{base}/revoke",
            "jwks_uri": f"{base}/oauth2/v3/certs",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": [
                "aud",
                "email",
                "email_verified",
                "exp",
                "family_name",
                "given_name",
                "iat",
                "iss",
                "name",
                "sub",
                "hd",
                "nonce",
                "at_hash",
                "azp",
            ],
            "code_challenge_methods_supported": ["plain", "S256"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
        }  # fmt: skip
    )


async def certs(request: Request) -> JSONResponse:
    return JSONResponse(
        keys.jwks(gstate(request).state_dir), headers={"Cache-Control": "public, max-age=21600"}
    )


def _client_credentials(request: Request, form) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            raw = base64.b64decode(header[6:].strip()).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        user, _, password = raw.partition(":")
        return unquote(user), unquote(password)
    return form.get("client_id"), form.get("client_secret")


async def token(request: Request) -> JSONResponse:
    state = gstate(request)
    form = await request.form()
    state.token_calls += 1
    if state.token_calls % 1000 == 0:
        state.prune()
    try:
        with state.lock:
            body = _token(request, state, form)
        state.dirty = True
        return JSONResponse(body, headers=NO_STORE)
    except oe.TokenError as err:
        return JSONResponse(err.body(), status_code=err.status, headers=NO_STORE)


def _token(request: Request, state: GoogleState, form) -> dict:
    grant_type = form.get("grant_type")
    if not grant_type:
        raise oe.TokenError("unsupported_grant_type", "Invalid grant_type: ")
    if grant_type not in ("authorization_code", "refresh_token"):
        raise oe.TokenError("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
    client = models.authenticate_client(state, *_client_credentials(request, form))
    if grant_type == "authorization_code":
        raw = form.get("code")
        if not raw:
            raise oe.TokenError("invalid_request", "Missing required parameter: code")
        code = state.codes.get(raw)
        if code is None:
            raise oe.bad_code()
        if code["used"] or state.now() > code["expires"] or code["client_id"] != client.client_id:
            raise oe.used_or_expired_code()
        if form.get("redirect_uri") != code["redirect_uri"]:
            raise oe.TokenError("redirect_uri_mismatch", "Bad Request")
        if code.get("code_challenge"):
            verifier = form.get("code_verifier")
            if not verifier:
                raise oe.TokenError("invalid_grant", "Missing code verifier.")
            if not models.pkce_ok(code["code_challenge"], code["code_challenge_method"], verifier):
                raise oe.TokenError("invalid_grant", "Invalid code verifier.")
        code["used"] = True
        account = state.account(code["email"])
        return models.issue_tokens(
            state,
            client,
            account,
            code["scopes"],
            with_refresh=code["offline"],
            nonce=code.get("nonce"),
            issuer=issuer(request),
        )
    raw = form.get("refresh_token")
    if not raw:
        raise oe.TokenError("invalid_request", "Missing required parameter: refresh_token")
    refresh = models.live_refresh_token(state, raw, client)
    scopes = refresh.scopes
    if form.get("scope"):
        asked, unknown = models.normalize_scopes(form["scope"])
        if unknown or not set(asked) <= set(refresh.scopes):
            raise oe.TokenError("invalid_scope", "Bad Request")
        scopes = asked
    return models.issue_tokens(
        state,
        client,
        state.account(refresh.email),
        scopes,
        with_refresh=False,
        refresh=refresh,
        issuer=issuer(request),
    )


async def revoke(request: Request) -> Response:
    """POST /revoke?token=… (or token in the form body). A refresh token, or an access token that came
    from one, ends the whole grant (Google revokes the refresh token with its access tokens)."""
    state = gstate(request)
    raw = request.query_params.get("token")
    if raw is None and request.method == "POST":
        raw = (await request.form()).get("token")
    with state.lock:
        refresh = state.refresh_tokens.get(raw or "")
        access = models.access_token_for(state, raw or "")
        if refresh is not None and not refresh.revoked:
            models.revoke_grant(state, refresh.client_id, refresh.email)
        elif access is not None:
            models.revoke_grant(state, access.client_id, access.email)
        else:
            return JSONResponse(
                {"error": "invalid_token", "error_description": "Token expired or revoked"}, status_code=400
            )
    return Response(b"", status_code=200, headers={"Content-Type": "application/json; charset=utf-8"})


async def userinfo(request: Request) -> JSONResponse:
    state = gstate(request)
    header = request.headers.get("authorization", "")
    token = (
        models.access_token_for(state, header[7:].strip()) if header.lower().startswith("bearer ") else None
    )
    if token is None:
        return JSONResponse(
            {"error": "invalid_request", "error_description": "Invalid Credentials"},
            status_code=401,
            headers={
                "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'
            },
        )
    account = state.account(token.email)
    body: dict = {"sub": account.sub}
    if models.CAL + "userinfo.profile" in token.scopes:
        body.update(name=account.name, given_name=account.given_name, family_name=account.family_name)
    if models.CAL + "userinfo.email" in token.scopes:
        body.update(email=account.email, email_verified=True)
    if account.hd:
        body["hd"] = account.hd
    return JSONResponse(body)
