"""Batching for the Google calendar provider: many event writes in few HTTP requests, through Google's batch
endpoint (POST {GOOGLE_API_URL}/batch/calendar/v3, multipart/mixed, each part one `application/http` call).

The Calendar batch guide allows at most 1000 calls per batch; Google counts each call against the quotas (600
per user per minute) and may run them in any order, so each part is answered, and fails, on its own:
- a part answered 2xx is done; 409 on an insert means an earlier try of this very create was carried out:
  it is adopted afterwards by a single update (the provider's create_event does the same);
- a part refused for quota (403 rateLimitExceeded / userRateLimitExceeded, 429) was not carried out and is
  tried again in the lane's next batch after the engine's Pacer back-off; a 5xx part may have run
  (unanswered);
- a batch request that fails as a whole (timeout, dropped connection, 5xx) leaves every part unanswered: a
  create among them stays "attempted" and is probed by link key before anything assumes it absent.
Lanes keep at most SYNC_MAX_CONCURRENCY_PER_MAILBOX batch requests in flight per user, as single requests would.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import time
from collections.abc import Sequence
from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from shiftdesk.calendarsync.providers.base import Fate, Operation, ProviderError

if TYPE_CHECKING:
    from shiftdesk.google.provider import GoogleCalendarProvider

BATCHABLE = ("create", "update", "delete")
GOOGLE_MAX_CALLS = 1000  # the Calendar API's documented limit per batch request
_TRIES = 3


def _part(op: Operation, prefix: str) -> tuple[str, str, dict[str, Any] | None]:
    """(method, path, JSON body) of one operation, as its single request would be."""
    from shiftdesk.google.provider import GoogleCalendarProvider, event_address, event_id_for, google_event

    if op.kind == "create":
        assert op.content is not None
        path = prefix + "/calendar/v3" + GoogleCalendarProvider._path(op.calendar_id)
        return "POST", path, {"id": event_id_for(op.transaction_id), **google_event(op.content, op.link_key)}
    calendar_id, event_id = event_address(op.event_id, op.calendar_id)
    path = prefix + "/calendar/v3" + GoogleCalendarProvider._path(calendar_id, event_id)
    if op.kind == "update":
        assert op.content is not None
        return "PATCH", path, google_event(op.content, op.link_key)
    return "DELETE", path, None


def encode_batch(parts: list[tuple[str, str, dict[str, Any] | None]]) -> tuple[str, bytes]:
    """multipart/mixed body of `parts`; returns (Content-Type, body). Part n has Content-ID <item-n>."""
    boundary = "batch_shiftdesk_" + secrets.token_hex(12)
    chunks = []
    for n, (method, path, body) in enumerate(parts):
        inner = f"{method} {path} HTTP/1.1\r\n"
        payload = b""
        if body is not None:
            payload = json.dumps(body).encode()
            inner += "Content-Type: application/json; charset=UTF-8\r\n"
            inner += f"Content-Length: {len(payload)}\r\n"
        head = f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <item-{n}>\r\n\r\n{inner}\r\n"
        chunks.append(head.encode() + payload + b"\r\n")
    return f"multipart/mixed; boundary={boundary}", b"".join(chunks) + f"--{boundary}--\r\n".encode()


def decode_batch(content_type: str, body: bytes) -> dict[int, httpx.Response]:
    """The answers of a batch response by part number (from Content-ID <response-item-n>); parts that cannot
    be read are left out (the caller treats them as unanswered)."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    answers: dict[int, httpx.Response] = {}
    if not message.is_multipart():
        return answers
    for part in message.iter_parts():
        content_id = str(part.get("Content-ID", "")).strip().strip("<>")
        if not content_id.startswith("response-item-"):
            continue
        try:
            n = int(content_id.removeprefix("response-item-"))
        except ValueError:
            continue
        raw = part.get_payload(decode=True)
        if not isinstance(raw, bytes):
            continue
        head, _, payload = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
        lines = head.decode("latin-1").strip().split("\n")
        fields = lines[0].split(" ", 2) if lines else []
        if len(fields) < 2 or not fields[1].isdigit():
            continue
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() != "content-length":
                headers[name.strip()] = value.strip()
        answers[n] = httpx.Response(int(fields[1]), headers=headers, content=payload.strip())
    return answers


