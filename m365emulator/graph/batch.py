"""POST /$batch: up to 20 requests, independent ones in parallel, `dependsOn` ordering (424 after a failed
predecessor), each item authenticated, throttled and faulted on its own, so a 429 can sit inside a 200."""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import exceptions as exc
from .app import Ctx, Result, dispatch, error_body

MAX_REQUESTS = 20
METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE"}


def _validate(body: Any) -> list[dict]:
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
        raise exc.bad_request("Invalid batch payload format.")
    requests = body["requests"]
    if not requests:
        raise exc.bad_request("Invalid batch payload format: the requests array is empty.")
    if len(requests) > MAX_REQUESTS:
        raise exc.bad_request(
            f"Unable to deserialize batch request. The number of requests in a batch exceeds {MAX_REQUESTS}."
        )
    ids: set[str] = set()
    for item in requests:
        if not isinstance(item, dict):
            raise exc.bad_request("Invalid batch payload format.")
        rid, method, url = item.get("id"), item.get("method"), item.get("url")
        if not isinstance(rid, str) or not rid:
            raise exc.bad_request("Batch request id is missing.")
        if rid in ids:
            raise exc.bad_request(f"Batch request ids must be unique. Request id '{rid}' is repeated.")
        ids.add(rid)
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise exc.bad_request(f"Invalid method '{method}' for request id : {rid}.")
        if not isinstance(url, str) or not url:
            raise exc.bad_request(f"Url is missing for request id : {rid}.")
        if url.lower().startswith(("http://", "https://")):
            raise exc.bad_request("Batch requests must use relative urls, e.g. '/me/events'.")
        headers = item.get("headers") or {}
        if not isinstance(headers, dict):
            raise exc.bad_request(f"Invalid headers for request id : {rid}.")
        if "body" in item and item["body"] is not None:
            if not any(k.lower() == "content-type" for k in headers):
                raise exc.bad_request(
                    f"Write request id : {rid} does not contain Content-Type header or body."
                )
        elif method.upper() in ("POST", "PATCH", "PUT"):
            raise exc.bad_request(f"Write request id : {rid} does not contain Content-Type header or body.")
    for item in requests:
        deps = item.get("dependsOn") or []
        if not isinstance(deps, list) or any(d not in ids or d == item["id"] for d in deps):
            raise exc.bad_request(f"Request id : {item['id']} has an invalid dependsOn value.")
    return requests


async def post_batch(ctx: Ctx) -> Result:
    """Run the items as Graph does (https://learn.microsoft.com/graph/json-batching, "Sequencing requests
    with the dependsOn property" and "Batch size limitations"): items without `dependsOn` run in parallel,
    an item with `dependsOn` waits for its predecessors and fails with 424 if one of them failed, and every
    item is evaluated on its own against the per-(app, mailbox) throttle and the faults, so items beyond
    the mailbox's 4 concurrent requests get a 429 inside the batch's 200."""
    requests = _validate(ctx.json())
    faults = ctx.graph.faults
    mode = ctx.state.variants.batch_throttling
    batch_key = None
    if mode == "whole_batch_429":
        # Variant: the batch is throttled as one request that counts each item (all or nothing); when the
        # mailbox has no room, the whole $batch answers 429 with Retry-After and nothing runs.
        batch_key = ctx.graph.throttle.acquire_many(ctx.claims.client_id, ctx.claims.oid, len(requests))
    try:
        return await _run_all(ctx, requests, faults, mode, counted=batch_key is not None)
    finally:
        ctx.graph.throttle.release(batch_key)


