"""Push notifications (events.watch / channels.stop): real HTTP POSTs to each channel's address with
Google's headers (X-Goog-Channel-ID, X-Goog-Channel-Token, X-Goog-Channel-Expiration, X-Goog-Resource-ID,
X-Goog-Resource-URI, X-Goog-Resource-State sync | exists | not_exists, X-Goog-Message-Number) and an empty
body. Deliveries run on one background thread so no API request waits for a receiver; each is recorded."""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from email.utils import formatdate

import httpx

from googleemulator.state import GoogleState

log = logging.getLogger("googleemulator")


class Pusher:
    def __init__(self, state: GoogleState) -> None:
        self.state = state
        self.queue: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="googleemulator-push", daemon=True)
        self.thread.start()

    def notify(self, calendar_id: str, resource_state: str) -> None:
        """Queue one message per live channel watching this calendar's events."""
        now_ms = self.state.now() * 1000
        with self.state.lock:
            for channel in self.state.channels.values():
                if channel["calendar"] == calendar_id and int(channel["expiration"]) > now_ms:
                    self._enqueue(channel, resource_state)

    def sync(self, channel: dict) -> None:
        with self.state.lock:
            self._enqueue(channel, "sync")

    def _enqueue(self, channel: dict, resource_state: str) -> None:
        channel["message_number"] = channel.get("message_number", 0) + 1
        headers = {
            "X-Goog-Channel-ID": channel["id"],
            "X-Goog-Channel-Expiration": formatdate(int(channel["expiration"]) / 1000, usegmt=True),
            "X-Goog-Resource-ID": channel["resourceId"],
            "X-Goog-Resource-URI": channel["resourceUri"],
            "X-Goog-Resource-State": resource_state,
            "X-Goog-Message-Number": str(channel["message_number"]),
            "Content-Length": "0",
        }
        if channel.get("token"):
            headers["X-Goog-Channel-Token"] = channel["token"]
        self.queue.put((channel["address"], headers))

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once every queued delivery was attempted (the control API's /deliveries?wait=1)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.queue.unfinished_tasks == 0:
                return True
            time.sleep(0.01)
        return False

    def _client(self) -> httpx.Client:
        settings = self.state.settings
        verify: ssl.SSLContext | bool = True
        if settings.push_ca_file:
            verify = ssl.create_default_context(cafile=settings.push_ca_file)
        return httpx.Client(verify=verify, timeout=settings.push_timeout_seconds, trust_env=False)

    def _run(self) -> None:
        while True:
            address, headers = self.queue.get()
            record = {
                "time": time.time(),
                "address": address,
                "channel_id": headers["X-Goog-Channel-ID"],
                "state": headers["X-Goog-Resource-State"],
                "message_number": int(headers["X-Goog-Message-Number"]),
                "headers": headers,
            }
            try:
                with self._client() as client:
                    response = client.post(address, headers=headers, content=b"")
                record["status"] = response.status_code
            except httpx.HTTPError as exc:
                record["error"] = f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # noqa: BLE001 - a bad receiver must never stop the sender thread
                log.exception("push delivery failed")
                record["error"] = f"{type(exc).__name__}: {exc}"
            self.state.deliveries.append(record)
            self.queue.task_done()


def pusher(state: GoogleState) -> Pusher:
    with state.lock:
        if state.pusher is None:
            state.pusher = Pusher(state)
        return state.pusher
