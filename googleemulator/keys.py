"""The id_token signing key (RS256, persisted as `google-signing-key.pem` in the state dir), its JWKS, and
opaque access / refresh token strings in Google's shapes (`ya29.…`, `1//…`)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_FILE = "google-signing-key.pem"
_lock = threading.Lock()
_keys: dict[str, rsa.RSAPrivateKey] = {}


def signing_key(state_dir: Path | None) -> rsa.RSAPrivateKey:
    cache_key = str(state_dir)
    with _lock:
        if cache_key in _keys:
            return _keys[cache_key]
        path = state_dir / KEY_FILE if state_dir else None
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
        _keys[cache_key] = key
        return key


def _b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def key_id(key: rsa.RSAPrivateKey) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha1(der).hexdigest()  # noqa: S324 - an identifier, as Google's 40-hex kids are


def jwks(state_dir: Path | None) -> dict:
    key = signing_key(state_dir)
    numbers = key.public_key().public_numbers()
    return {
        "keys": [
            {
                "kty": "RSA",
                "alg": "RS256",
                "use": "sig",
                "kid": key_id(key),
                "n": _b64(numbers.n),
                "e": _b64(numbers.e),
            }
        ]
    }


def sign_id_token(state_dir: Path | None, claims: dict) -> str:
    key = signing_key(state_dir)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": key_id(key), "typ": "JWT"})


def at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def new_access_token() -> str:
    return "ya29." + secrets.token_urlsafe(96)


def new_refresh_token() -> str:
    return "1//0" + secrets.token_urlsafe(72)


def new_code() -> str:
    return "4/0" + secrets.token_urlsafe(48)
