"""Change-notification subscriptions on events: the validationToken handshake, clientState, renew and
delete, and POSTs to the notificationUrl when events are created, updated or deleted."""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import os
import re
import secrets
import ssl
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from . import exceptions as exc
from . import timezones as tz
from .app import Ctx, Result, require

log = logging.getLogger("m365emulator.graph")
CHANGE_TYPES = {"created", "updated", "deleted"}
RESOURCE = re.compile(
    r"^/?(?:(?P<me>me)|users/(?P<user>[^/]+))/(?:(?:calendar|calendars/(?P<cal>[^/]+))/)?events/?$", re.I
)
FAILED = "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request."


@dataclass
class Subscription:
    id: str
    resource: str
    change_type: str
    notification_url: str
    expiration: str  # ISO UTC
    client_state: str | None
    application_id: str
    creator_id: str
    mailbox_oid: str
    tenant_id: str
    calendar_id: str | None = None
    lifecycle_notification_url: str | None = None
    # Set by a reauthorizationRequired lifecycle event: change notifications pause until the app renews
    # (PATCH) or reauthorizes (POST /subscriptions/{id}/reauthorize), as change-notifications-lifecycle-events.md says.
    needs_reauthorization: bool = False


def _state(graph: Any) -> tuple[collections.deque, set]:
    if not hasattr(graph, "notification_log"):
        graph.notification_log = collections.deque(maxlen=1000)
        graph.notification_tasks = set()
    return graph.notification_log, graph.notification_tasks


def dump_subscriptions(graph: Any) -> list[dict]:
    return [asdict(s) for s in graph.subscriptions.values()]


def load_subscriptions(graph: Any, items: list[dict]) -> None:
    for item in items:
        sub = Subscription(**item)
        graph.subscriptions[sub.id] = sub


def _json(ctx: Ctx, sub: Subscription) -> dict:
    return {
        "id": sub.id,
        "resource": sub.resource,
        "applicationId": sub.application_id,
        "changeType": sub.change_type,
        "clientState": sub.client_state,
        "notificationUrl": sub.notification_url,
        "notificationQueryOptions": None,
        "lifecycleNotificationUrl": sub.lifecycle_notification_url,
        "expirationDateTime": sub.expiration,
        "creatorId": sub.creator_id,
        "includeResourceData": None,
        "latestSupportedTlsVersion": "v1_2",
        "encryptionCertificate": None,
        "encryptionCertificateId": None,
        "notificationUrlAppId": None,
    }


def _expiration(ctx: Ctx, value: Any, operation: str) -> str:
    if not isinstance(value, str):
        raise exc.GraphError(400, "InvalidRequest", "expirationDateTime is required.")
    when = tz.parse_query_instant(value)
    if when is None:
        raise exc.GraphError(400, "InvalidRequest", f"The value '{value}' is not a valid expirationDateTime.")
    limit = ctx.graph.settings.subscription_max_minutes
    now = datetime.now(UTC)
    if when <= now or when > now + timedelta(minutes=limit):
        raise exc.GraphError(
            400,
            "ExtensionError",
            f"Operation: {operation}; Exception: [Status Code: BadRequest; Reason: Subscription expiration can only be "
            f"{limit} minutes in the future.]",
        )
    return tz.format_utc_stamp(when)


def _verify(graph: Any) -> ssl.SSLContext:
    """The TLS context for validation handshakes and deliveries: the notification CA bundle if one is set, else
    the public CAs. One context per bundle (and per version of its file), not one per request: loading a bundle
    takes ~20 ms of CPU, as long as the delivery itself."""
    ca = graph.settings.notification_ca_file or os.environ.get("M365EMULATOR_NOTIFICATION_CA")
    if not ca:
        return _context(None, 0)
    try:
        version = os.stat(ca).st_mtime_ns
    except OSError:
        version = 0  # loading it fails below, as it did before, and the handshake reports ValidationError
    return _context(ca, version)


@functools.lru_cache(maxsize=8)
def _context(ca: str | None, version: int) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca) if ca else httpx.create_ssl_context()


async def _handshake(graph: Any, url: str) -> None:
    token = "Validation: " + secrets.token_urlsafe(18)
    target = url + ("&" if "?" in url else "?") + "validationToken=" + quote(token, safe="")
    try:
        async with httpx.AsyncClient(
            verify=_verify(graph), timeout=graph.settings.validation_timeout_seconds
        ) as client:
            response = await client.post(target, headers={"Content-Type": "text/plain; charset=utf-8"})
    except (httpx.HTTPError, OSError, ssl.SSLError) as err:
        log.info("subscription validation to %s failed: %s", url, err)
        raise exc.GraphError(400, "ValidationError", FAILED) from None
    ctype = response.headers.get("content-type", "")
    if response.status_code != 200 or response.text.strip() != token or not ctype.startswith("text/plain"):
        raise exc.GraphError(400, "ValidationError", FAILED)


