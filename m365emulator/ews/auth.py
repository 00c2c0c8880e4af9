"""Who is calling /EWS/Exchange.asmx: HTTP Basic and NTLM (NTLMv2), as an on-premises Exchange offers them.

An unauthenticated request gets 401 with `WWW-Authenticate: NTLM` and `Basic realm=...` (Negotiate/Kerberos is
not offered: there is no KDC). NTLM is a three-leg handshake bound to one TCP connection: NEGOTIATE -> 401 with
a CHALLENGE -> AUTHENTICATE. The emulator keeps each connection's challenge keyed by the client's (host, port)
and checks the NTLMv2 proof (MS-NLMP 3.3.2) against the directory password. What it does not do: NTLMv1/LM
responses (refused), the MIC and channel-binding checks (accepted unverified), and session security
(signing/sealing), which HTTP does not use.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import struct
import time
from typing import Any

from m365emulator.directory import User

NTLM_SIGNATURE = b"NTLMSSP\x00"
NTLMSSP_NEGOTIATE_UNICODE = 0x00000001
NTLMSSP_REQUEST_TARGET = 0x00000004
NTLMSSP_NEGOTIATE_NTLM = 0x00000200
NTLMSSP_TARGET_TYPE_DOMAIN = 0x00010000
NTLMSSP_NEGOTIATE_TARGET_INFO = 0x00800000
NTLMSSP_NEGOTIATE_VERSION = 0x02000000
DOMAIN = "CONTOSO"
SERVER = "EXCH01"
CHALLENGE_TTL = 60.0


class AuthFailed(Exception):
    """401: no or wrong credentials. `challenge` is an NTLM CHALLENGE to send back, when there is one."""

    def __init__(self, challenge: str | None = None) -> None:
        super().__init__("unauthorized")
        self.challenge = challenge


def www_authenticate(realm: str, basic: bool, ntlm: bool) -> list[tuple[bytes, bytes]]:
    headers = []
    if ntlm:
        headers.append((b"www-authenticate", b"NTLM"))
    if basic:
        headers.append((b"www-authenticate", f'Basic realm="{realm}"'.encode()))
    return headers


def _user_for(directory: Any, login: str, domain: str = "") -> User | None:
    login = login.strip()
    if "\\" in login:  # DOMAIN\user
        domain, login = login.split("\\", 1)
    user = directory.user_by_login(login)
    if user is None and "@" not in login:
        # A bare account name: match the local part of a UPN (sAMAccountName-style logons).
        matches = [
            u
            for u in directory.users.values()
            if u.user_principal_name.lower().split("@")[0] == login.lower()
        ]
        user = matches[0] if len(matches) == 1 else None
    return user if user is not None and user.enabled else None


def basic_user(directory: Any, header_value: str) -> User:
    try:
        decoded = base64.b64decode(header_value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise AuthFailed() from None
    login, _, password = decoded.partition(":")
    user = _user_for(directory, login)
    if user is None or not hmac.compare_digest(user.password.encode(), password.encode()):
        raise AuthFailed()
    return user


# ---- NTLM ------------------------------------------------------------------------------------------------
class NtlmServer:
    """Pending challenges per client connection."""

    def __init__(self) -> None:
        self.pending: dict[Any, tuple[bytes, float]] = {}

    def negotiate(self, connection: Any, negotiate_msg: bytes) -> str:
        if not negotiate_msg.startswith(NTLM_SIGNATURE) or struct.unpack("<I", negotiate_msg[8:12])[0] != 1:
            raise AuthFailed()
        client_flags = struct.unpack("<I", negotiate_msg[12:16])[0]
        challenge = os.urandom(8)
        now = time.monotonic()
        self.pending = {k: v for k, v in self.pending.items() if now - v[1] < CHALLENGE_TTL}
        self.pending[connection] = (challenge, now)
        return base64.b64encode(_challenge_message(client_flags, challenge)).decode()

    def authenticate(self, directory: Any, connection: Any, message: bytes) -> User:
        pending = self.pending.pop(connection, None)
        if pending is None or not message.startswith(NTLM_SIGNATURE):
            raise AuthFailed()
        if struct.unpack("<I", message[8:12])[0] != 3:
            raise AuthFailed()
        flags = struct.unpack("<I", message[60:64])[0]
        unicode = bool(flags & NTLMSSP_NEGOTIATE_UNICODE)

        def field(offset: int) -> bytes:
            length, _, start = struct.unpack("<HHI", message[offset : offset + 8])
            return message[start : start + length]

        def text(offset: int) -> str:
            raw = field(offset)
            return raw.decode("utf-16-le" if unicode else "cp437")

        nt_response = field(20)
        domain, username = text(28), text(36)
        if len(nt_response) <= 24:  # NTLMv1: refused, as a hardened Exchange (LmCompatibilityLevel 5) does
            raise AuthFailed()
        user = _user_for(directory, username if "@" in username or not domain else f"{username}", domain)
        if user is None:
            raise AuthFailed()
        key = hmac.new(_md4(user.password.encode("utf-16-le")), (username.upper() + domain).encode("utf-16-le"),
                       "md5").digest()  # fmt: skip
        proof, blob = nt_response[:16], nt_response[16:]
        expected = hmac.new(key, pending[0] + blob, "md5").digest()
        if not hmac.compare_digest(proof, expected):
            raise AuthFailed()
        return user


def _av_pair(av_id: int, value: bytes) -> bytes:
    return struct.pack("<HH", av_id, len(value)) + value


def _challenge_message(client_flags: int, challenge: bytes) -> bytes:
    target = DOMAIN.encode("utf-16-le")
    timestamp = struct.pack("<Q", int((time.time() + 11644473600) * 10_000_000))
    info = (
        _av_pair(2, DOMAIN.encode("utf-16-le"))
        + _av_pair(1, SERVER.encode("utf-16-le"))
        + _av_pair(4, b"contoso.local".decode().encode("utf-16-le"))
        + _av_pair(3, f"{SERVER.lower()}.contoso.local".encode("utf-16-le"))
        + _av_pair(7, timestamp)
        + _av_pair(0, b"")
    )
    # Accept what the client asks for (a permissive Exchange), always Unicode, with target info.
    flags = (
        client_flags
        | NTLMSSP_NEGOTIATE_UNICODE
        | NTLMSSP_REQUEST_TARGET
        | NTLMSSP_NEGOTIATE_NTLM
        | NTLMSSP_TARGET_TYPE_DOMAIN
        | NTLMSSP_NEGOTIATE_TARGET_INFO
        | NTLMSSP_NEGOTIATE_VERSION
    )
    header_len = 56
    return (
        NTLM_SIGNATURE
        + struct.pack("<I", 2)
        + struct.pack("<HHI", len(target), len(target), header_len)
        + struct.pack("<I", flags)
        + challenge
        + b"\x00" * 8
        + struct.pack("<HHI", len(info), len(info), header_len + len(target))
        + bytes([10, 0]) + struct.pack("<H", 14393) + b"\x00\x00\x00\x0f"  # Version: 10.0.14393, NTLM rev 15
        + target
        + info
    )  # fmt: skip


def _md4(data: bytes) -> bytes:
    """MD4 (RFC 1320) for the NT hash; OpenSSL 3 no longer offers it through hashlib."""

    def f(x: int, y: int, z: int) -> int:
        return (x & y) | (~x & z)

    def g(x: int, y: int, z: int) -> int:
        return (x & y) | (x & z) | (y & z)

    def h(x: int, y: int, z: int) -> int:
        return x ^ y ^ z

    def rotl(v: int, s: int) -> int:
        v &= 0xFFFFFFFF
        return ((v << s) | (v >> (32 - s))) & 0xFFFFFFFF

    msg = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack("<Q", len(data) * 8)
    a, b, c, d = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476
    for chunk in range(0, len(msg), 64):
        x = struct.unpack("<16I", msg[chunk : chunk + 64])
        aa, bb, cc, dd = a, b, c, d
        for i in (0, 4, 8, 12):
            a = rotl(a + f(b, c, d) + x[i], 3)
            d = rotl(d + f(a, b, c) + x[i + 1], 7)
            c = rotl(c + f(d, a, b) + x[i + 2], 11)
            b = rotl(b + f(c, d, a) + x[i + 3], 19)
        for i in (0, 1, 2, 3):
            a = rotl(a + g(b, c, d) + x[i] + 0x5A827999, 3)
            d = rotl(d + g(a, b, c) + x[i + 4] + 0x5A827999, 5)
            c = rotl(c + g(d, a, b) + x[i + 8] + 0x5A827999, 9)
            b = rotl(b + g(c, d, a) + x[i + 12] + 0x5A827999, 13)
        for i in (0, 2, 1, 3):
            a = rotl(a + h(b, c, d) + x[i] + 0x6ED9EBA1, 3)
            d = rotl(d + h(a, b, c) + x[i + 8] + 0x6ED9EBA1, 9)
            c = rotl(c + h(d, a, b) + x[i + 4] + 0x6ED9EBA1, 11)
            b = rotl(b + h(c, d, a) + x[i + 12] + 0x6ED9EBA1, 15)
        a, b, c, d = (
            (a + aa) & 0xFFFFFFFF,
            (b + bb) & 0xFFFFFFFF,
            (c + cc) & 0xFFFFFFFF,
            (d + dd) & 0xFFFFFFFF,
        )
    return struct.pack("<4I", a, b, c, d)
