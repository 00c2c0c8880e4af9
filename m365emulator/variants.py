"""Variants: switches for the points where Microsoft's documentation is silent or changed over time, so tests
can run a client against each answer Microsoft might give. The default of each switch is what Microsoft
documents (or, where nothing is documented, the answer the emulator always gave); every other value is a
plausible answer a real tenant might give instead. Set through `/_emulator/variants` (control/variants.py);
a reset restores the defaults. Variants are test switches: they are not saved with the world.

Each switch names the documentation page it follows (repository microsoftgraph/microsoft-graph-docs-contrib
or MicrosoftDocs/entra-docs); docs/microsoft-behaviour.md in ShiftDesk lists which ShiftDesk behaviour
each one covers."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields
from typing import Any

# name -> (allowed values, default first), with the source of each value
SWITCHES: dict[str, dict[str, str]] = {
    # Point 1: change notifications on one calendar's events.
    "calendar_subscriptions": {
        "accepted": "undocumented; the emulator's historic answer: POST /subscriptions with resource "
        "me/calendars/{id}/events is accepted and notifies for that calendar only",
        "refused": "concepts/change-notifications-overview.md lists only me/events and users/{id}/events for "
        "Outlook events: the calendar path answers 400 ExtensionError 'Resource ... is not supported.'",
    },
    # Point 2: calendarView/delta on a calendar other than the default one.
    "calendar_delta": {
        "accepted": "concepts/delta-query-events.md: a calendar view 'from the default calendar or some other "
        "specified calendar'; GET /me/calendars/{id}/calendarView/delta works",
        "refused": "api-reference/v1.0/api/event-delta.md documents only /me/calendarView/delta (the user's "
        'primary calendar): the calendar path answers 400 BadRequest "Resource not found for the segment '
        "'delta'.\" (the OData routing error Graph gives for an unbound function)",
    },
    # Point 2b: @removed for events outside the window.
    "delta_removed_outside_window": {
        "reported": "api-reference/v1.0/api/event-delta.md, Response: a delta call may return under @removed "
        "(reason deleted) events outside the date range that were added, deleted or updated since the "
        "previous call",
        "omitted": "the emulator's historic answer: only events that were in the window and left it",
    },
    # Point 3: the calendar id in GET /me/events/{id}?$expand=calendar.
    "expand_calendar_id": {
        "equal": "undocumented; the emulator's historic answer: the same string as in GET /me/calendars",
        "different_encoding": "a docs issue reports $expand=calendar ids that differ from /me/calendars ids: "
        "the same folder in another encoding (AQMk prefix, standard base64); both resolve in "
        "GET /me/calendars/{id}",
    },
    # Point 4: a throttled JSON batch.
    "batch_throttling": {
        "per_item": "concepts/json-batching.md, Batch size limitations, and concepts/throttling.md, Throttling "
        "and batching (current text): items are evaluated individually; a throttled item is a 429 inside "
        "the batch's 200",
        "whole_batch_429": "the batch is throttled as one request counting each item: when the mailbox has no "
        "room for all of them the whole $batch answers 429 ApplicationThrottled with Retry-After and no "
        "item runs",
        "outer_424": "concepts/throttling.md, Throttling and batching (earlier text): items throttled with 429 "
        "inside, and 'the batch itself fails with a status code of 424 (Failed Dependency)'",
    },
    # Point 5: AADSTS50059 for a client-credentials request on /organizations or /common.
    "multitenant_50059": {  # answers of POST /{organizations|common}/oauth2/v2.0/token, client_credentials
        "after_secret_check": "undocumented; the emulator's historic answer: a wrong secret gets AADSTS7000215 "
        "(401) first, so 50059 implies the secret is right",
        "before_secret_check": "undocumented alternative: 50059 comes before the secret is looked at, so it "
        "proves only that the Application ID exists",
    },
    # Point 6: the return from the 'Need admin approval' page's 'Return to the application' link.
    "admin_approval_return": {
        "consent_required": "undocumented; the emulator's historic answer: error=consent_required with "
        "AADSTS65001 (entra-docs reference-error-codes.md: 'The user or administrator has not consented')",
        "access_denied": "undocumented alternative: error=access_denied with AADSTS65004 'User declined to "
        "consent', like a pressed Cancel but without error_subcode=cancel",
    },
    # Shared calendars: the owner's mailbox path with the id the sharee's own calendar list gives.
    "shared_calendar_owner_path": {
        "accepted": "undocumented; the emulator's historic answer: a sharee's delegated request "
        "/users/{owner}/calendars/{id}/... (and /users/{owner}/events/{id}) with the id from the sharee's "
        "GET /me/calendars reaches the owner's calendar (under shared_calendar_ids=per_mailbox the sharee's "
        "ids are translated to the owner's there)",
        "refused": "concepts/outlook-get-shared-events-calendars.md: the owner-mailbox path is documented only "
        "with the `calendar` shortcut and the owner's own ids, and the sharee's ids belong to 'the local copy "
        "of Alex' calendar in Adele's mailbox'; ids of one mailbox given in another answer 404 "
        "ErrorItemNotFound 'The specified object was not found in the store.' (as reported in "
        "microsoftgraph/microsoft-graph-docs-contrib issue 6050)",
    },
    # Shared calendars: the ids a sharee sees for another person's calendar and its events.
    "shared_calendar_ids": {
        "per_mailbox": "concepts/outlook-get-shared-events-calendars.md, 'Share recipient: Get shared, custom "
        "calendar or its events from share recipient's mailbox', step 2: 'The IDs of the shared calendar and its "
        "event correspond to the local copy of Alex' calendar in Adele's mailbox'; the owner-mailbox section: "
        "'calendar and event IDs that correspond to only the owner's mailbox. Specifying these calendar and event "
        "IDs in the share recipient's mailbox ... would return an error.' The sharee's /me/calendars lists the "
        "calendar under an id of its own and every event read or written through /me/calendars/{id}/... carries "
        "a sharee-specific id (a stable mapping); the owner's ids below /me answer 404",
        "same": "the emulator's historic answer: the sharee sees the owner's calendar and event ids",
    },
    # Shared calendars: /me/events/{id} (no calendar in the path) with the id of an event in a calendar shared
    # with the caller. The docs name only /me/calendars/{id}/events/{id} for the sharee.
    "shared_event_me_path": {
        "not_found": "undocumented; the emulator's historic answer: 404 ErrorItemNotFound (/me/events is the "
        "caller's own mailbox; the event lives in the owner's)",
        "served": "undocumented; the sharee's ids belong to the local copy in the sharee's mailbox "
        "(outlook-get-shared-events-calendars.md), so /me/events/{id} may reach it like "
        "/me/calendars/{id}/events/{id}: read and written while shared, 403 ErrorAccessDenied once the share is "
        "withdrawn (or for a write on a read-only share)",
    },
}
DEFAULTS: dict[str, str] = {
    "calendar_subscriptions": "accepted",
    "calendar_delta": "accepted",
    "delta_removed_outside_window": "reported",
    "expand_calendar_id": "equal",
    "batch_throttling": "per_item",
    "multitenant_50059": "after_secret_check",
    "admin_approval_return": "consent_required",
    "shared_calendar_owner_path": "accepted",
    "shared_calendar_ids": "per_mailbox",
    "shared_event_me_path": "not_found",
}


class VariantError(ValueError):
    pass


@dataclass
class Variants:
    """The current value of each switch; read with attribute access (`state.variants.calendar_delta`)."""

    calendar_subscriptions: str = DEFAULTS["calendar_subscriptions"]
    calendar_delta: str = DEFAULTS["calendar_delta"]
    delta_removed_outside_window: str = DEFAULTS["delta_removed_outside_window"]
    expand_calendar_id: str = DEFAULTS["expand_calendar_id"]
    batch_throttling: str = DEFAULTS["batch_throttling"]
    multitenant_50059: str = DEFAULTS["multitenant_50059"]
    admin_approval_return: str = DEFAULTS["admin_approval_return"]
    shared_calendar_owner_path: str = DEFAULTS["shared_calendar_owner_path"]
    shared_calendar_ids: str = DEFAULTS["shared_calendar_ids"]
    shared_event_me_path: str = DEFAULTS["shared_event_me_path"]
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def update(self, values: Any) -> None:
        """Set some switches; every name and value is checked before any is changed."""
        if not isinstance(values, dict):
            raise VariantError("A JSON object {switch: value} is expected.")
        for name, value in values.items():
            if name not in SWITCHES:
                raise VariantError(f"Unknown variant '{name}'. Known: {sorted(SWITCHES)}")
            if value not in SWITCHES[name]:
                raise VariantError(f"Variant '{name}' takes one of {list(SWITCHES[name])}, not {value!r}.")
        with self._lock:
            for name, value in values.items():
                setattr(self, name, value)

    def reset(self) -> None:
        with self._lock:
            for name, value in DEFAULTS.items():
                setattr(self, name, value)

    def to_json(self) -> dict[str, Any]:
        return {
            "values": {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")},
            "defaults": dict(DEFAULTS),
            "switches": {name: dict(values) for name, values in SWITCHES.items()},
        }