async def create_subscription(ctx: Ctx) -> Result:
    body = ctx.body_object()
    change_type = body.get("changeType")
    kinds = [k.strip() for k in change_type.split(",")] if isinstance(change_type, str) else []
    if not kinds or any(k not in CHANGE_TYPES for k in kinds):
        raise exc.GraphError(400, "InvalidRequest", f"'{change_type}' is not a valid changeType.")
    url = body.get("notificationUrl")
    allow_http = getattr(ctx.graph.settings, "allow_http_notifications", False)
    if not isinstance(url, str) or not (
        url.startswith("https://") or (allow_http and url.startswith("http://"))
    ):
        raise exc.GraphError(400, "ValidationError", "The notificationUrl must be an https URL.")
    lifecycle_url = body.get("lifecycleNotificationUrl")
    if lifecycle_url is not None and not (
        isinstance(lifecycle_url, str)
        and (lifecycle_url.startswith("https://") or (allow_http and lifecycle_url.startswith("http://")))
    ):
        raise exc.GraphError(400, "ValidationError", "The lifecycleNotificationUrl must be an https URL.")
    resource = body.get("resource")
    m = RESOURCE.match(resource) if isinstance(resource, str) else None
    if m is not None and m.group("cal") and ctx.state.variants.calendar_subscriptions == "refused":
        # Variant: change-notifications-overview.md lists only /users/{id}/events and /me/events for Outlook
        # events; a Graph that does not take the calendar path answers as for any unsupported resource.
        m = None
    if m is None:
        raise exc.GraphError(
            400,
            "ExtensionError",
            f"Operation: Create; Exception: [Status Code: BadRequest; Reason: Resource '{resource}' is not supported.]",
        )
    client_state = body.get("clientState")
    if client_state is not None and (not isinstance(client_state, str) or len(client_state) > 128):
        raise exc.GraphError(400, "InvalidRequest", "clientState must be a string of at most 128 characters.")
    from .app import resolve_user

    resolve_user(ctx, None if m.group("me") else m.group("user"))
    require(ctx, "read")
    expiration = _expiration(ctx, body.get("expirationDateTime"), "Create")
    box = ctx.mailbox()
    calendar_id = None
    if m.group("cal"):
        with ctx.graph.lock:
            calendar_id = box.calendar(m.group("cal")).id
    await _handshake(ctx.graph, url)
    if lifecycle_url:
        # "When using the webhooks delivery channel, you must validate both lifecycleNotificationUrl and
        # notificationUrl endpoints" (change-notifications-lifecycle-events.md): a second handshake.
        await _handshake(ctx.graph, lifecycle_url)
    sub = Subscription(
        id=str(uuid.uuid4()),
        resource=resource,
        change_type=",".join(kinds),
        notification_url=url,
        expiration=expiration,
        client_state=client_state,
        application_id=ctx.claims.client_id,
        creator_id=ctx.claims.oid,
        mailbox_oid=box.oid,
        tenant_id=ctx.claims.tid,
        calendar_id=calendar_id,
        lifecycle_notification_url=lifecycle_url,
    )
    install(ctx.graph)
    with ctx.graph.lock:
        ctx.graph.subscriptions[sub.id] = sub
    return Result(201, {"@odata.context": ctx.context("subscriptions/$entity"), **_json(ctx, sub)})


def _own(ctx: Ctx, sub_id: str) -> Subscription:
    sub = ctx.graph.subscriptions.get(sub_id)
    if sub is None or sub.application_id != ctx.claims.client_id:
        raise exc.GraphError(
            404, "ResourceNotFound", f"The object was not found. Subscription '{sub_id}' doesn't exist."
        )
    return sub


def list_subscriptions(ctx: Ctx) -> Result:
    subs = [
        s
        for s in ctx.graph.subscriptions.values()
        if s.application_id == ctx.claims.client_id
        and (ctx.claims.app_only or s.creator_id == ctx.claims.oid)
    ]
    return Result(
        200, {"@odata.context": ctx.context("subscriptions"), "value": [_json(ctx, s) for s in subs]}
    )


def get_subscription(ctx: Ctx, sub_id: str) -> Result:
    return Result(
        200, {"@odata.context": ctx.context("subscriptions/$entity"), **_json(ctx, _own(ctx, sub_id))}
    )


def renew_subscription(ctx: Ctx, sub_id: str) -> Result:
    sub = _own(ctx, sub_id)
    body = ctx.body_object()
    for key in body:
        if key not in ("expirationDateTime", "notificationUrl", "@odata.type"):
            raise exc.unknown_property(key, "microsoft.graph.subscription")
    sub.expiration = _expiration(ctx, body.get("expirationDateTime"), "Update")
    sub.needs_reauthorization = False  # renewing also reauthorizes (change-notifications-lifecycle-events.md)
    return Result(200, {"@odata.context": ctx.context("subscriptions/$entity"), **_json(ctx, sub)})


