"""OIDC discovery and JWKS for each kind of authority."""

from __future__ import annotations

import jwt
import pytest

from m365emulator.directory import CONSUMERS_TENANT_ID


def get(emulator, path):
    with emulator.http() as http:
        return http.get(emulator.base_url + path)


def test_a_tenant_document_names_its_guid_everywhere(emulator, world):
    tid = world["tenants"][0]["id"]
    for segment in (tid, "contoso.onmicrosoft.com", "CONTOSO.onmicrosoft.com"):
        doc = get(emulator, f"/{segment}/v2.0/.well-known/openid-configuration").json()
        assert doc["issuer"] == f"{emulator.base_url}/{tid}/v2.0"
        assert doc["token_endpoint"] == f"{emulator.base_url}/{tid}/oauth2/v2.0/token"
        assert doc["authorization_endpoint"] == f"{emulator.base_url}/{tid}/oauth2/v2.0/authorize"
        assert doc["jwks_uri"] == f"{emulator.base_url}/{tid}/discovery/v2.0/keys"
        assert doc["end_session_endpoint"] == f"{emulator.base_url}/{tid}/oauth2/v2.0/logout"
    assert doc["response_modes_supported"] == ["query", "fragment", "form_post"]
    assert doc["token_endpoint_auth_methods_supported"] == [
        "client_secret_post",
        "private_key_jwt",
        "client_secret_basic",
    ]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["subject_types_supported"] == ["pairwise"]
    assert doc["msgraph_host"] == "graph.microsoft.com"


@pytest.mark.parametrize(
    ("segment", "issuer_tenant"),
    [("common", "{tenantid}"), ("organizations", "{tenantid}"), ("consumers", CONSUMERS_TENANT_ID)],
)
def test_meta_tenants(emulator, world, segment, issuer_tenant):
    doc = get(emulator, f"/{segment}/v2.0/.well-known/openid-configuration").json()
    assert doc["issuer"] == f"{emulator.base_url}/{issuer_tenant}/v2.0"
    assert doc["token_endpoint"] == f"{emulator.base_url}/{segment}/oauth2/v2.0/token"


def test_an_unknown_tenant_is_90002_on_discovery_and_keys(emulator, world):
    for path in ("/nowhere.onmicrosoft.com/v2.0/.well-known/openid-configuration",
                 "/00000000-0000-0000-0000-000000000001/discovery/v2.0/keys"):  # fmt: skip
        response = get(emulator, path)
        assert response.status_code == 400
        assert response.json()["error_codes"] == [90002]


def test_the_jwks_verifies_issued_tokens(emulator, world):
    keys = get(emulator, "/common/discovery/v2.0/keys").json()["keys"]
    assert keys[0]["kty"] == "RSA" and keys[0]["use"] == "sig"
    from m365emulator import tokens

    user = emulator.state.directory.user_by_login("megan@contoso.onmicrosoft.com")
    raw, _ = tokens.issue_access_token(
        emulator.state, client_id="c", app_name="A", tenant_id=user.tenant_id, scopes=["User.Read"], user=user
    )
    key = jwt.PyJWK(keys[0])
    assert jwt.get_unverified_header(raw)["kid"] == keys[0]["kid"]
    claims = jwt.decode(raw, key.key, algorithms=["RS256"], audience="https://graph.microsoft.com")
    assert claims["scp"] == "User.Read" and claims["oid"] == user.oid and claims["tid"] == user.tenant_id
    assert claims["exp"] - claims["iat"] == 3599


def test_unknown_paths_answer_404_json(emulator, world):
    response = get(emulator, "/common/oauth2/v2.0/nothing")
    assert response.status_code == 404
