"""EmulatorState: the whole in-memory world (directory + Graph mailboxes), its lock, request log and
persistence to the state dir so a demo survives a restart."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from m365emulator.directory import Directory
from m365emulator.graph.models import GraphState
from m365emulator.tokens import TokenBook, forget_revocations
from m365emulator.variants import Variants

log = logging.getLogger("m365emulator")

STATE_FILE = "state.json"
REQUEST_LOG_SIZE = 10_000
LOG_SCOPE_KEY = "m365emulator.log"  # the ASGI scope key holding this request's log entry


class EmulatorState:
    def __init__(self, state_dir: str | os.PathLike | None = None) -> None:
        self.state_dir = Path(state_dir) if state_dir else None
        # Handlers run on the server's event loop; tests and the control API may touch the state from
        # other threads (testing.EmulatorServer), so writes that span several objects take this lock.
        self.lock = threading.RLock()
        self.directory = Directory()
        self.graph = GraphState()
        self.tokens = TokenBook()
        self.variants = Variants()  # test switches for undocumented behaviour (variants.py); not saved
        self.request_log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.requests_served = 0  # every request, counted by the request log (the idle collector's clock)
        # Set by the request-log middleware on any write request; the saver thread clears it.
        self.dirty = False
        self.base_url: str | None = None  # set by the server once bound (used for absolute links)
        if self.state_dir:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            self.load_from_disk()

    def reset(self) -> None:
        with self.lock:
            self.directory.reset()
            self.graph.reset()
            self.variants.reset()
            self.request_log.clear()
            forget_revocations(self)
            self.dirty = True

    def dump(self) -> dict[str, Any]:
        with self.lock:
            return {"directory": self.directory.to_dict(), "graph": self.graph.dump()}

    def load(self, data: dict[str, Any]) -> None:
        with self.lock:
            self.directory.load_dict(data.get("directory", {}))
            self.graph.load(data.get("graph", {}))

    # --- persistence ---------------------------------------------------------------------------------
    def save_to_disk(self) -> None:
        if not self.state_dir:
            return
        with self.lock:
            self.dirty = False  # before the dump: a change made while dumping is saved next time
            directory = self.directory.to_dict()
        data = {"directory": directory, "graph": self.graph.dump()}  # the graph locks per mailbox
        path = self.state_dir / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)  # atomic: a crash mid-write never leaves half a file

    def load_from_disk(self) -> None:
        path = self.state_dir / STATE_FILE if self.state_dir else None
        if path is None or not path.exists():
            return
        try:
            self.load(json.loads(path.read_text()))
        except (ValueError, KeyError, TypeError) as exc:
            # A damaged file must not keep the emulator from starting; keep it for inspection.
            log.warning("ignoring unreadable %s: %s", path, exc)
            path.rename(path.with_suffix(f".broken-{int(time.time())}"))
            self.directory.reset()
            self.graph.reset()


def note_request(scope: dict, client_id: str | None = None, mailbox: str | None = None) -> None:
    """Lets a handler add who called to the request-log entry the middleware is writing."""
    entry = scope.get(LOG_SCOPE_KEY)
    if entry is not None:
        if client_id:
            entry["client_id"] = client_id
        if mailbox:
            entry["mailbox"] = mailbox
