"""Change notifications: the validationToken handshake against an HTTPS listener, clientState, renew,
delete, and notifications on created/updated/deleted events (including edits made by the user)."""

from __future__ import annotations

import json
import ssl
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from m365emulator.tls import ensure_tls

from .graph_helpers import assert_graph_error, client, shift, token_for

MEGAN = "megan@contoso.onmicrosoft.com"


class Listener:
    """An HTTPS webhook receiver using the emulator's certificate (so the emulator's CA trusts it)."""

    def __init__(self, state_dir):
        tls = ensure_tls(state_dir)
        self.mode = "echo"
        self.validations: list[str] = []
        self.notifications: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                query = parse_qs(urlsplit(self.path).query)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if "validationToken" in query:
                    token = query["validationToken"][0]
                    outer.validations.append(token)
                    reply = token if outer.mode == "echo" else "wrong"
                    status = 200 if outer.mode != "refuse" else 500
                    data = reply.encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                outer.notifications.append(json.loads(body))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/hooks/graph"
        # close() waits for serve_forever to notice the shutdown, at most one poll interval (0.5 s by default).
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def wait_for(self, count, timeout=10.0):
        deadline = time.monotonic() + timeout
        while len(self.notifications) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return [n for batch in self.notifications for n in batch["value"]]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener(emulator, world):
    emulator.control.put(
        "/graph/settings", json={"notification_ca_file": emulator.ca_file}
    ).raise_for_status()
    hook = Listener(emulator.state_dir)
    yield hook
    hook.close()


@pytest.fixture
def megan(emulator, world):
    with client(emulator, token_for(emulator, MEGAN)) as http:
        yield http


def expiry(minutes=60):
    return (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def subscribe(megan, listener, **extra):
    body = {
        "changeType": "created,updated,deleted",
        "notificationUrl": listener.url,
        "resource": "me/events",
        "expirationDateTime": expiry(),
        "clientState": "secret-123",
    }
    body.update(extra)
    return megan.post("/subscriptions", json=body)


def test_subscription_handshake_and_notifications(megan, listener, emulator):
    response = subscribe(megan, listener)
    assert response.status_code == 201, response.text
    sub = response.json()
    assert sub["clientState"] == "secret-123" and sub["resource"] == "me/events"
    assert len(listener.validations) == 1
    event = megan.post("/me/events", json=shift()).json()
    megan.patch(f"/me/events/{event['id']}", json={"subject": "Moved"})
    emulator.control.delete(f"/graph/mailboxes/{MEGAN}/events/{event['id']}").raise_for_status()
    received = listener.wait_for(3)
    # Each notification is its own POST, sent concurrently (subscriptions._deliver), so they may arrive in any
    # order (a run at load 7 saw created, deleted, updated); ShiftDesk's webhook only marks a check due.
    assert sorted(n["changeType"] for n in received) == ["created", "deleted", "updated"]
    [first] = [n for n in received if n["changeType"] == "created"]
    assert first["subscriptionId"] == sub["id"] and first["clientState"] == "secret-123"
    assert first["resourceData"]["id"] == event["id"]
    assert first["resource"].endswith(f"/Events/{event['id']}")
    assert first["tenantId"] == emulator.state.directory.user_by_login(MEGAN).tenant_id
    log = emulator.control.get("/graph/notifications").json()["value"]
    assert {entry["status"] for entry in log} == {202}


def test_change_types_filter_notifications(megan, listener):
    subscribe(megan, listener, changeType="deleted").raise_for_status()
    event = megan.post("/me/events", json=shift()).json()
    megan.delete(f"/me/events/{event['id']}")
    assert [n["changeType"] for n in listener.wait_for(1)] == ["deleted"]


def test_failed_handshake_is_rejected(megan, listener):
    listener.mode = "wrong"
    assert_graph_error(subscribe(megan, listener), 400, "ValidationError")
    listener.mode = "refuse"
    assert_graph_error(subscribe(megan, listener), 400, "ValidationError")


def test_untrusted_endpoint_fails_validation(megan, listener, emulator):
    emulator.control.put("/graph/settings", json={"notification_ca_file": None}).raise_for_status()
    assert_graph_error(subscribe(megan, listener), 400, "ValidationError")


def test_expiration_limits_and_renewal(megan, listener, emulator):
    error = assert_graph_error(
        subscribe(megan, listener, expirationDateTime=expiry(10081)), 400, "ExtensionError"
    )
    assert "10080 minutes" in error["message"]
    assert_graph_error(subscribe(megan, listener, expirationDateTime=expiry(-5)), 400, "ExtensionError")
    sub = subscribe(megan, listener).json()
    renewed = megan.patch(f"/subscriptions/{sub['id']}", json={"expirationDateTime": expiry(3000)})
    assert renewed.status_code == 200 and renewed.json()["expirationDateTime"] > sub["expirationDateTime"]
    emulator.control.put("/graph/settings", json={"subscription_max_minutes": 2000}).raise_for_status()
    assert_graph_error(
        megan.patch(f"/subscriptions/{sub['id']}", json={"expirationDateTime": expiry(3000)}),
        400,
        "ExtensionError",
    )
    assert [s["id"] for s in megan.get("/subscriptions").json()["value"]] == [sub["id"]]
    assert megan.delete(f"/subscriptions/{sub['id']}").status_code == 204
    assert_graph_error(megan.get(f"/subscriptions/{sub['id']}"), 404, "ResourceNotFound")


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"changeType": "exploded"}, "InvalidRequest"),
        ({"notificationUrl": "http://127.0.0.1/hook"}, "ValidationError"),
        ({"resource": "me/messages"}, "ExtensionError"),
        ({"expirationDateTime": "soon"}, "InvalidRequest"),
        ({"clientState": "x" * 129}, "InvalidRequest"),
    ],
)
def test_bad_subscriptions_are_400(megan, listener, extra, code):
    assert_graph_error(subscribe(megan, listener, **extra), 400, code)


def test_deliveries_share_one_tls_context_per_ca_bundle_until_its_file_changes(
    tmp_path, emulator, monkeypatch
):
    """subscriptions._verify loads a bundle once (~20 ms of CPU each time, per handshake and per delivery
    before), and again when the file is replaced."""
    import os
    import shutil
    from types import SimpleNamespace

    from m365emulator.graph import subscriptions

    bundle = tmp_path / "ca.pem"
    shutil.copy(emulator.ca_file, bundle)
    graph = SimpleNamespace(settings=SimpleNamespace(notification_ca_file=str(bundle)))
    first = subscriptions._verify(graph)
    assert subscriptions._verify(graph) is first
    stat = bundle.stat()
    os.utime(bundle, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert subscriptions._verify(graph) is not first
    monkeypatch.delenv("M365EMULATOR_NOTIFICATION_CA", raising=False)
    public = subscriptions._verify(SimpleNamespace(settings=SimpleNamespace(notification_ca_file=None)))
    assert public is subscriptions._verify(
        SimpleNamespace(settings=SimpleNamespace(notification_ca_file=None))
    )
    assert public.cert_store_stats()["x509_ca"] > 1  # the public CAs, not the emulator's one