class Lanes:
    """Runs one step's batchable operations for one Google user."""

    def __init__(self, provider: GoogleCalendarProvider, deadline: float | None) -> None:
        self.provider = provider
        self.deadline = deadline
        self.stopped = False
        self.batch_size = max(1, min(GOOGLE_MAX_CALLS, settings.SYNC_GOOGLE_BATCH_SIZE))
        self.prefix = urlsplit(settings.GOOGLE_API_URL).path.rstrip("/")
        self.adopt: list[Operation] = []

    async def run(self, ops: Sequence[Operation]) -> None:
        # A lane per full batch, at most the user's concurrency: 30 writes in batches of 10 are 3 requests.
        lanes = max(1, min(self.provider.max_concurrency, math.ceil(len(ops) / self.batch_size)))
        await asyncio.gather(*(self._lane(list(ops[i::lanes])) for i in range(lanes) if ops[i::lanes]))
        for op in self.adopt:  # 409 on insert: the create landed before; adopt it with a single update
            await self._adopt(op)

    async def _adopt(self, op: Operation) -> None:
        from shiftdesk.google.provider import event_id_for, remote_id

        assert op.content is not None
        started = time.perf_counter()
        before = op.fate
        try:
            op.result = await self.provider.update_event(
                remote_id(op.calendar_id, event_id_for(op.transaction_id)), op.content, link_key=op.link_key
            )
            error = None
        except ProviderError as failure:
            error = failure
        op.answered(error, before)
        op.ms = int((time.perf_counter() - started) * 1000)

    def _finish(self, op: Operation, error: ProviderError | None, before: Fate, started: float) -> None:
        op.answered(error, before)
        op.ms = int((time.perf_counter() - started) * 1000)
        if error is not None and _stops(error):
            self.stopped = True

    async def _lane(self, pending: list[Operation]) -> None:
        tries: dict[int, int] = {}
        while pending:
            if self.stopped or (self.deadline is not None and time.monotonic() > self.deadline):
                return  # left NOT_SENT, or UNANSWERED from an earlier try (probed next step)
            chunk, pending = pending[: self.batch_size], pending[self.batch_size :]
            pending = await self._send(chunk, tries) + pending

    async def _send(self, chunk: list[Operation], tries: dict[int, int]) -> list[Operation]:
        """Send one batch; returns the operations to try again."""
        from shiftdesk.google.provider import (
            PROJECT_QUOTA,
            deleted_in_google,
            event_address,
            is_project_refusal,
            provider_error,
            spend_project_quota,
        )

        provider, pacer = self.provider, self.provider.pacer
        if not await pacer.wait_for_mailbox():
            self.stopped = True  # the lease could pass before an answer: nothing more leaves
            return []
        started = time.perf_counter()
        ticket, not_sent = await spend_project_quota(pacer, len(chunk))
        if not_sent is not None:  # no room in the project's minute while this step may send
            for op in chunk:
                self._finish(op, not_sent, op.fate, started)
            return []
        content_type, body = encode_batch([_part(op, self.prefix) for op in chunk])
        before = [op.sending() for op in chunk]  # on their way before the bytes leave
        whole: ProviderError | None = None
        answers: dict[int, httpx.Response] = {}
        try:
            response = await provider.http.post(
                "/batch/calendar/v3", content=body,
                headers={"Authorization": provider._headers["Authorization"], "Content-Type": content_type},
                timeout=pacer.request_timeout(settings.HTTP_TIMEOUT_SECONDS),
            )  # fmt: skip
        except (httpx.TimeoutException, httpx.TransportError):
            whole = ProviderError("Google Calendar could not be reached (batch).", unanswered=True)
        else:
            if response.status_code >= 400:
                whole = provider_error(response, 1)
                if response.status_code >= 500:
                    whole.unanswered = True
            else:
                answers = decode_batch(response.headers.get("content-type", ""), response.content)
            refused = (
                len(chunk) if is_project_refusal(response) else sum(map(is_project_refusal, answers.values()))
            )
            PROJECT_QUOTA.answered(
                ticket, calls=len(chunk), refused=refused
            )  # once per batch, one pause at most
        retry: list[Operation] = []
        wait = 0.0
        for n, op in enumerate(chunk):
            answer = answers.get(n)
            error = whole
            if error is None and answer is None:
                error = ProviderError("Google's batch answer left out a call.", unanswered=True)
            if error is None:
                assert answer is not None
                data = (
                    json.loads(answer.content or b"{}")
                    if answer.status_code < 400 and op.kind != "delete"
                    else {}
                )
                if op.kind == "update" and data.get("status") == "cancelled":
                    # A patch of an event the user deleted answers 200 with the tombstone: deleted in Google,
                    # as the single request's update_event says (it was once recorded as a good update).
                    self._finish(op, deleted_in_google(), before[n], started)
                    continue
                if answer.status_code < 400:
                    if op.kind == "create":
                        op.result = provider._remote(data, op.calendar_id)
                    elif op.kind == "update":
                        where, _ = event_address(op.event_id, op.calendar_id)
                        op.result = provider._remote(data, where, op.event_id.rpartition("/")[0])
                    self._finish(op, None, before[n], started)
                    continue
                if answer.status_code == 409 and op.kind == "create":
                    op.fate = Fate.UNANSWERED  # carried out by an earlier try: adopted after the lanes
                    self.adopt.append(op)
                    continue
                tries_so_far = tries.get(id(op), 0) + 1
                error = provider_error(answer, tries_so_far)
            if error.unanswered:
                op.fate = Fate.UNANSWERED
            elif error.not_carried_out:
                op.fate = before[n]
            tries[id(op)] = tries.get(id(op), 0) + 1
            verdict = pacer.after_failure(error, tries[id(op)], _TRIES)
            if verdict is None:
                self._finish(op, error, before[n], started)
            else:
                wait = max(wait, verdict)
                retry.append(op)
        if retry and wait:
            await pacer.sleep(wait)
        return retry


def _stops(error: ProviderError) -> bool:
    """The user's calendar cannot take more now: a long wait, a bad token, a refusal."""
    return (
        error.auth_expired
        or error.reauthorize
        or (error.permanent and not error.not_found)
        or (
            error.retry_after is not None and error.retry_after > settings.SYNC_INLINE_RETRY_AFTER_MAX_SECONDS
        )
    )
