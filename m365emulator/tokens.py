"""Signed tokens: the RSA signing key (persisted in the state dir), JWKS, access and id tokens, and
`verify_access_token`, which Graph calls on every request (so verified tokens are cached)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from m365emulator.directory import GRAPH_APP_ID, GRAPH_RESOURCE, User

if TYPE_CHECKING:
    from m365emulator.state import EmulatorState

ACCESS_TOKEN_LIFETIME = 3599  # what Azure reports in expires_in
ID_TOKEN_LIFETIME = 3600
KEY_FILE = "signing-key.pem"
_CACHE_LIMIT = 50_000


@dataclass(frozen=True)
class AccessClaims:
    oid: str
    tid: str
    client_id: str
    scopes: frozenset[str]
    exp: int
    raw: str
    app_only: bool = False  # client-credentials token: `scopes` holds the app roles, oid the app's


class TokenError(Exception):
    def __init__(self, kind: str, message: str):  # kind: "expired" | "invalid"
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class TokenBook:
    """Per-state signing key, the verified-token cache and "expire now" marks."""

    private_key: rsa.RSAPrivateKey | None = None
    kid: str = ""
    public_key: rsa.RSAPublicKey | None = None  # parsed once: parsing the PEM per token costs ~0.4 ms
    jwk: dict = field(default_factory=dict)
    verified: dict[str, AccessClaims] = field(default_factory=dict)
    expired_jtis: set[str] = field(default_factory=set)
    not_before: dict[str, float] = field(default_factory=dict)  # oid -> tokens issued earlier are expired
    meta: dict[str, tuple[str, float]] = field(default_factory=dict)  # raw -> (jti, precise issue time)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _book(state: EmulatorState) -> TokenBook:
    book = state.tokens
    if book.private_key is None:
        _load_or_create_key(state, book)
    return book


def _load_or_create_key(state: EmulatorState, book: TokenBook) -> None:
    path = Path(state.state_dir) / KEY_FILE if state.state_dir else None
    if path is not None and path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if path is not None:
            path.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            path.chmod(0o600)
    assert isinstance(key, rsa.RSAPrivateKey)
    public = key.public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    numbers = public.public_numbers()
    kid = _b64url(hashlib.sha1(der).digest())  # noqa: S324 - a key id (like Azure's x5t), not security
    book.private_key = key
    book.public_key = public
    book.kid = kid
    book.jwk = {
        "kty": "RSA",
        "use": "sig",
        "kid": kid,
        "x5t": kid,
        "n": _b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        "e": _b64url(numbers.e.to_bytes(3, "big")),
    }


def jwks(state: EmulatorState) -> dict:
    return {"keys": [dict(_book(state).jwk)]}


def _sign(state: EmulatorState, claims: dict) -> str:
    book = _book(state)
    return jwt.encode(claims, book.private_key, algorithm="RS256", headers={"kid": book.kid, "x5t": book.kid})


def issue_access_token(
    state: EmulatorState,
    *,
    client_id: str,
    app_name: str,
    tenant_id: str,
    scopes: list[str],
    user: User | None = None,
    roles: list[str] | None = None,
) -> tuple[str, int]:
    """A Graph access token (Graph's tokens are v1-style, issued by sts.windows.net). Returns (jwt, exp)."""
    now = int(time.time())
    exp = now + ACCESS_TOKEN_LIFETIME
    claims = {
        "aud": GRAPH_RESOURCE,
        "iss": f"https://sts.windows.net/{tenant_id}/",
        "iat": now,
        "nbf": now,
        "exp": exp,
        "appid": client_id,
        "azp": client_id,
        "app_displayname": app_name,
        "tid": tenant_id,
        "ver": "1.0",
        "uti": _b64url(secrets.token_bytes(16)),
        "jti": str(uuid.uuid4()),
        # Sub-second issue time: "expire every token of this user now" must spare one issued a moment later.
        "xms_ist": time.time(),
    }
    if user is not None:
        claims.update(
            {
                "oid": user.oid,
                "sub": _pairwise_sub(user.oid, GRAPH_APP_ID),
                "scp": " ".join(scopes),
                "name": user.display_name,
                "upn": user.user_principal_name,
                "unique_name": user.user_principal_name,
                "idtyp": "user",
            }
        )
    else:
        app_oid = service_principal_oid(client_id, tenant_id)
        claims.update({"oid": app_oid, "sub": app_oid, "idtyp": "app"})
        if roles:
            claims["roles"] = list(roles)
    return _sign(state, claims), exp


def issue_id_token(
    state: EmulatorState,
    *,
    base_url: str,
    client_id: str,
    user: User,
    nonce: str | None,
    auth_time: float,
) -> str:
    now = int(time.time())
    claims = {
        "aud": client_id,
        "iss": f"{base_url}/{user.tenant_id}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + ID_TOKEN_LIFETIME,
        "auth_time": int(auth_time),
        "name": user.display_name,
        "oid": user.oid,
        "preferred_username": user.user_principal_name,
        "email": user.mail,
        "sub": _pairwise_sub(user.oid, client_id),
        "tid": user.tenant_id,
        "ver": "2.0",
        "uti": _b64url(secrets.token_bytes(16)),
    }
    if nonce is not None:
        claims["nonce"] = nonce  # exactly as received: MSAL compares it byte for byte
    return _sign(state, claims)


def client_info(user: User) -> str:
    return _b64url(json.dumps({"uid": user.oid, "utid": user.tenant_id}).encode())


def service_principal_oid(client_id: str, tenant_id: str) -> str:
    """The app's service principal object id in a tenant (stable, so Graph can recognise it)."""
    return str(uuid.uuid5(uuid.UUID(GRAPH_APP_ID), f"sp/{tenant_id}/{client_id}".lower()))


def _pairwise_sub(oid: str, client_id: str) -> str:
    return _b64url(hashlib.sha256(f"{oid}/{client_id}".encode()).digest())


# --- verification (the Graph hot path) ------------------------------------------------------------------
def verify_access_token(state: EmulatorState, raw: str) -> AccessClaims:
    book = state.tokens
    claims = book.verified.get(raw)
    if claims is None:
        claims, meta = _verify_uncached(state, raw)
        if len(book.verified) >= _CACHE_LIMIT:
            now = time.time()
            book.verified = {k: v for k, v in book.verified.items() if v.exp > now}
            book.meta = {k: v for k, v in book.meta.items() if k in book.verified}
        book.verified[raw] = claims
        book.meta[raw] = meta
    if claims.exp <= time.time():
        raise TokenError("expired", "Lifetime validation failed, the token is expired.")
    if book.expired_jtis or book.not_before:  # only after a control call expired tokens
        jti, issued = book.meta.get(raw, ("", 0.0))
        cutoff = book.not_before.get(claims.oid)
        if jti in book.expired_jtis or (cutoff is not None and issued <= cutoff):
            raise TokenError("expired", "Lifetime validation failed, the token is expired.")
    return claims


def _verify_uncached(state: EmulatorState, raw: str) -> tuple[AccessClaims, tuple[str, float]]:
    book = _book(state)
    try:
        payload = jwt.decode(
            raw,
            book.public_key,
            algorithms=["RS256"],
            audience=[GRAPH_RESOURCE, GRAPH_APP_ID, GRAPH_RESOURCE + "/"],
            options={"require": ["exp", "aud", "tid", "oid"], "verify_exp": False},
        )
    except jwt.InvalidAudienceError as exc:
        raise TokenError("invalid", "Invalid audience.") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenError("invalid", "IDX14100: JWT is not well formed.") from exc
    app_only = payload.get("idtyp") == "app"
    scopes = payload.get("roles", []) if app_only else payload.get("scp", "").split()
    claims = AccessClaims(
        oid=payload["oid"],
        tid=payload["tid"],
        client_id=payload.get("appid", ""),
        scopes=frozenset(scopes),
        exp=int(payload["exp"]),
        raw=raw,
        app_only=app_only,
    )
    return claims, (str(payload.get("jti", "")), float(payload.get("xms_ist", payload.get("iat", 0))))


def expire_access_token(state: EmulatorState, raw: str | None = None, oid: str | None = None) -> None:
    """Control API: make one token (or every token of a user issued so far) expired from now on."""
    book = state.tokens
    if raw:
        try:
            jti = jwt.decode(raw, options={"verify_signature": False}).get("jti")
        except jwt.InvalidTokenError as exc:
            raise TokenError("invalid", "not a token issued by this emulator") from exc
        if jti:
            book.expired_jtis.add(jti)
    if oid:
        book.not_before[oid] = time.time()


def forget_revocations(state: EmulatorState) -> None:
    book = state.tokens
    book.verified.clear()
    book.expired_jtis.clear()
    book.not_before.clear()
    book.meta.clear()
