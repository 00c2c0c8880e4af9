"""Google's OAuth rules: the scopes and how the consent page words them, client authentication,
authorization codes (single use, 10 minutes, PKCE), access tokens (1 hour), refresh tokens (no rotation;
7-day life for an External app in "Testing"; at most 100 per client and account), grants and revocation."""

from __future__ import annotations

import base64
import hashlib
import hmac

from googleemulator import keys
from googleemulator.oauth import exceptions as oe
from googleemulator.state import AccessToken, Account, GoogleState, OAuthClient, RefreshToken

CAL = "https://www.googleapis.com/auth/"
# Scope -> the sentence Google's consent page shows for it.
SCOPES = {
    "openid": "Associate you with your personal info on Google",
    CAL + "userinfo.email": "See your primary Google Account email address",
    CAL
    + "userinfo.profile": "See your personal info, including any personal info you've made publicly available",
    CAL
    + "calendar": "See, edit, share, and permanently delete all the calendars you can access using Google Calendar",
    CAL + "calendar.readonly": "See and download any calendar you can access using your Google Calendar",
    CAL + "calendar.events": "View and edit events on all your calendars",
    CAL + "calendar.events.readonly": "View events on all your calendars",
    CAL + "calendar.events.owned": "See, create, change, and delete events on Google calendars you own",
    CAL + "calendar.calendarlist.readonly": "See the list of Google calendars you're subscribed to",
    CAL + "calendar.calendarlist": "See, add, and remove Google calendars you're subscribed to",
    CAL + "calendar.freebusy": "View your availability in your calendars",
    CAL + "calendar.events.freebusy": "See the availability on Google calendars you have access to",
    CAL
    + "calendar.calendars.readonly": "See the title, description, default time zone, and other properties of Google calendars you have access to",
}
ALIASES = {"email": CAL + "userinfo.email", "profile": CAL + "userinfo.profile"}
# Scopes that are not "sensitive": an app asking only for these keeps refresh tokens past 7 days in Testing.
BASIC = {"openid", CAL + "userinfo.email", CAL + "userinfo.profile"}
CODE_LIFETIME = 600
ACCESS_LIFETIME = 3599
TESTING_REFRESH_LIFETIME = 7 * 24 * 3600
UNUSED_REFRESH_LIFETIME = 183 * 24 * 3600  # "has not been used for six months"
MAX_REFRESH_TOKENS = (
    100  # per client and account; the 101st invalidates the oldest (Google's documented limit)
)


def normalize_scopes(raw: str) -> tuple[list[str], list[str]]:
    """(known scopes in request order with email/profile spelled out, unknown ones)."""
    known, unknown = [], []
    for scope in raw.replace(",", " ").split():
        scope = ALIASES.get(scope, scope)
        (known if scope in SCOPES else unknown).append(scope)
    return list(dict.fromkeys(known)), unknown


def grant_key(client_id: str, email: str) -> str:
    return f"{client_id}|{email.lower()}"


def authenticate_client(state: GoogleState, client_id: str | None, secret: str | None) -> OAuthClient:
    client = state.clients.get(client_id or "")
    if client is None:
        raise oe.client_not_found()
    if not secret or not hmac.compare_digest(secret.encode(), client.client_secret.encode()):
        raise oe.wrong_secret()
    return client


def pkce_ok(challenge: str, method: str, verifier: str) -> bool:
    if method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        return hmac.compare_digest(base64.urlsafe_b64encode(digest).rstrip(b"=").decode(), challenge)
    return hmac.compare_digest(verifier, challenge)


def refresh_expiry(state: GoogleState, client: OAuthClient, scopes: list[str], issued: float) -> float | None:
    """An External app in "Testing" gets refresh tokens that expire 7 days after issue, unless it asked
    only for name, email and openid (Google's OAuth 2.0 docs, "Refresh token expiration")."""
    consent = state.project_of(client).consent
    if consent.user_type == "external" and consent.publishing_status == "testing" and set(scopes) - BASIC:
        return issued + TESTING_REFRESH_LIFETIME
    return None


