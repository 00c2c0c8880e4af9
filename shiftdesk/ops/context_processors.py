"""Tell the user, on the page itself, when a secret it needed could not be decrypted (lib/crypto.py).

This runs when a page (or a box of it) is rendered, after its view has read its rows, so the secrets the view
read are known. It adds one warning per request through Django's messages (base.html shows them) saying what
to do about it: re-enter the Client Secret, authorize again. The value itself reads as empty meanwhile, so
nothing breaks (no 500) and nothing is overwritten until the secret is entered again.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest

from shiftdesk.lib import crypto

MESSAGE = (
    "Some stored secrets cannot be decrypted with the configured encryption keys ({what}); the keys or "
    "SECRET_KEY were changed. {todo}"
)
TODO_ADMIN = (
    "Enter the Client Secret: Value (or certificate) again in Admin > Integrations and press Save Settings."
)
TODO_USER = (
    "Press Authorize with Microsoft Account again (or enter your Exchange password again) in Manage Account > "
    "Calendar Sync."
)
TODO_FEED = "Press Regenerate URL in the Calendar Feed box to see a feed address again."
TODO_OTHER = "An admin can restore the previous key (README: Key rotation)."


def undecryptable_message(seen: set[str]) -> str:
    todo = []
    if any(label.lower().startswith("azure ad") for label in seen):
        todo.append(TODO_ADMIN)
    if any("connection" in label.lower() for label in seen):
        todo.append(TODO_USER)
    if any(label.lower().startswith("feed token") for label in seen):
        todo.append(TODO_FEED)
    return MESSAGE.format(what="; ".join(sorted(seen)), todo=" ".join(todo or [TODO_OTHER]))


def undecryptable_secrets(request: HttpRequest) -> dict:
    seen = crypto.undecryptable_seen()
    if seen and hasattr(request, "_messages") and not getattr(request, "_undecryptable_noted", False):
        request._undecryptable_noted = True  # type: ignore[attr-defined]  # boxes render with this too
        messages.warning(request, undecryptable_message(seen))
    return {}