async def _run_all(ctx: Ctx, requests: list[dict], faults: Any, mode: str, counted: bool) -> Result:
    by_id = {r["id"]: r for r in requests}
    cyclic = _in_cycles(by_id)
    tasks: dict[str, asyncio.Future[Result]] = {}

    async def one(rid: str) -> Result:
        deps = by_id[rid].get("dependsOn") or []
        if rid in cyclic:
            return _failed_dependency()
        before = [await tasks[d] for d in deps]
        if any(res.status >= 400 for res in before):
            return _failed_dependency()
        return await _run(ctx, by_id[rid], faults, counted)

    for rid in by_id:
        tasks[rid] = asyncio.ensure_future(one(rid))
    results = dict(zip(by_id, await asyncio.gather(*tasks.values()), strict=True))
    responses = []
    for rid in by_id:
        res = results[rid]
        entry: dict[str, Any] = {"id": rid, "status": res.status, "headers": _item_headers(res)}
        if res.body is not None:
            entry["body"] = res.body
        responses.append(entry)
    if mode == "outer_424" and any(r["status"] == 429 for r in responses):
        # Variant: throttling.md's earlier text, "The batch itself fails with a status code of 424 (Failed
        # Dependency)"; the items' answers (429s with their Retry-After) are still in the body.
        return Result(424, {"responses": responses})
    return Result(200, {"responses": responses})


def _failed_dependency() -> Result:
    return Result(424, error_body(exc.GraphError(424, "FailedDependency", "Failed dependency"), {}))


def _in_cycles(by_id: dict[str, dict]) -> set[str]:
    """Items on or behind a dependsOn cycle: they can never run (424, as a failed dependency)."""
    state: dict[str, int] = {}  # 1 visiting, 2 done
    bad: set[str] = set()

    def visit(rid: str) -> bool:
        if state.get(rid) == 1:
            return True
        if state.get(rid) == 2:
            return rid in bad
        state[rid] = 1
        hit = False
        for dep in by_id[rid].get("dependsOn") or []:
            hit = visit(dep) or hit
        state[rid] = 2
        if hit:
            bad.add(rid)
        return hit

    for rid in by_id:
        visit(rid)
    return bad


post_batch.unthrottled = True  # type: ignore[attr-defined]


def _item_headers(res: Result) -> dict[str, str]:
    headers = {k: v for k, v in res.headers.items() if k.lower() not in ("request-id", "client-request-id")}
    if isinstance(res.body, dict):
        headers["Content-Type"] = (
            "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"
        )
    return headers


def _decode(body: str) -> bytes:
    """A string body is base64 (how clients send non-object JSON bodies), else taken as it is."""
    try:
        return base64.b64decode(body, validate=True)
    except (ValueError, binascii.Error):
        return body.encode()


async def _run(parent: Ctx, item: dict, faults: Any, counted: bool = False) -> Result:
    url = item["url"]
    if not url.startswith("/"):
        url = "/" + url
    parts = urlsplit(url)
    headers = {k.lower(): str(v) for k, v in (item.get("headers") or {}).items()}
    headers["authorization"] = parent.headers.get("authorization", "")
    if "client-request-id" not in headers and parent.headers.get("client-request-id"):
        headers["client-request-id"] = parent.headers["client-request-id"]
    body = item.get("body")
    ctx = Ctx(
        state=parent.state,
        method=item["method"].upper(),
        path=parts.path,
        params=dict(parse_qsl(parts.query, keep_blank_values=True)),
        headers=headers,
        raw_body=body
        if isinstance(body, (dict, list))
        else (body.encode() if isinstance(body, str) else None),
        base=parent.base,
        scope=None,
        counted=counted,
    )
    latency = 0.0
    if faults.active and faults.applies_to("/v1.0" + parts.path):
        decision = faults.decide(allow_drop=False)
        latency = decision.latency
        if decision.status:
            from m365emulator.faults import fault_body

            if latency:
                await asyncio.sleep(latency)
            fbody, fheaders = fault_body(decision.status)
            if decision.status in (429, 503):
                fheaders["Retry-After"] = str(faults.retry_after)
            return Result(decision.status, fbody, fheaders)
    if parts.path.lower().startswith("/$batch"):
        return Result(400, error_body(exc.bad_request("A batch request cannot contain another batch."), {}))
    return await dispatch(ctx, latency)
