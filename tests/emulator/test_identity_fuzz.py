"""Bad input to any identity or control endpoint gets a documented error, never a 500."""

from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from m365emulator.control import identity

PARAMS = ["client_id", "redirect_uri", "scope", "response_type", "response_mode", "state", "nonce", "prompt",
          "code_challenge", "code_challenge_method", "login_hint", "grant_type", "code", "refresh_token",
          "client_secret", "client_assertion", "client_assertion_type", "code_verifier", "post_logout_redirect_uri"]  # fmt: skip
TENANTS = ["common", "organizations", "consumers", "contoso.onmicrosoft.com", "nowhere", "%00", "a" * 300]
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(
    tenant=st.sampled_from(TENANTS),
    params=st.dictionaries(st.sampled_from(PARAMS), st.text(max_size=40), max_size=8),
    path=st.sampled_from(["oauth2/v2.0/authorize", "oauth2/v2.0/token", "oauth2/v2.0/logout", "adminconsent",
                          "login", "Consent/Set", "v2.0/.well-known/openid-configuration", "discovery/v2.0/keys"]),
)  # fmt: skip
def test_identity_endpoints_never_fail_with_500(emulator_server, world, tenant, params, path):
    http = emulator_server.control  # any client that trusts the CA; absolute URLs below
    url = f"{emulator_server.base_url}/{tenant}/{path}"
    for response in (http.get(f"{url}?{urlencode(params)}"), http.post(url, data=params)):
        assert response.status_code < 500, (path, params, response.text[:500])


@FUZZ
@given(
    route=st.sampled_from([r for r in identity.routes if "POST" in r.methods or "PATCH" in r.methods]),
    body=st.dictionaries(st.sampled_from(["tenants", "apps", "users", "personal_users", "domain", "upn", "tenant",
                                          "name", "client_id", "user", "scopes", "app_roles", "expires_in_days",
                                          "expires", "value", "pem", "password", "access_token", "refresh_token",
                                          "redirect_uris", "sign_in_audience", "users_may_consent"]), JSON, max_size=5),
)  # fmt: skip
def test_control_endpoints_never_fail_with_500(emulator_server, world, route, body):
    path = route.path.replace("{tenant}", "contoso.onmicrosoft.com").replace(
        "{user}", "megan@contoso.onmicrosoft.com"
    )
    path = path.replace("{client_id}", "nope").replace("{key_id}", "nope")
    method = "POST" if "POST" in route.methods else "PATCH"
    if path == "/reset":
        return
    response = emulator_server.control.request(method, path, json=body)
    assert response.status_code < 500, (path, body, response.text[:500])
