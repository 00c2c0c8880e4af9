"""Safe by default in production (issue 11, item 2): DEBUG off unless set, the demo's secrets refused, HTTPS
settings from the environment, ALLOWED_HOSTS from the public URL, and `check --deploy` clean with the
production environment the README documents (read from the README itself)."""

from __future__ import annotations

import re

from cryptography.fernet import Fernet

from tests.ops.conftest import ROOT, STRONG_SECRET_KEY, clean_env, manage, production_env, python, settings_of


def documented_production_env() -> dict[str, str]:
    """The README's "Running it for real" environment block, placeholders (<...>) filled with real values."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n\s*# production environment[^\n]*\n(.*?)```", readme, re.S)
    assert block, "README.md has no production environment block"
    env = {}
    for line in block.group(1).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        env[name] = value[1:-1] if value[:1] == value[-1:] == '"' else value
    fill = {"SECRET_KEY": STRONG_SECRET_KEY, "SHIFTDESK_ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    for name, value in env.items():
        if value.startswith("<"):
            env[name] = fill.get(name, "placeholder-value")
    return env


def test_debug_is_off_unless_set():
    assert settings_of(clean_env(), "DEBUG") == {"DEBUG": False}
    assert settings_of(clean_env(DEBUG="true"), "DEBUG") == {"DEBUG": True}


def test_with_debug_off_the_demo_secret_key_is_a_system_check_error():
    done = manage(clean_env(SHIFTDESK_ENCRYPTION_KEYS=Fernet.generate_key().decode()), "check")
    assert done.returncode != 0
    assert "shiftdesk.E001" in done.stderr and "shiftdesk.E002" not in done.stderr


def test_with_debug_off_empty_encryption_keys_are_a_system_check_error():
    done = manage(clean_env(SECRET_KEY=STRONG_SECRET_KEY), "check")
    assert done.returncode != 0
    assert "shiftdesk.E002" in done.stderr and "shiftdesk.E001" not in done.stderr


def test_check_deploy_fails_too_and_a_bad_key_is_an_error_even_in_the_demo():
    assert "shiftdesk.E001" in manage(clean_env(), "check", "--deploy").stderr
    done = manage(clean_env(DEBUG="true", SHIFTDESK_ENCRYPTION_KEYS="not-a-fernet-key"), "check")
    assert done.returncode != 0 and "shiftdesk.E003" in done.stderr


def test_the_demo_still_starts_with_debug_on():
    done = manage(clean_env(DEBUG="true"), "check")
    assert done.returncode == 0, done.stderr


def test_the_wsgi_application_refuses_to_load_with_the_demo_secrets():
    code = "import shiftdesk.wsgi"
    refused = python(clean_env(), "-c", code)
    assert refused.returncode != 0 and "shiftdesk.E001" in refused.stderr
    loaded = python(production_env(), "-c", code)
    assert loaded.returncode == 0, loaded.stderr


def test_https_settings_and_the_proxy_header_come_from_the_environment():
    env = production_env(
        SHIFTDESK_PUBLIC_URL="https://shiftdesk.example.org",
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        SECURE_HSTS_PRELOAD="true",
    )
    got = settings_of(
        env,
        "SECURE_PROXY_SSL_HEADER", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
    )  # fmt: skip
    assert got == {
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SECURE_SSL_REDIRECT": True,  # on by default for an https public URL
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
    }
    off = settings_of(
        production_env(), "SECURE_PROXY_SSL_HEADER", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS"
    )
    assert off == {"SECURE_PROXY_SSL_HEADER": None, "SECURE_SSL_REDIRECT": False, "SECURE_HSTS_SECONDS": 0}


def test_allowed_hosts_come_from_the_public_url_plus_the_override():
    env = production_env(
        SHIFTDESK_PUBLIC_URL="https://shiftdesk.example.org/", ALLOWED_HOSTS="internal.lan, 10.0.0.5"
    )
    assert settings_of(env, "ALLOWED_HOSTS") == {
        "ALLOWED_HOSTS": ["shiftdesk.example.org", "internal.lan", "10.0.0.5"]
    }


def test_check_deploy_is_clean_with_the_documented_production_environment():
    done = manage(clean_env(**documented_production_env()), "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout
