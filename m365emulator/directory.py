"""The emulated Microsoft Entra directory: tenants, users, app registrations, consents and grants.

Plain Python objects and their rules; HTTP parsing lives in identity/ and control/. Everything here is
serializable (`to_dict`/`from_dict`) so a demo survives a restart.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_RESOURCE = "https://graph.microsoft.com"

# Supported account types, by the manifest's signInAudience values.
SINGLE_TENANT = "AzureADMyOrg"
MULTI_TENANT = "AzureADMultipleOrgs"
MULTI_TENANT_AND_PERSONAL = "AzureADandPersonalMicrosoftAccount"
SIGN_IN_AUDIENCES = (SINGLE_TENANT, MULTI_TENANT, MULTI_TENANT_AND_PERSONAL)

# OpenID scopes: always user-consentable, never in an access token's `scp` for Graph.
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")

# Microsoft Graph delegated permissions the emulator knows: name -> (consent-page wording, admin-only).
DELEGATED_PERMISSIONS: dict[str, tuple[str, bool]] = {
    "openid": ("Sign you in", False),
    "profile": ("View your basic profile", False),
    "email": ("View your email address", False),
    "offline_access": ("Maintain access to data you have given it access to", False),
    "User.Read": ("Sign you in and read your profile", False),
    "User.ReadBasic.All": ("Read all users' basic profiles", False),
    "User.Read.All": ("Read all users' full profiles", True),
    "Calendars.Read": ("Read your calendars", False),
    "Calendars.ReadWrite": ("Have full access to your calendars", False),
    "Calendars.Read.Shared": ("Read calendars you can access", False),
    "Calendars.ReadWrite.Shared": ("Read and write calendars you can access", False),
    "MailboxSettings.Read": ("Read your mailbox settings", False),
}
# Application permissions (client credentials): always need admin consent.
APPLICATION_PERMISSIONS = ("Calendars.Read", "Calendars.ReadWrite", "User.Read.All", "MailboxSettings.Read")

AUTH_CODE_LIFETIME = 600  # seconds; Microsoft: authorization codes live about 10 minutes
REFRESH_INACTIVITY = 90 * 24 * 3600  # refresh tokens die after 90 days without use
SESSION_LIFETIME = 24 * 3600

_ID_NAMESPACE = uuid.UUID("6f1c1d0e-56d1-4c2e-9a53-5b1f0e7e4b01")


def stable_id(*parts: str) -> str:
    """A GUID derived from names, so seeding the same world twice gives the same ids."""
    return str(uuid.uuid5(_ID_NAMESPACE, "/".join(p.lower() for p in parts)))


def is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return len(value) == 36


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def redirect_uri_problem(uri: str) -> str | None:
    """Why Azure would refuse this Web redirect URI, or None. https only, except loopback over http."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "The redirect URI is not a valid URI."
    if not parts.scheme or not parts.netloc:
        return "The redirect URI must be an absolute URI."
    if "#" in uri:
        return "The redirect URI must not contain a fragment."
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1"):
        return None
    return "The redirect URI must begin with the scheme 'https'. 'http' is allowed only for localhost."


@dataclass
class Tenant:
    id: str
    domain: str  # the verified *.onmicrosoft.com domain
    display_name: str
    users_may_consent: bool = True  # the "Users can consent to apps" policy


@dataclass
class User:
    oid: str
    tenant_id: str
    user_principal_name: str
    mail: str
    display_name: str
    password: str
    time_zone: str = "UTC"
    is_personal: bool = False
    enabled: bool = True
    is_admin: bool = False  # a Global Administrator: may grant tenant-wide consent
    tokens_valid_from: float = 0.0  # refresh tokens issued earlier fail (password reset, revoke sessions)


@dataclass
class ClientSecret:
    key_id: str  # the "Secret ID" column: people paste it by mistake instead of the value
    description: str
    hint: str  # first three characters of the value, as the portal shows
    value_hash: str
    start: float
    expires: float