def reauthorize_subscription(ctx: Ctx, sub_id: str) -> Result:
    """POST /subscriptions/{id}/reauthorize (api-reference/v1.0/api/subscription-reauthorize.md): 204, and
    change notifications flow again; the expiration stays."""
    _own(ctx, sub_id).needs_reauthorization = False
    return Result(204)


def delete_subscription(ctx: Ctx, sub_id: str) -> Result:
    _own(ctx, sub_id)
    ctx.graph.subscriptions.pop(sub_id, None)
    return Result(204)


# ---- delivery --------------------------------------------------------------------------------------
def install(graph: Any) -> None:
    """Hook the change listener once, bound to the running event loop that will deliver."""
    graph.notify_loop = asyncio.get_running_loop()
    if not getattr(graph, "notifier_installed", False):
        graph.notifier_installed = True
        graph.listeners.append(lambda box, event, kind: _on_change(graph, box, event, kind))


def _on_change(graph: Any, box: Any, event: Any, kind: str) -> None:
    now = datetime.now(UTC)
    batch: dict[str, list[dict]] = {}
    for sub in list(graph.subscriptions.values()):
        if sub.mailbox_oid != box.oid or kind not in sub.change_type.split(","):
            continue
        if sub.calendar_id and sub.calendar_id != event.calendar_id:
            continue
        if tz.parse_query_instant(sub.expiration) <= now or sub.needs_reauthorization:
            continue
        path = f"Users/{box.oid}/Events/{event.id}"
        batch.setdefault(sub.notification_url, []).append(
            {
                "subscriptionId": sub.id,
                "subscriptionExpirationDateTime": sub.expiration,
                "changeType": kind,
                "resource": path,
                "resourceData": {
                    "@odata.type": "#Microsoft.Graph.Event",
                    "@odata.id": path,
                    "@odata.etag": event.etag,
                    "id": event.id,
                },
                "clientState": sub.client_state,
                "tenantId": sub.tenant_id,
            }
        )
    loop = getattr(graph, "notify_loop", None)
    if not batch or loop is None or loop.is_closed():
        return
    for url, values in batch.items():
        loop.call_soon_threadsafe(_start, graph, url, {"value": values})


LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")


def send_lifecycle(graph: Any, sub_id: str, event: str) -> dict:
    """Send a lifecycle notification (change-notifications-lifecycle-events.md, "Structure of a lifecycle
    notification") to the subscription's lifecycleNotificationUrl, with what Graph does alongside:
    reauthorizationRequired pauses change notifications until a renew or /reauthorize; subscriptionRemoved
    deletes the subscription; missed only tells. Returns the payload (not sent without a lifecycle URL)."""
    if event not in LIFECYCLE_EVENTS:
        raise exc.bad_request(f"lifecycleEvent must be one of {list(LIFECYCLE_EVENTS)}.")
    with graph.lock:
        sub = graph.subscriptions.get(sub_id)
        if sub is None:
            raise exc.GraphError(404, "ResourceNotFound", f"Subscription '{sub_id}' doesn't exist.")
        payload = {
            "value": [
                {
                    "subscriptionId": sub.id,
                    "subscriptionExpirationDateTime": sub.expiration,
                    "tenantId": sub.tenant_id,
                    "clientState": sub.client_state,
                    "lifecycleEvent": event,
                }
            ]
        }
        if event == "reauthorizationRequired":
            sub.needs_reauthorization = True
        elif event == "subscriptionRemoved":
            graph.subscriptions.pop(sub.id, None)
        url = sub.lifecycle_notification_url
    loop = getattr(graph, "notify_loop", None)
    if url and loop is not None and not loop.is_closed():
        loop.call_soon_threadsafe(_start, graph, url, payload)
    return {"sent": bool(url), "url": url, "payload": payload}


def _start(graph: Any, url: str, payload: dict) -> None:
    _, tasks = _state(graph)
    task = asyncio.get_running_loop().create_task(_deliver(graph, url, payload))
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def _deliver(graph: Any, url: str, payload: dict) -> None:
    log_, _ = _state(graph)
    entry: dict[str, Any] = {
        "time": datetime.now(UTC).isoformat(),
        "url": url,
        "payload": payload,
        "status": None,
    }
    try:
        async with httpx.AsyncClient(verify=_verify(graph), timeout=10) as client:
            response = await client.post(url, json=payload)
        entry["status"] = response.status_code
    except (httpx.HTTPError, OSError, ssl.SSLError) as err:
        entry["error"] = str(err)
    log_.append(entry)
