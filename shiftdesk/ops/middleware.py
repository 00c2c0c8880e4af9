"""/healthz for load balancers, and noting secrets that could not be decrypted during a request."""

from __future__ import annotations

import json
import logging

from django.db import Error as DatabaseError  # every database failure (InterfaceError too)
from django.db import connection
from django.http import HttpRequest, HttpResponse

from shiftdesk.lib import crypto
from shiftdesk.ops import heartbeat

log = logging.getLogger(__name__)


class HealthzMiddleware:
    """Answers GET/HEAD /healthz before anything else runs: no Host check (load balancers probe by address),
    no https redirect, no session, no login. 200 when the database answers, else 503. The body says how the
    workers are (for people; a load balancer must not take the web out because a worker is down):

        {"status": "ok", "database": "ok", "workers": {"syncworker": "alive", "refreshbusy": "stale"}}
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.rstrip("/") != "/healthz":
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
        body: dict = {"status": "ok", "database": "ok"}
        status = 200
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
            stale = {kind for kind, _label, _last in heartbeat.stale_kinds()}
            body["workers"] = {
                kind: ("stale" if kind in stale else "alive") for kind in heartbeat.Heartbeat.Kind.values
            }
        except DatabaseError as exc:
            log.warning("healthz: the database does not answer: %s", type(exc).__name__)
            body = {"status": "error", "database": "unreachable"}
            status = 503
        return HttpResponse(
            json.dumps(body),
            status=status,
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )


class UndecryptableNoticeMiddleware:
    """Collects, for this request, the stored secrets no configured key could decrypt (lib/crypto.py), so the
    page can say which must be entered again (context_processors.undecryptable_secrets)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = crypto.start_noting_undecryptable()
        try:
            return self.get_response(request)
        finally:
            crypto.stop_noting_undecryptable(token)