@dataclass
class CertificateCredential:
    key_id: str
    thumbprint: str  # SHA-1 of the DER certificate, hex upper case as the portal shows it
    description: str
    public_key_pem: str
    start: float
    expires: float
    thumbprint_sha256: str = ""  # MSAL sends x5t#S256 (PS256) when given a SHA-256 thumbprint


@dataclass
class AppRegistration:
    client_id: str
    object_id: str
    display_name: str
    home_tenant_id: str
    sign_in_audience: str = SINGLE_TENANT
    redirect_uris: list[str] = field(default_factory=list)
    secrets: list[ClientSecret] = field(default_factory=list)
    certificates: list[CertificateCredential] = field(default_factory=list)
    delegated_permissions: list[str] = field(default_factory=list)
    application_permissions: list[str] = field(default_factory=list)
    created: float = field(default_factory=time.time)

    def admits_personal(self) -> bool:
        return self.sign_in_audience == MULTI_TENANT_AND_PERSONAL

    def is_multi_tenant(self) -> bool:
        return self.sign_in_audience != SINGLE_TENANT

    def admin_consent_scopes(self) -> list[str]:
        """What "Grant admin consent" covers: the configured delegated permissions plus sign-in."""
        return list(dict.fromkeys([*self.delegated_permissions, *OIDC_SCOPES]))


@dataclass
class Consent:
    tenant_id: str
    client_id: str
    user_oid: str | None  # None: an admin consented for the whole tenant
    scopes: list[str]
    app_roles: list[str] = field(default_factory=list)  # application permissions (admin consent only)


@dataclass
class RefreshGrant:
    token: str
    client_id: str
    user_oid: str
    tenant_id: str
    scopes: list[str]
    issued_at: float
    last_used: float
    revoked: bool = False


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    user_oid: str
    tenant_id: str
    scopes: list[str]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    expires: float
    redeemed: bool = False


@dataclass
class Session:
    """A signed-in browser (the ESTSAUTH cookie)."""

    id: str
    user_oid: str
    auth_time: float


