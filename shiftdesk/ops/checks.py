"""System checks that keep a production deployment from starting with the demo's secrets.

With DEBUG off (production; the demo and the tests turn it on), the demo SECRET_KEY (public: it is in
settings.py) or an empty SHIFTDESK_ENCRYPTION_KEYS (secrets at rest would be encrypted with a key derived from
SECRET_KEY) are errors: every management command (migrate, syncworker, refreshbusy, check --deploy) refuses to
run, and so does the WSGI application (shiftdesk/wsgi.py calls `refuse_unsafe_start`).
"""

from __future__ import annotations

from cryptography.fernet import Fernet
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@checks.register(checks.Tags.security)
def production_secrets(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for position, key in enumerate(settings.SHIFTDESK_ENCRYPTION_KEYS, start=1):
        try:
            Fernet(key)
        except ValueError:
            errors.append(
                checks.Error(
                    f"Key {position} of SHIFTDESK_ENCRYPTION_KEYS is not a Fernet key.",
                    hint="Each key is 32 random bytes in URL-safe base64, e.g. from "
                    '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`.',
                    id="shiftdesk.E003",
                )
            )
    if settings.DEBUG:
        return errors
    if settings.SECRET_KEY == settings.DEMO_SECRET_KEY:
        errors.append(
            checks.Error(
                "SECRET_KEY is the demo's key, which is public; DEBUG is off, so this is production.",
                hint="Set SECRET_KEY to 50 or more random characters (README: Running it for real), or DEBUG=true "
                "for a local demo.",
                id="shiftdesk.E001",
            )
        )
    if not settings.SHIFTDESK_ENCRYPTION_KEYS:
        errors.append(
            checks.Error(
                "SHIFTDESK_ENCRYPTION_KEYS is empty: stored secrets would be encrypted with a key derived from "
                "SECRET_KEY; DEBUG is off, so this is production.",
                hint="Set SHIFTDESK_ENCRYPTION_KEYS to a Fernet key (README: Running it for real); an existing "
                "database is then moved onto it with `manage.py rotate_keys`.",
                id="shiftdesk.E002",
            )
        )
    return errors


def refuse_unsafe_start() -> None:
    """Raise ImproperlyConfigured when the checks above fail (WSGI servers do not run system checks)."""
    errors = production_secrets()
    if errors:
        raise ImproperlyConfigured(" ".join(f"{e.id}: {e.msg} {e.hint}" for e in errors))
