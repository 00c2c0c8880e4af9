"""events.watch / channels.stop with real push deliveries: HTTPS POSTs carrying Google's X-Goog-* headers,
to a receiver running here with its own certificate (the emulator's push sender trusts its CA by setting)."""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from googleapiclient.errors import HttpError

from m365emulator.tls import ensure_tls
from tests.google_emulator.test_calendar_api import event, service_for


class Receiver:
    def __init__(self, tls_dir=None):
        self.received: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                outer.received.append({"headers": dict(self.headers), "body": self.rfile.read(length)})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls_dir is not None:
            files = ensure_tls(tls_dir)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(files.cert_file, files.key_file)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.ca_file = str(files.ca_file)
            scheme = "https"
        self.url = f"{scheme}://localhost:{self.server.server_address[1]}/google/notifications"
        # close() waits for serve_forever to notice the shutdown, at most one poll interval (0.5 s by default).
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(tmp_path, google):
    r = Receiver(tmp_path / "receiver-tls")
    google.gcontrol.patch("/settings", json={"push_ca_file": r.ca_file}).raise_for_status()
    yield r
    r.close()


def deliveries(google):
    return google.gcontrol.get("/deliveries", params={"wait": "1"}).json()["value"]


def test_watch_delivers_sync_then_exists_then_not_exists_and_stop_ends_it(google, gworld, receiver):
    alice = service_for(google)
    bob = service_for(google, "bob@example.org")
    channel = (
        alice.events()
        .watch(
            calendarId="rota@group.calendar.google.com",
            body={
                "id": "chan-1",
                "type": "web_hook",
                "address": receiver.url,
                "token": "secret-token",
                "params": {"ttl": "3600"},
            },
        )
        .execute()
    )
    assert channel["kind"] == "api#channel" and channel["id"] == "chan-1" and channel["resourceId"]
    assert channel["resourceUri"].endswith(
        "/calendar/v3/calendars/rota@group.calendar.google.com/events?alt=json"
    )
    deliveries(google)
    bob.events().insert(calendarId="rota@group.calendar.google.com", body=event(id="rota00001")).execute()
    deliveries(google)
    google.gcontrol.patch(
        "/calendars/rota@group.calendar.google.com/events/rota00001", json={"summary": "Bob edits"}
    )
    deliveries(google)
    states = [
        (m["headers"]["X-Goog-Resource-State"], m["headers"]["X-Goog-Message-Number"])
        for m in receiver.received
    ]
    assert states == [("sync", "1"), ("exists", "2"), ("exists", "3")]
    first = receiver.received[0]["headers"]
    assert first["X-Goog-Channel-ID"] == "chan-1" and first["X-Goog-Channel-Token"] == "secret-token"
    assert first["X-Goog-Resource-ID"] == channel["resourceId"] and first[
        "X-Goog-Channel-Expiration"
    ].endswith("GMT")
    assert receiver.received[0]["body"] == b""
    # Stopping needs the right resourceId; afterwards changes are not delivered.
    with pytest.raises(HttpError) as exc:
        alice.channels().stop(body={"id": "chan-1", "resourceId": "wrong"}).execute()
    assert exc.value.status_code == 404
    alice.channels().stop(body={"id": "chan-1", "resourceId": channel["resourceId"]}).execute()
    bob.events().insert(calendarId="rota@group.calendar.google.com", body=event(id="rota00002")).execute()
    deliveries(google)
    assert len(receiver.received) == 3


def test_calendar_deleted_sends_not_exists(google, gworld, receiver):
    alice = service_for(google)
    alice.events().watch(calendarId="rota@group.calendar.google.com",
                         body={"id": "chan-2", "type": "web_hook", "address": receiver.url}).execute()  # fmt: skip
    deliveries(google)
    assert google.gcontrol.delete("/calendars/rota@group.calendar.google.com").status_code == 204
    deliveries(google)
    assert [m["headers"]["X-Goog-Resource-State"] for m in receiver.received] == ["sync", "not_exists"]
    assert "X-Goog-Channel-Token" not in receiver.received[0]["headers"]


def test_watch_needs_https_unless_allowed_and_a_unique_channel_id(google, gworld, tmp_path):
    alice = service_for(google)
    plain = Receiver()
    try:
        with pytest.raises(HttpError) as exc:
            alice.events().watch(
                calendarId="primary", body={"id": "c", "type": "web_hook", "address": plain.url}
            ).execute()
        assert exc.value.status_code == 400 and "WebHook callback must be HTTPS" in exc.value.reason
        google.gcontrol.patch("/settings", json={"allow_http_push": True}).raise_for_status()
        alice.events().watch(
            calendarId="primary", body={"id": "c", "type": "web_hook", "address": plain.url}
        ).execute()
        with pytest.raises(HttpError) as exc:
            alice.events().watch(
                calendarId="primary", body={"id": "c", "type": "web_hook", "address": plain.url}
            ).execute()
        assert exc.value.status_code == 400
        with pytest.raises(HttpError) as exc:  # channel ids: at most 64 characters
            alice.events().watch(
                calendarId="primary", body={"id": "c" * 65, "type": "web_hook", "address": plain.url}
            ).execute()
        assert exc.value.status_code == 400
        deliveries(google)
        assert [m["headers"]["X-Goog-Resource-State"] for m in plain.received] == ["sync"]
    finally:
        plain.close()


def test_an_expired_channel_gets_nothing(google, gworld, receiver):
    alice = service_for(google)
    alice.events().watch(calendarId="primary", body={"id": "short", "type": "web_hook", "address": receiver.url,
                                                     "params": {"ttl": "60"}}).execute()  # fmt: skip
    deliveries(google)
    google.gcontrol.put("/clock", json={"advance_seconds": 120}).raise_for_status()
    alice.events().insert(calendarId="primary", body=event()).execute()
    deliveries(google)
    assert [m["headers"]["X-Goog-Resource-State"] for m in receiver.received] == ["sync"]