def issue_tokens(
    state: GoogleState,
    client: OAuthClient,
    account: Account,
    scopes: list[str],
    *,
    with_refresh: bool,
    nonce: str | None = None,
    refresh: RefreshToken | None = None,
    issuer: str,
) -> dict:
    now = state.now()
    body: dict = {}
    if with_refresh:
        refresh = RefreshToken(
            token=keys.new_refresh_token(),
            client_id=client.client_id,
            email=account.email,
            scopes=list(scopes),
            issued=now,
            expires=refresh_expiry(state, client, scopes, now),
        )
        state.refresh_tokens[refresh.token] = refresh
        _enforce_refresh_limit(state, client.client_id, account.email)
        # No refresh_token_expires_in: Google sets it only for time-based access, not for Testing apps,
        # whose 7-day limit the app learns as invalid_grant when it next refreshes.
        body["refresh_token"] = refresh.token
    access = AccessToken(
        token=keys.new_access_token(),
        client_id=client.client_id,
        email=account.email,
        scopes=list(scopes),
        expires=now + ACCESS_LIFETIME,
        refresh_token=refresh.token if refresh else None,
    )
    state.access_tokens[access.token] = access
    body = {"access_token": access.token, "expires_in": ACCESS_LIFETIME, **body}
    body["scope"] = " ".join(scopes)
    body["token_type"] = "Bearer"
    if "openid" in scopes:
        claims = {
            "iss": issuer,
            "azp": client.client_id,
            "aud": client.client_id,
            "sub": account.sub,
            "at_hash": keys.at_hash(access.token),
            "iat": int(now),
            "exp": int(now) + ACCESS_LIFETIME + 1,
        }
        if CAL + "userinfo.email" in scopes:
            claims.update(email=account.email, email_verified=True)
        if CAL + "userinfo.profile" in scopes:
            claims.update(name=account.name, given_name=account.given_name, family_name=account.family_name)
        if account.hd:
            claims["hd"] = account.hd
        if nonce:
            claims["nonce"] = nonce
        body["id_token"] = keys.sign_id_token(state.state_dir, claims)
    return body


def _enforce_refresh_limit(state: GoogleState, client_id: str, email: str) -> None:
    mine = sorted(
        (
            t
            for t in state.refresh_tokens.values()
            if t.client_id == client_id and t.email == email and not t.revoked
        ),
        key=lambda t: t.issued,
    )
    for old in mine[: max(0, len(mine) - MAX_REFRESH_TOKENS)]:
        old.revoked = True


def live_refresh_token(state: GoogleState, raw: str, client: OAuthClient) -> RefreshToken:
    token = state.refresh_tokens.get(raw)
    if token is None or token.client_id != client.client_id:
        raise oe.TokenError("invalid_grant", "Bad Request")
    now = state.now()
    unused_too_long = now - (token.last_used or token.issued) > UNUSED_REFRESH_LIFETIME
    if token.revoked or unused_too_long or (token.expires is not None and now >= token.expires):
        raise oe.expired_or_revoked()
    token.last_used = now
    return token


def access_token_for(state: GoogleState, raw: str) -> AccessToken | None:
    token = state.access_tokens.get(raw)
    if token is None or state.now() >= token.expires:
        return None
    if token.refresh_token:
        refresh = state.refresh_tokens.get(token.refresh_token)
        if refresh is None or refresh.revoked:
            return None
    return token


def revoke_grant(state: GoogleState, client_id: str, email: str) -> int:
    """The user (or the app through /revoke) removes the app's access: every token of the pair stops."""
    count = 0
    for token in state.refresh_tokens.values():
        if token.client_id == client_id and token.email == email and not token.revoked:
            token.revoked = True
            count += 1
    for raw in [k for k, t in state.access_tokens.items() if t.client_id == client_id and t.email == email]:
        del state.access_tokens[raw]
    state.grants.pop(grant_key(client_id, email), None)
    state.dirty = True
    return count