class Directory:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.tenants: dict[str, Tenant] = {}
        self.users: dict[str, User] = {}
        self.apps: dict[str, AppRegistration] = {}
        self.consents: list[Consent] = []
        self.refresh_grants: dict[str, RefreshGrant] = {}
        self.codes: dict[str, AuthCode] = {}
        self.sessions: dict[str, Session] = {}
        self.flows: dict[str, dict] = {}  # authorize requests waiting for the login/consent pages
        self._login_index: dict[str, str] = {}
        # Seconds before a new app or secret works, as Azure's "wait a few minutes" (0: at once).
        self.propagation_delay = 0.0
        self.add_tenant(CONSUMERS_TENANT_ID, "live.com", "Microsoft Accounts", users_may_consent=True)

    # --- tenants and users ---------------------------------------------------------------------------
    def add_tenant(
        self, tenant_id: str, domain: str, display_name: str, users_may_consent: bool = True
    ) -> Tenant:
        tenant = Tenant(tenant_id.lower(), domain.lower(), display_name, users_may_consent)
        self.tenants[tenant.id] = tenant
        return tenant

    def tenant_by_segment(self, segment: str) -> Tenant | None:
        """The tenant named by an authority path segment: a GUID or a verified domain."""
        segment = segment.lower()
        if segment in self.tenants:
            return self.tenants[segment]
        for tenant in self.tenants.values():
            if tenant.domain == segment:
                return tenant
        return None

    def add_user(self, user: User) -> User:
        old = self.users.get(user.oid)
        if old is not None:
            self._login_index.pop(old.user_principal_name.lower(), None)
            self._login_index.pop(old.mail.lower(), None)
        self.users[user.oid] = user
        self._login_index[user.user_principal_name.lower()] = user.oid
        if user.mail:
            self._login_index[user.mail.lower()] = user.oid
        return user

    def remove_user(self, oid: str) -> None:
        user = self.users.pop(oid, None)
        if user is not None:
            self._login_index.pop(user.user_principal_name.lower(), None)
            self._login_index.pop(user.mail.lower(), None)
            self.revoke_user_sessions(oid)

    def user_by_login(self, login: str) -> User | None:
        oid = self._login_index.get((login or "").strip().lower())
        return self.users.get(oid) if oid else None

    def set_password(self, oid: str, password: str) -> None:
        """A password reset also ends every refresh token the user holds (AADSTS50173)."""
        user = self.users[oid]
        user.password = password
        self.revoke_user_sessions(oid)

    def revoke_user_sessions(self, oid: str) -> None:
        if oid in self.users:
            self.users[oid].tokens_valid_from = time.time()
        self.sessions = {k: s for k, s in self.sessions.items() if s.user_oid != oid}

    # --- app registrations ---------------------------------------------------------------------------
    def add_app(self, app: AppRegistration) -> AppRegistration:
        self.apps[app.client_id.lower()] = app
        return app

    def app(self, client_id: str) -> AppRegistration | None:
        return self.apps.get((client_id or "").strip().lower())

    def add_secret(
        self,
        app: AppRegistration,
        description: str,
        expires: float,
        value: str | None = None,
        key_id: str | None = None,
    ) -> tuple[ClientSecret, str]:
        """Returns the secret and its value; only the hash is kept, so the value is shown once."""
        value = value or _secret_value()
        secret = ClientSecret(
            key_id=key_id or str(uuid.uuid4()),
            description=description,
            hint=value[:3],
            value_hash=hash_secret(value),
            start=time.time(),
            expires=expires,
        )
        app.secrets.append(secret)
        return secret, value

    # --- consent -------------------------------------------------------------------------------------
    def granted_scopes(self, tenant_id: str, client_id: str, user_oid: str | None) -> set[str]:
        granted: set[str] = set()
        for c in self.consents:
            if c.tenant_id == tenant_id and c.client_id == client_id and c.user_oid in (None, user_oid):
                granted.update(c.scopes)
        return granted

    def granted_app_roles(self, tenant_id: str, client_id: str) -> list[str]:
        roles: list[str] = []
        for c in self.consents:
            if c.tenant_id == tenant_id and c.client_id == client_id and c.user_oid is None:
                roles.extend(r for r in c.app_roles if r not in roles)
        return roles

    def grant_consent(
        self,
        tenant_id: str,
        client_id: str,
        scopes: list[str],
        user_oid: str | None = None,
        app_roles: list[str] | None = None,
    ) -> Consent:
        client_id = client_id.lower()
        for c in self.consents:
            if c.tenant_id == tenant_id and c.client_id == client_id and c.user_oid == user_oid:
                c.scopes = sorted(set(c.scopes) | set(scopes))
                c.app_roles = sorted(set(c.app_roles) | set(app_roles or []))
                return c
        consent = Consent(tenant_id, client_id, user_oid, sorted(set(scopes)), sorted(set(app_roles or [])))
        self.consents.append(consent)
        return consent

    def grant_admin_consent(self, tenant_id: str, app: AppRegistration) -> Consent:
        """An admin accepting for the organization: every user's delegated permissions and the app roles."""
        return self.grant_consent(
            tenant_id, app.client_id, app.admin_consent_scopes(), None, list(app.application_permissions)
        )

    def revoke(self, client_id: str, tenant_id: str | None = None, user_oid: str | None = None) -> int:
        """A user removing an app (user_oid) or an admin removing it from a tenant: consents and refresh
        tokens go. Returns how many refresh tokens were revoked."""
        client_id = client_id.lower()

        def hit(tid: str, oid: str | None) -> bool:
            if tenant_id is not None and tid != tenant_id:
                return False
            return user_oid is None or oid == user_oid

        self.consents = [
            c for c in self.consents if not (c.client_id == client_id and hit(c.tenant_id, c.user_oid))
        ]
        count = 0
        for g in self.refresh_grants.values():
            if g.client_id == client_id and not g.revoked and hit(g.tenant_id, g.user_oid):
                g.revoked = True
                count += 1
        return count

    # --- codes, grants, sessions -----------------------------------------------------------------------
    def new_code(self, **fields) -> AuthCode:
        code = AuthCode(
            code="1.A" + secrets.token_urlsafe(48), expires=time.time() + AUTH_CODE_LIFETIME, **fields
        )
        self.codes[code.code] = code
        self._prune()
        return code

    def new_refresh_grant(
        self, client_id: str, user_oid: str, tenant_id: str, scopes: list[str]
    ) -> RefreshGrant:
        now = time.time()
        grant = RefreshGrant(
            "1.A" + secrets.token_urlsafe(96), client_id, user_oid, tenant_id, scopes, now, now
        )
        self.refresh_grants[grant.token] = grant
        return grant

    def new_session(self, user_oid: str) -> Session:
        session = Session(secrets.token_urlsafe(32), user_oid, time.time())
        self.sessions[session.id] = session
        return session

    def session(self, session_id: str | None) -> Session | None:
        session = self.sessions.get(session_id or "")
        if session is None or time.time() - session.auth_time > SESSION_LIFETIME:
            return None
        return session if session.user_oid in self.users else None

    def _prune(self) -> None:
        """Drop codes long past use so a busy demo does not grow without bound."""
        if len(self.codes) < 1000:
            return
        cutoff = time.time() - AUTH_CODE_LIFETIME
        self.codes = {k: c for k, c in self.codes.items() if c.expires > cutoff}

    def add_certificate(self, app: AppRegistration, pem: str, description: str = "") -> CertificateCredential:
        """Upload a certificate's public part (PEM), as the portal's Certificates tab does."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization

        cert = x509.load_pem_x509_certificate(pem.encode())
        credential = CertificateCredential(
            key_id=str(uuid.uuid4()),
            thumbprint=cert.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303 - Azure's thumbprint
            description=description or cert.subject.rfc4514_string(),
            public_key_pem=cert.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode(),
            start=cert.not_valid_before_utc.timestamp(),
            expires=cert.not_valid_after_utc.timestamp(),
            thumbprint_sha256=cert.fingerprint(hashes.SHA256()).hex().upper(),
        )
        app.certificates.append(credential)
        return credential

    # --- persistence ---------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "tenants": [asdict(t) for t in self.tenants.values()],
            "users": [asdict(u) for u in self.users.values()],
            "apps": [asdict(a) for a in self.apps.values()],
            "consents": [asdict(c) for c in self.consents],
            "refresh_grants": [asdict(g) for g in self.refresh_grants.values()],
            "settings": {"propagation_delay": self.propagation_delay},
        }

    def load_dict(self, data: dict) -> None:
        self.reset()
        for t in data.get("tenants", []):
            self.tenants[t["id"]] = Tenant(**t)
        for u in data.get("users", []):
            self.add_user(User(**u))
        for a in data.get("apps", []):
            a = dict(a)
            a["secrets"] = [ClientSecret(**s) for s in a.get("secrets", [])]
            a["certificates"] = [CertificateCredential(**c) for c in a.get("certificates", [])]
            self.add_app(AppRegistration(**a))
        self.consents = [Consent(**c) for c in data.get("consents", [])]
        for g in data.get("refresh_grants", []):
            self.refresh_grants[g["token"]] = RefreshGrant(**g)
        self.propagation_delay = float(data.get("settings", {}).get("propagation_delay", 0.0))

    def propagated(self, since: float) -> bool:
        """Whether something created at `since` is visible to sign-ins yet."""
        return not self.propagation_delay or time.time() >= since + self.propagation_delay


def _secret_value() -> str:
    """40 characters like Azure's generated values (which contain '~', '.', '_' and '-')."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789~._-"
    head = "".join(secrets.choice(alphabet[:62]) for _ in range(3))
    return head + "8Q~" + "".join(secrets.choice(alphabet) for _ in range(34))
