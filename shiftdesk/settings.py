"""All of ShiftDesk's configuration, from the environment, with defaults that run the demo on SQLite.

Every setting a deployment may change is read here and nowhere else (style.md, habit 9).
"""

from __future__ import annotations

import os
from pathlib import Path

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


SECRET_KEY = os.environ.get("SECRET_KEY", "demo-only-secret-key-change-me-in-production-0123456789")
DEBUG = envbool("DEBUG", "true")
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]

# The absolute URL users reach ShiftDesk at. The OAuth Redirect URL shown in Admin > Integrations is built
# from it, so it must be exactly what the admin registers with Microsoft.
PUBLIC_BASE_URL = os.environ.get("SHIFTDESK_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = [PUBLIC_BASE_URL]

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
    "shiftdesk.feeds",
    "shiftdesk.availability",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
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
STATIC_ROOT = VAR_DIR / "static"

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "ShiftDesk <shiftdesk@localhost>")

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
# Without the variable a key is derived from SECRET_KEY: fine for the demo, not for production.
SHIFTDESK_ENCRYPTION_KEYS = [k for k in os.environ.get("SHIFTDESK_ENCRYPTION_KEYS", "").split(",") if k]

# --- Microsoft identity platform and Graph -----------------------------------------------------------------
# Production defaults are Microsoft's hosts; the demo and tests point them at m365emulator.
MICROSOFT_LOGIN_URL = os.environ.get("MICROSOFT_LOGIN_URL", "https://login.microsoftonline.com").rstrip("/")
MICROSOFT_GRAPH_URL = os.environ.get("MICROSOFT_GRAPH_URL", "https://graph.microsoft.com").rstrip("/")
# A PEM bundle to trust for both (the emulator's CA); empty means the system/certifi default.
MICROSOFT_CA_BUNDLE = os.environ.get("MICROSOFT_CA_BUNDLE", "")
HTTP_TIMEOUT_SECONDS = float(os.environ.get("SHIFTDESK_HTTP_TIMEOUT", "30"))

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
SYNC_PROVIDERS = {
    "microsoft": "shiftdesk.microsoft.provider.GraphBackend",
    "exchange": "shiftdesk.exchange.provider.ExchangeBackend",
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
        "urllib3": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
