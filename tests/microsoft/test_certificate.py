"""The certificate credential, the alternative to a client secret: PEM upload, encrypted, MSAL's assertion."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.core.files.uploadedfile import SimpleUploadedFile

from shiftdesk.microsoft.forms import parse_certificate
from shiftdesk.microsoft.models import AzureADSettings

URL = "/admin/integrations/azure/"


def make_cert(name: str, days: int = 365, encrypt_key: bool = False) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) of a fresh self-signed RSA certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    encryption = serialization.BestAvailableEncryption(b"pw") if encrypt_key else serialization.NoEncryption()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def make_pem(name: str, cert_and_key: tuple[bytes, bytes] | None = None) -> SimpleUploadedFile:
    cert, key = cert_and_key or make_cert(name)
    return SimpleUploadedFile(f"{name}.pem", cert + key, content_type="application/x-pem-file")


def test_it_signs_in_with_an_uploaded_certificate_instead_of_the_secret(alice_client, emulator, app_id):
    cert, key = make_cert("ShiftDesk cert", days=200)
    emulator.control.post(f"/apps/{app_id}/certificates", json={"pem": cert.decode()}).raise_for_status()
    response = alice_client.post(
        URL,
        {
            "application_id": app_id,
            "client_secret": "",
            "account_type": "single",
            "tenant_id": "contoso.onmicrosoft.com",
            "enabled": "enabled",
            "certificate": make_pem("ShiftDesk cert", (cert, key)),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    saved = AzureADSettings.load()
    assert saved.has_certificate and not saved.has_secret and saved.verified_at
    assert saved.certificate_thumbprint == parse_certificate(cert + key).thumbprint
    assert saved.certificate_expires_on == (dt.datetime.now(dt.UTC) + dt.timedelta(days=200)).date()
    assert isinstance(saved.msal_credential(), dict)
    page = alice_client.get("/admin/integrations/").content.decode()
    assert "A certificate is stored" in page and saved.certificate_thumbprint in page
    assert "PRIVATE KEY" not in page


def test_an_unregistered_certificate_is_refused_with_its_code(alice_client, emulator, app_id):
    response = alice_client.post(
        URL,
        {
            "application_id": app_id,
            "account_type": "single",
            "tenant_id": "contoso.onmicrosoft.com",
            "enabled": "enabled",
            "certificate": make_pem("not uploaded to the app"),
        },
    )
    assert response.status_code == 400
    assert "The certificate was rejected" in response.content.decode()
    assert not AzureADSettings.objects.exists()


def test_a_file_without_the_private_key_is_refused_before_any_call(alice_client, emulator, app_id):
    cert, _key = make_cert("no key")
    upload = SimpleUploadedFile("cert.pem", cert)
    before = len(emulator.state.request_log)
    response = alice_client.post(
        URL, {"application_id": app_id, "account_type": "multi", "enabled": "enabled", "certificate": upload}
    )
    assert response.status_code == 400
    assert "private key" in response.content.decode()
    assert len(emulator.state.request_log) == before


def test_a_password_protected_key_or_a_foreign_key_is_refused():
    cert, key = make_cert("locked", encrypt_key=True)
    try:
        parse_certificate(cert + key)
    except ValueError as exc:
        assert "password-protected" in str(exc)
    else:
        raise AssertionError("an encrypted key was accepted")
    cert, _ = make_cert("one")
    _, other_key = make_cert("two")
    try:
        parse_certificate(cert + other_key)
    except ValueError as exc:
        assert "does not belong" in str(exc)
    else:
        raise AssertionError("a foreign key was accepted")
