"""JSON batching for the Graph calendar provider: many event writes in few HTTP requests.

A mailbox gets at most SYNC_MAX_CONCURRENCY_PER_MAILBOX lanes; each lane sends its operations as `$batch`
requests of up to 20, chained with `dependsOn` so Graph runs them one after another ("Batch should be either
fully sequential or fully parallel", https://learn.microsoft.com/graph/json-batching). Graph runs a batch's
independent items in parallel and counts each against the mailbox's throttle, so unchained items beyond the
mailbox's 4 concurrent requests would come back 429; chained, the lanes keep exactly the same number of
requests in flight per mailbox as single requests would, at a fraction of the HTTP (and CPU) cost. Each item
may fail on its own (a 429 inside a 200; the items chained behind it then fail with 424): failed items are
retried in the lane's next batch, after the mailbox's Retry-After or a jittered backoff.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import httpx
from django.conf import settings

from shiftdesk.calendarsync.providers.base import Fate, Operation, ProviderError, RemoteEvent
from shiftdesk.microsoft.graph import error_for_response

if TYPE_CHECKING:
    from shiftdesk.microsoft.provider import GraphCalendarProvider

BATCHABLE = ("create", "update", "delete")
_TRIES = 3
_SELECT = "%24select=id%2CchangeKey"


def _item(op: Operation, n: int, provider: GraphCalendarProvider) -> dict[str, Any]:
    """One `$batch` item, with the url a single request would have (`/me/calendars/{id}/events`; an event in
    a calendar another person shared is changed through `/me/calendars/{id}/events/{id}`, provider.event_path;
    the item's url is relative to /v1.0, json-batching.md)."""
    from shiftdesk.microsoft.provider import graph_event

    headers = {"Content-Type": "application/json", "Prefer": provider.prefer}
    if op.kind == "create":
        assert op.content is not None
        body = graph_event(op.content, op.link_key)
        body["transactionId"] = op.transaction_id
        url = f"{provider.calendar_path(op.calendar_id)}/events?{_SELECT}"
        return {"id": str(n), "method": "POST", "url": url, "headers": headers, "body": body}
    if op.kind == "update":
        assert op.content is not None
        url = f"{provider.event_path(op.event_id, op.calendar_id)}?{_SELECT}"
        return {
            "id": str(n),
            "method": "PATCH",
            "url": url,
            "headers": headers,
            "body": graph_event(op.content, op.link_key),
        }
    return {
        "id": str(n),
        "method": "DELETE",
        "url": provider.event_path(op.event_id, op.calendar_id),
        "headers": headers,
    }


def _item_error(status: int, headers: dict, body: Any) -> ProviderError:
    from shiftdesk.microsoft.provider import provider_error

    response = httpx.Response(status, headers=headers or {}, content=json.dumps(body or {}).encode())
    return provider_error(error_for_response(response))


class Lanes:
    """Runs one step's batchable operations for one mailbox."""

    def __init__(self, provider: GraphCalendarProvider, deadline: float | None) -> None:
        self.provider = provider
        self.deadline = deadline
        self.stopped = False
        self.batch_size = max(1, min(20, settings.SYNC_GRAPH_BATCH_SIZE))

    async def run(self, ops: Sequence[Operation]) -> None:
        for op in ops:
            await self.provider.owner_of(op.calendar_id)  # whose mailbox each is in (a list at most once)
        lanes = max(1, self.provider.max_concurrency)
        await asyncio.gather(*(self._lane(list(ops[i::lanes])) for i in range(lanes) if ops[i::lanes]))

    def _finish(self, op: Operation, error: ProviderError | None, before: Fate, started: float) -> None:
        op.answered(error, before)
        op.ms = int((time.perf_counter() - started) * 1000)
        if error is not None and _stops(error):
            self.stopped = True  # stop sending to this mailbox; the engine decides what next

    async def _lane(self, pending: list[Operation]) -> None:
        tries: dict[int, int] = {}
        while pending:
            if self.stopped or (self.deadline is not None and time.monotonic() > self.deadline):
                # Left as they are: never sent (Fate.NOT_SENT), or sent before and never answered
                # (Fate.UNANSWERED: a create stays "attempted" and is probed). Decided again next step.
                return
            chunk, pending = pending[: self.batch_size], pending[self.batch_size :]
            retry = await self._send(chunk, tries)
            pending = retry + pending

    async def _send(self, chunk: list[Operation], tries: dict[int, int]) -> list[Operation]:
        """Send one batch; returns the operations to try again."""
        provider = self.provider
        pacer = provider.pacer
        if not await pacer.wait_for_mailbox():
            self.stopped = True  # the lease could pass before an answer: nothing more leaves (pacing.py)
            return []
        started = time.perf_counter()
        items = [_item(op, n, provider) for n, op in enumerate(chunk)]
        for n, item in enumerate(items[1:], 1):
            item["dependsOn"] = [str(n - 1)]  # one after another: this lane is one of the mailbox's 4 slots
        body = {"requests": items}
        before = [op.sending() for op in chunk]  # on their way before the bytes leave
        try:
            response = await provider.http.post(
                "/$batch", content=json.dumps(body), headers=provider._headers,
                timeout=pacer.request_timeout(settings.HTTP_TIMEOUT_SECONDS),
            )  # fmt: skip
        except (httpx.TimeoutException, httpx.TransportError):
            whole: ProviderError | None = ProviderError(
                "Microsoft Graph could not be reached (connection failed).", unanswered=True
            )
            answers: list[dict] = []
        else:
            body = _json(response)
            listed = body.get("responses") if isinstance(body, dict) else None
            answers = listed if isinstance(listed, list) else []
            if response.status_code < 400 or (response.status_code == 424 and isinstance(listed, list)):
                # A 424 batch that still carries its items' answers (throttling.md's earlier text: "the batch
                # itself fails with 424"): each item says what became of it, as in a 200.
                whole = None
            else:
                whole, answers = _whole_error(response), []
        by_id = {a.get("id"): a for a in answers}
        retry: list[Operation] = []
        wait = 0.0
        for n, op in enumerate(chunk):
            answer = by_id.get(str(n))
            error = whole
            if error is None and answer is None:
                error = ProviderError("Microsoft Graph's batch answer left out a request.", unanswered=True)
            if error is None:
                assert answer is not None
                status = int(answer.get("status", 500))
                if status < 400:
                    data = answer.get("body") or {}
                    if op.kind != "delete":
                        op.result = RemoteEvent(
                            data.get("id", op.event_id),
                            data.get("changeKey", ""),
                            op.calendar_id,
                        )
                    self._finish(op, None, before[n], started)
                    continue
                if status == 424:  # an earlier item of the chain failed: this one did not run
                    op.fate = before[n]
                    retry.append(op)
                    continue
                error = _item_error(status, answer.get("headers") or {}, answer.get("body"))
                error = provider.refusal(error, op.calendar_id, provider.known_owner(op.calendar_id))
                if status >= 500:
                    error.unanswered = True  # a server error may come after the item ran
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
    """The mailbox cannot take more now: a long Retry-After, a bad token, a refusal."""
    inline_max = settings.SYNC_INLINE_RETRY_AFTER_MAX_SECONDS
    return (
        error.auth_expired
        or error.reauthorize
        or (error.permanent and not error.not_found)
        or (error.retry_after is not None and error.retry_after > inline_max)
    )


def _whole_error(response: httpx.Response) -> ProviderError:
    """The `$batch` request itself failed. throttling.md: the batch can be throttled as a whole (429 or 503
    with Retry-After), or fail with 424 when Graph could not run it; they are sent again (after the
    Retry-After, or a backoff), never failed for good. A 5xx (a 503 too) may come after some items ran: their
    fate is unknown (unanswered), so a create among them stays "attempted" and is probed."""
    status = response.status_code
    error = _item_error(status, dict(response.headers), _json(response))
    if status in (424, 429, 503):
        retry_after = error.retry_after
        if retry_after is None and status == 424:
            retry_after = 1.0
        return ProviderError(error.message, retry_after=retry_after, status=status, unanswered=status == 503)
    if status >= 500:
        error.unanswered = True
    return error


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
