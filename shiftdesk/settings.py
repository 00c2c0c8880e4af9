"""All of ShiftDesk's configuration, from the environment, with defaults that run the demo on SQLite.

Every setting a deployment may change is read here and nowhere else (style.md, habit 9).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SHIFTDESK_VAR_DIR", BASE_DIR / "var"))


def envbool(name: str, default: str) -> bool:
    value = os.environ.get(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{name} must be true or false, not {value!r}")


def envint(name: str, default: str) -> int:
    value = os.environ.get(name, default)
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# The demo's key is public (it is in this file): with DEBUG off the system check in shiftdesk/ops/checks.py
# refuses to start while it is in use, and while SHIFTDESK_ENCRYPTION_KEYS is empty.
DEMO_SECRET_KEY = "demo-only-secret-key-change-me-in-production-0123456789"
SECRET_KEY = os.environ.get("SECRET_KEY", DEMO_SECRET_KEY)
# Former SECRET_KEYs, comma-separated: sessions, password-reset links and (through crypto.py) secrets at rest
# made with them stay valid until they are removed from here (README: "After a leak").
SECRET_KEY_FALLBACKS = envlist("SECRET_KEY_FALLBACKS")
# Off unless set: production is the default, the demo (dev.py) and the tests turn it on.
DEBUG = envbool("DEBUG", "false")

# The absolute URL users reach ShiftDesk at. The OAuth Redirect URL shown in Admin > Integrations and every
# link in an email (password reset, invitations, reauthorization notices) are built from it, never from the
# request's Host header.
PUBLIC_BASE_URL = os.environ.get("SHIFTDESK_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = [PUBLIC_BASE_URL]
# The public URL's host, plus any other names the site is reached by (ALLOWED_HOSTS, comma-separated, e.g.
# an internal name). With DEBUG on, the local names the demo and browser tests use. /healthz answers on any
# Host (shiftdesk/ops/middleware.py): load balancers probe by address.
_public_host = urlsplit(PUBLIC_BASE_URL).hostname or "localhost"
ALLOWED_HOSTS = [f"[{_public_host}]" if ":" in _public_host else _public_host, *envlist("ALLOWED_HOSTS")]
if DEBUG:
    ALLOWED_HOSTS += ["127.0.0.1", "localhost", "[::1]", "testserver"]

# --- HTTPS ------------------------------------------------------------------------------------------------------
# Behind a reverse proxy that terminates TLS, name the header it sets, e.g. SECURE_PROXY_SSL_HEADER=
# X-Forwarded-Proto (the value it must carry is "https"). Only set it when the proxy always sets or overwrites
# that header: otherwise a client could claim https itself.
_proxy_header = os.environ.get("SECURE_PROXY_SSL_HEADER", "").strip()
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https") if _proxy_header else None
)
# Redirect http to https; on by default when the public URL is https.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", str(PUBLIC_BASE_URL.startswith("https://")))
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain http
# HSTS: off unless set (browsers remember it for SECURE_HSTS_SECONDS: turn it on once https works).
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "0")
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "false")
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "false")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "shiftdesk.accounts",
    "shiftdesk.scheduling",
    "shiftdesk.calendarsync",
    "shiftdesk.microsoft",
    "shiftdesk.exchange",
    "shiftdesk.google",
    "shiftdesk.feeds",
    "shiftdesk.availability",
    "shiftdesk.ops",
    "axes",
]

MIDDLEWARE = [
    "shiftdesk.ops.middleware.HealthzMiddleware",  # first: answers /healthz before Host checks and redirects
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files from STATIC_ROOT (collectstatic), DEBUG off
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "shiftdesk.ops.middleware.UndecryptableNoticeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a lockout into the "Too many attempts" page (429)
]

ROOT_URLCONF = "shiftdesk.urls"
WSGI_APPLICATION = "shiftdesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "shiftdesk" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shiftdesk.accounts.context_processors.navigation",
                "shiftdesk.ops.context_processors.undecryptable_secrets",
            ],
        },
    },
]

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'shiftdesk.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker) share the file: wait for locks instead of failing at once, and
    # take the write lock at BEGIN so a read-then-write transaction cannot deadlock (Django 5.1+).
    # WAL: the web's reads never wait for the sync worker's writes (and the reverse); synchronous=NORMAL
    # is durable across application crashes in WAL mode and saves an fsync per commit (calendarsync).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Tests get a file too, not Django's shared-cache in-memory database: several threads (the sync worker's
    # pool, live_server) write at once in some tests, and shared-cache locks fail at once with "database
    # table is locked" instead of waiting for `timeout`. One file per test process.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# django-axes first: it refuses a locked-out username/address before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "shiftdesk.accounts.throttle.ThrottlingBackend",  # axes' AxesStandaloneBackend
    "django.contrib.auth.backends.ModelBackend",
]
# --- Login and password-reset throttling (django-axes) ---------------------------------------------------------
# After SHIFTDESK_LOGIN_FAILURE_LIMIT failed logins or password-reset requests for one email address from one
# client address, both are refused for SHIFTDESK_LOGIN_COOLOFF_MINUTES (shiftdesk/accounts/throttle.py). By
# address and email together: one user's typos never lock out a whole library behind one NAT address. An admin unlocks early with Unlock in Admin > Accounts or
# `manage.py axes_reset_username EMAIL`.
AXES_FAILURE_LIMIT = envint("SHIFTDESK_LOGIN_FAILURE_LIMIT", "5")
AXES_COOLOFF_TIME = dt.timedelta(minutes=envint("SHIFTDESK_LOGIN_COOLOFF_MINUTES", "15"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "shiftdesk.accounts.throttle.username_of"
AXES_LOCKOUT_CALLABLE = "shiftdesk.accounts.throttle.lockout_response"
AXES_VERBOSE = False  # its log lines would name the email address of every attempt
# The client address is REMOTE_ADDR (no X-Forwarded-For parsing: a client could forge it). Behind a reverse
# proxy every client has the proxy's address, so the lockout is then per email address.

PASSWORD_HASHERS = (
    ["django.contrib.auth.hashers.MD5PasswordHasher"]  # tests only: 100x faster user creation
    if envbool("SHIFTDESK_FAST_PASSWORD_HASHER", "false")
    else ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"  # instants are stored in UTC; each site has its own IANA zone for display
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "shiftdesk" / "static"]
STATIC_ROOT = Path(os.environ.get("SHIFTDESK_STATIC_ROOT", VAR_DIR / "static"))  # `manage.py collectstatic`
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every start when it is missing

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "ShiftDesk <shiftdesk@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# For EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend (production):
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", "587")
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "true")  # STARTTLS on EMAIL_PORT
EMAIL_TIMEOUT = 30

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"  # the OAuth callback is a top-level GET from Microsoft: Lax cookies arrive
SESSION_COOKIE_SECURE = PUBLIC_BASE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
    }
}

# --- Secrets at rest -------------------------------------------------------------------------------------
# Fernet keys (urlsafe base64, 32 bytes), comma-separated, newest first: MultiFernet encrypts with the first
# and decrypts with any, so a key is rotated by prepending a new one and running `manage.py rotate_keys`.
# Without the variable a key is derived from SECRET_KEY: fine for the demo; with DEBUG off it is an error.
# Keys derived from SECRET_KEY and SECRET_KEY_FALLBACKS always decrypt too (never encrypt when keys are set),
# so a database from before the variable was set, or from before SECRET_KEY changed, keeps working until
# rotate_keys has moved it onto the newest key (lib/crypto.py).
SHIFTDESK_ENCRYPTION_KEYS = envlist("SHIFTDESK_ENCRYPTION_KEYS")
# Workers (syncworker, refreshbusy) record a heartbeat; Integration Status warns when none was seen this long.
SHIFTDESK_HEARTBEAT_STALE_SECONDS = envint("SHIFTDESK_HEARTBEAT_STALE_SECONDS", "300")

# --- Microsoft identity platform and Graph -----------------------------------------------------------------
# Production defaults are Microsoft's hosts; the demo and tests point them at m365emulator.
MICROSOFT_LOGIN_URL = os.environ.get("MICROSOFT_LOGIN_URL", "https://login.microsoftonline.com").rstrip("/")
MICROSOFT_GRAPH_URL = os.environ.get("MICROSOFT_GRAPH_URL", "https://graph.microsoft.com").rstrip("/")
# A PEM bundle to trust for both (the emulator's CA); empty means the system/certifi default.
MICROSOFT_CA_BUNDLE = os.environ.get("MICROSOFT_CA_BUNDLE", "")
HTTP_TIMEOUT_SECONDS = float(os.environ.get("SHIFTDESK_HTTP_TIMEOUT", "30"))

# --- Google OAuth 2 and the Google Calendar API (shiftdesk/google) -----------------------------------------
# Google's hosts by default; the demo and tests point all three at googleemulator (https://localhost:8443/google).
# ACCOUNTS: the authorization page and the id_token issuer; OAUTH: token and revoke; API: Calendar API v3, JWKS.
GOOGLE_ACCOUNTS_URL = os.environ.get("GOOGLE_ACCOUNTS_URL", "https://accounts.google.com").rstrip("/")
GOOGLE_OAUTH_URL = os.environ.get("GOOGLE_OAUTH_URL", "https://oauth2.googleapis.com").rstrip("/")
GOOGLE_API_URL = os.environ.get("GOOGLE_API_URL", "https://www.googleapis.com").rstrip("/")
# A PEM bundle to trust for the three (the emulator's CA); empty means the system/certifi default.
GOOGLE_CA_BUNDLE = os.environ.get("GOOGLE_CA_BUNDLE", "")

# --- Password Authentication (Exchange EWS) ----------------------------------------------------------------------
# Which Exchange servers users may connect to (shiftdesk/exchange/network.py), comma-separated, added to the
# list in Admin > Integrations > Password Authentication: host names (mail.example.org, *.example.org) restrict
# the names users may type (none: any name); addresses and networks (10.0.0.5, 10.20.0.0/16) are the only
# loopback/private/link-local/multicast/reserved addresses ShiftDesk will connect to (none: public addresses
# only). The demo allows 127.0.0.1, where the emulator's EWS runs.
EXCHANGE_ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("EXCHANGE_ALLOWED_HOSTS", "").split(",") if h.strip()
]
# Seconds to wait for an Exchange server to accept a connection (and finish TLS): short, so an address that
# never answers does not hold a web worker for HTTP_TIMEOUT_SECONDS.
EXCHANGE_CONNECT_TIMEOUT_SECONDS = float(os.environ.get("SHIFTDESK_EXCHANGE_CONNECT_TIMEOUT", "5"))
# Connection tests (Save in the Password Authentication box) one user may run per window.
EXCHANGE_CHECKS_PER_WINDOW = envint("SHIFTDESK_EXCHANGE_CHECKS_PER_WINDOW", "10")
EXCHANGE_CHECK_WINDOW_SECONDS = envint("SHIFTDESK_EXCHANGE_CHECK_WINDOW_SECONDS", "600")

# --- Calendar sync worker ------------------------------------------------------------------------------------
SYNC_MAX_CONCURRENCY_PER_MAILBOX = envint("SHIFTDESK_SYNC_MAX_CONCURRENCY_PER_MAILBOX", "4")
SYNC_WORKER_POLL_SECONDS = float(os.environ.get("SHIFTDESK_SYNC_POLL_SECONDS", "1.0"))
# Connections one worker process syncs at once (threads, each with its own event loop and HTTP client).
SYNC_WORKER_CONCURRENCY = envint("SHIFTDESK_SYNC_WORKER_CONCURRENCY", "16")
# A worker's hold on a connection; a killed worker's connections are picked up after this.
SYNC_LEASE_SECONDS = envint("SHIFTDESK_SYNC_LEASE_SECONDS", "60")
# Dirty links one step handles; more are left for the next step (the lease is short and fair).
SYNC_STEP_MAX_LINKS = envint("SHIFTDESK_SYNC_STEP_MAX_LINKS", "200")
# Backoff for 5xx/timeouts/dropped connections: base * 2^(attempts-1), jittered, capped.
SYNC_BACKOFF_BASE_SECONDS = envint("SHIFTDESK_SYNC_BACKOFF_BASE_SECONDS", "2")
SYNC_BACKOFF_MAX_SECONDS = envint("SHIFTDESK_SYNC_BACKOFF_MAX_SECONDS", "3600")
# The jittered wait before a transient failure (5xx, timeout, dropped connection) is tried again inside a step:
# base * 2^attempt, halved at random (calendarsync/pacing.py). Not an environment variable; the tests lower it.
SYNC_RETRY_BACKOFF_BASE_SECONDS = 0.2
# A Retry-After up to this long is waited out inside the step; longer ones are stored on the connection.
SYNC_INLINE_RETRY_AFTER_MAX_SECONDS = envint("SHIFTDESK_SYNC_INLINE_RETRY_AFTER_MAX_SECONDS", "5")
# Safety brake: a pass deleting more than half of a user's upcoming events, and at least this many, pauses.
SYNC_SAFETY_BRAKE_MIN_DELETES = envint("SHIFTDESK_SYNC_SAFETY_BRAKE_MIN_DELETES", "5")
SYNC_LOG_KEEP_PER_CONNECTION = envint("SHIFTDESK_SYNC_LOG_KEEP_PER_CONNECTION", "200")
# Refresh tokens die after 90 days unused: refresh idle connections after this many days, and warn the
# user by email when a connection could not be refreshed for this many days.
SYNC_IDLE_REFRESH_DAYS = envint("SHIFTDESK_SYNC_IDLE_REFRESH_DAYS", "30")
SYNC_REFRESH_WARN_DAYS = envint("SHIFTDESK_SYNC_REFRESH_WARN_DAYS", "75")
# The periodic sweep: lost wake-ups, idle refreshes, export jobs.
SYNC_SWEEP_SECONDS = envint("SHIFTDESK_SYNC_SWEEP_SECONDS", "30")
# How often upcoming events are checked to still exist (the user may delete them in Outlook), and how many.
SYNC_VERIFY_HOURS = envint("SHIFTDESK_SYNC_VERIFY_HOURS", "6")
# With change tracking (Graph calendarView/delta on the sync calendar) a check is one cheap request when
# nothing changed: run it this often instead, over a window of this many days ahead (restarted halfway).
SYNC_DELTA_MINUTES = envint("SHIFTDESK_SYNC_DELTA_MINUTES", "15")
SYNC_DELTA_WINDOW_DAYS = envint("SHIFTDESK_SYNC_DELTA_WINDOW_DAYS", "180")
SYNC_VERIFY_MAX_EVENTS = envint("SHIFTDESK_SYNC_VERIFY_MAX_EVENTS", "200")
# Graph JSON batching: up to 20 event writes per $batch request (1 = one request per write).
SYNC_GRAPH_BATCH_SIZE = envint("SHIFTDESK_SYNC_GRAPH_BATCH_SIZE", "20")
# Google batching: event writes per batch request (Google allows 1000; each call still counts against the
# 600-per-user-per-minute quota). 1 = one request per write.
SYNC_GOOGLE_BATCH_SIZE = envint("SHIFTDESK_SYNC_GOOGLE_BATCH_SIZE", "50")
# Google calls per sliding minute this worker process sends (shiftdesk/google/provider.py ProjectQuota): Google's
# default per-project quota; with N workers sharing one Cloud project, the project's quota / N. 0 = no window.
SYNC_GOOGLE_PROJECT_QUOTA_PER_MINUTE = envint("SHIFTDESK_SYNC_GOOGLE_PROJECT_QUOTA_PER_MINUTE", "10000")
SYNC_PROVIDERS = {
    "microsoft": "shiftdesk.microsoft.provider.GraphBackend",
    "exchange": "shiftdesk.exchange.provider.ExchangeBackend",
    "google": "shiftdesk.google.provider.GoogleBackend",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # MSAL and urllib3 may log request bodies at DEBUG (tokens, secrets): never let them.
        "msal": {"level": "WARNING"},
        # requests-oauthlib logs token requests and answers (code_verifier, tokens, Basic auth) at DEBUG: never.
        "requests_oauthlib": {"level": "WARNING"},
        "oauthlib": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # an INFO line per login; lockouts come as WARNING
    },
}
