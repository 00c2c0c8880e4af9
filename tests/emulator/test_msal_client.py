"""MSAL for Python, unmodified: client credentials (secret and certificate) and the errors it reports."""

from __future__ import annotations

import datetime as dt

import msal
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from m365emulator.testing import STANDARD_SECRET
from m365emulator.tokens import verify_access_token

GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"]


def confidential(emulator, client_id, credential=STANDARD_SECRET, tenant="contoso.onmicrosoft.com"):
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=credential,
        authority=emulator.authority(tenant),
        instance_discovery=False,
        http_client=emulator.requests_session(),
    )


def make_certificate():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ShiftDesk")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256())
    )  # fmt: skip
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert, key_pem


@pytest.fixture
def client_id(emulator, world):
    cid = world["apps"][0]["client_id"]
    emulator.control.post(
        "/consents",
        json={"client_id": cid, "tenant": "contoso.onmicrosoft.com", "app_roles": ["Calendars.ReadWrite"]},
    ).raise_for_status()
    return cid


def test_it_acquires_an_app_token_with_a_secret(emulator, client_id):
    result = confidential(emulator, client_id).acquire_token_for_client(scopes=GRAPH_DEFAULT)
    assert "access_token" in result, result
    claims = verify_access_token(emulator.state, result["access_token"])
    assert claims.app_only and claims.client_id == client_id
    assert claims.tid == emulator.state.directory.tenant_by_segment("contoso.onmicrosoft.com").id


@pytest.mark.parametrize("sha256", [False, True])
def test_it_acquires_an_app_token_with_a_certificate(emulator, client_id, sha256):
    cert, key_pem = make_certificate()
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    emulator.control.post(f"/apps/{client_id}/certificates", json={"pem": pem}).raise_for_status()
    if sha256:  # given the certificate, MSAL signs with PS256 and sends x5t#S256
        credential = {"private_key": key_pem, "public_certificate": pem}
    else:
        credential = {"private_key": key_pem, "thumbprint": cert.fingerprint(hashes.SHA1()).hex()}
    result = confidential(emulator, client_id, credential).acquire_token_for_client(scopes=GRAPH_DEFAULT)
    assert "access_token" in result, result


def test_an_unregistered_certificate_is_refused(emulator, client_id):
    cert, key_pem = make_certificate()
    credential = {"private_key": key_pem, "thumbprint": cert.fingerprint(hashes.SHA1()).hex()}
    result = confidential(emulator, client_id, credential).acquire_token_for_client(scopes=GRAPH_DEFAULT)
    assert result["error"] == "invalid_client" and result["error_codes"] == [700027]


def test_msal_reports_a_wrong_secret(emulator, client_id):
    result = confidential(emulator, client_id, "wrong-secret").acquire_token_for_client(scopes=GRAPH_DEFAULT)
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]


def test_msal_reports_an_expired_secret(emulator, world, client_id):
    key_id = world["apps"][0]["secrets"][0]["key_id"]
    emulator.control.post(f"/apps/{client_id}/secrets/{key_id}/expire").raise_for_status()
    result = confidential(emulator, client_id).acquire_token_for_client(scopes=GRAPH_DEFAULT)
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000222]


def test_msal_reports_an_unknown_app(emulator, world):
    result = confidential(emulator, "6731de76-14a6-49ae-97bc-6eba6914391e").acquire_token_for_client(
        scopes=GRAPH_DEFAULT
    )
    assert result["error"] == "unauthorized_client"
    assert result["error_codes"] == [700016]


def test_msal_refuses_an_unknown_tenant_at_discovery(emulator, world):
    with pytest.raises(ValueError, match="90002|invalid_tenant|tenant"):
        confidential(emulator, world["apps"][0]["client_id"], tenant="nowhere.onmicrosoft.com")
