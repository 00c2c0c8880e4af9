"""Identity platform rules: which authority admits which app and account, scope parsing, consent
decisions and client authentication. Raises identity.exceptions errors; knows nothing of HTTP."""

from __future__ import annotations

import base64
import hmac
import time
from dataclasses import dataclass

import jwt

from m365emulator.directory import (
    CONSUMERS_TENANT_ID,
    DELEGATED_PERMISSIONS,
    GRAPH_APP_ID,
    GRAPH_RESOURCE,
    OIDC_SCOPES,
    AppRegistration,
    Directory,
    Tenant,
    User,
    hash_secret,
)
from m365emulator.identity import exceptions as aad

META_TENANTS = ("common", "organizations", "consumers")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_GRAPH_PREFIXES = (GRAPH_RESOURCE + "/", GRAPH_APP_ID + "/", "https://graph.microsoft.com//")


@dataclass(frozen=True)
class Authority:
    segment: str  # as written in the path
    kind: str  # "common" | "organizations" | "consumers" | "tenant"
    tenant: Tenant | None  # for kind == "tenant" (and consumers: the consumers tenant)

    @property
    def directory_name(self) -> str:
        return self.tenant.display_name if self.tenant else self.segment


def resolve_authority(directory: Directory, segment: str) -> Authority:
    lowered = segment.lower()
    if lowered in META_TENANTS:
        tenant = directory.tenants.get(CONSUMERS_TENANT_ID) if lowered == "consumers" else None
        return Authority(segment, lowered, tenant)
    tenant = directory.tenant_by_segment(lowered)
    if tenant is None:
        raise aad.tenant_not_found(segment)
    if tenant.id == CONSUMERS_TENANT_ID:
        return Authority(segment, "consumers", tenant)
    return Authority(segment, "tenant", tenant)


def find_app(directory: Directory, client_id: str, authority: Authority) -> AppRegistration:
    """The app, if this authority may serve it (else AADSTS700016 or AADSTS50194)."""
    app = directory.app(client_id)
    if app is None or not directory.propagated(app.created):
        raise aad.app_not_found(client_id, authority.directory_name)
    if authority.kind in ("common", "organizations") and not app.is_multi_tenant():
        raise aad.not_multi_tenant(app.client_id, app.display_name)
    if authority.kind == "consumers" and not app.admits_personal():
        raise aad.app_not_found(client_id, authority.directory_name)
    if authority.kind == "tenant" and not app.is_multi_tenant() and app.home_tenant_id != authority.tenant.id:
        raise aad.app_not_found(client_id, authority.directory_name)
    return app


def check_account(user: User, app: AppRegistration, authority: Authority, directory: Directory) -> None:
    """Whether this account may sign in to this app through this authority (AADSTS50020 if not)."""
    home = directory.tenants.get(user.tenant_id)
    idp = "live.com" if user.is_personal else f"https://sts.windows.net/{user.tenant_id}/"
    if authority.kind == "tenant":
        ok = user.tenant_id == authority.tenant.id
        tenant_name = authority.tenant.display_name
    elif authority.kind == "consumers":
        ok, tenant_name = user.is_personal, "Microsoft Accounts"
    elif authority.kind == "organizations":
        ok, tenant_name = not user.is_personal, "organizations"
    else:  # common: personal accounts only for apps that admit them
        ok = app.admits_personal() or not user.is_personal
        tenant_name = (
            directory.tenants[app.home_tenant_id].display_name
            if app.home_tenant_id in directory.tenants
            else "common"
        )
    if user.is_personal and not app.admits_personal():
        ok = False
        tenant_name = (
            directory.tenants[app.home_tenant_id].display_name
            if app.home_tenant_id in directory.tenants
            else tenant_name
        )
    if not ok:
        raise aad.user_not_in_tenant(
            user.user_principal_name, idp, tenant_name, app.client_id, app.display_name
        )
    if home is None:
        raise aad.unknown_user(user.user_principal_name, tenant_name)


# --- scopes ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scopes:
    graph: tuple[str, ...]  # bare Graph permission names, e.g. ("User.Read", "Calendars.ReadWrite")
    oidc: tuple[str, ...]  # openid, profile, email, offline_access as requested

    @classmethod
    def from_list(cls, names: list[str]) -> Scopes:
        """Back from a stored list (codes, refresh grants) to the two groups."""
        return cls(
            tuple(n for n in names if n not in OIDC_SCOPES), tuple(n for n in names if n in OIDC_SCOPES)
        )

    @property
    def all(self) -> list[str]:
        return [*self.graph, *self.oidc]

    def response_scope(self) -> str:
        """The token response's `scope`: bare names, as Azure answers for Graph (MSAL's cache keys on it)."""
        return " ".join([*self.graph, *self.oidc])


def parse_scopes(raw: str, app: AppRegistration) -> Scopes:
    graph: list[str] = []
    oidc: list[str] = []
    for item in raw.split():
        name = item
        for prefix in _GRAPH_PREFIXES:
            if item.lower().startswith(prefix.lower()):
                name = item[len(prefix) :]
                break
        if name == ".default" and item != name:
            graph.extend(p for p in app.delegated_permissions if p not in OIDC_SCOPES)
            continue
        canonical = _canonical_permission(name)
        if canonical is None or (item != name and canonical in OIDC_SCOPES):
            raise aad.invalid_scope(item)
        bucket = oidc if canonical in OIDC_SCOPES else graph
        if canonical not in bucket:
            bucket.append(canonical)
    graph = list(dict.fromkeys(graph))
    return Scopes(tuple(graph), tuple(oidc))


def _canonical_permission(name: str) -> str | None:
    """Permission names are case-insensitive on the wire; answers use Microsoft's casing."""
    for known in DELEGATED_PERMISSIONS:
        if known.lower() == name.lower():
            return known
    return None


def consent_tenant(user: User) -> str:
    return CONSUMERS_TENANT_ID if user.is_personal else user.tenant_id


def missing_consent(directory: Directory, app: AppRegistration, user: User, scopes: Scopes) -> list[str]:
    granted = directory.granted_scopes(consent_tenant(user), app.client_id.lower(), user.oid)
    return [s for s in scopes.all if s not in granted]


def user_may_consent(directory: Directory, user: User, scopes: list[str]) -> bool:
    if user.is_personal or user.is_admin:
        return True
    tenant = directory.tenants.get(user.tenant_id)
    if tenant is None or not tenant.users_may_consent:
        return False
    return not any(DELEGATED_PERMISSIONS.get(s, ("", True))[1] for s in scopes)


# --- client authentication -------------------------------------------------------------------------------
def basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise aad.malformed_request("The Authorization header is not valid Basic credentials.") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise aad.malformed_request("The Authorization header is not valid Basic credentials.")
    from urllib.parse import unquote_plus

    # RFC 6749 2.3.1: both parts are form-urlencoded before base64.
    return unquote_plus(client_id), unquote_plus(secret)


def authenticate_client(
    directory: Directory,
    app: AppRegistration,
    secret: str | None,
    assertion_type: str | None,
    assertion: str | None,
    token_urls: list[str],
) -> None:
    """Checks the client secret or certificate assertion, raising Microsoft's invalid_client errors."""
    now = time.time()
    if secret:
        digest = hash_secret(secret)
        for s in app.secrets:
            if hmac.compare_digest(s.value_hash, digest):
                if s.expires <= now:
                    raise aad.expired_secret(app.client_id)
                if not directory.propagated(s.start):
                    break  # a brand-new secret is not known everywhere yet: "invalid secret"
                return
        raise aad.invalid_secret(app.client_id)
    if assertion or assertion_type:
        if assertion_type != ASSERTION_TYPE:
            raise aad.AadError(
                700023 if assertion_type else 900144,
                "invalid_request",
                f"The client_assertion_type '{assertion_type}' is not supported."
                if assertion_type
                else "The request body must contain the following parameter: 'client_assertion_type'.",
            )
        if not assertion:
            raise aad.missing_parameter("client_assertion")
        _check_assertion(app, assertion, token_urls, now)
        return
    raise aad.credential_missing()


def _check_assertion(app: AppRegistration, assertion: str, token_urls: list[str], now: float) -> None:
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.InvalidTokenError:
        raise aad.AadError(50027, "invalid_request", "JWT token is invalid or malformed.") from None
    # MSAL keeps base64 padding on thumbprints; the JOSE spec drops it. Accept both.
    x5t = str(header.get("x5t") or "").rstrip("=")
    x5t256 = str(header.get("x5t#S256") or "").rstrip("=")
    credential = None
    for cert in app.certificates:
        if x5t and _b64(bytes.fromhex(cert.thumbprint)) == x5t:
            credential = cert
        if x5t256 and cert.thumbprint_sha256 and _b64(bytes.fromhex(cert.thumbprint_sha256)) == x5t256:
            credential = cert
    if credential is None:
        raise aad.bad_assertion(
            f"[Reason - The key was not found., Thumbprint of key used by client: '{x5t or x5t256}', Please visit "
            "the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id "
            f"'{app.client_id}'.]"
        )
    if credential.expires <= now:
        raise aad.AadError(700027, "invalid_client", "Client assertion contains an expired certificate.", 401)
    try:
        claims = jwt.decode(
            assertion,
            credential.public_key_pem,
            algorithms=["RS256", "PS256"],
            audience=token_urls,
            options={"require": ["exp", "aud", "iss", "sub"]},
            leeway=300,
        )
    except jwt.ExpiredSignatureError:
        raise aad.assertion_time("The token is expired.") from None
    except jwt.InvalidAudienceError:
        raise aad.AadError(
            700021, "invalid_client", "Client assertion audience claim does not match Realm issuer.", 401
        ) from None
    except jwt.InvalidTokenError as exc:
        raise aad.bad_assertion(f"[Reason - {exc}]") from None
    if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
        raise aad.AadError(
            700023, "invalid_client", "Client assertion iss and sub claims must both be the client_id.", 401
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
