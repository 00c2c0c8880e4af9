"""GraphState <-> JSON-able dict, for the emulator's state-dir persistence (dump/load)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from .models import Calendar, Event, GraphSettings, GraphState, Mailbox

_DT_FIELDS = ("created", "modified", "start", "end")


def _event_dict(event: Event) -> dict:
    data = dataclasses.asdict(event)
    for name in _DT_FIELDS:
        data[name] = getattr(event, name).isoformat()
    return data


def dump_graph(graph: GraphState) -> dict:
    """The lock is taken one mailbox at a time, not for the whole dump: a big world (20,000 events) takes
    a while to copy, and requests on the event loop wait for the lock meanwhile (latency spikes for every
    request in flight). Each mailbox is dumped consistently; the id counters are read last, so they are at
    least what any dumped id used."""
    from .subscriptions import dump_subscriptions

    with graph.lock:
        boxes = list(graph.mailboxes.values())
    mailboxes = []
    for box in boxes:
        with graph.lock:
            mailboxes.append(
                {
                    "oid": box.oid,
                    "display_name": box.display_name,
                    "address": box.address,
                    "time_zone": box.time_zone,
                    "is_personal": box.is_personal,
                    "calendars": [dataclasses.asdict(c) for c in box.calendars.values()],
                    "events": [_event_dict(e) for e in box.events.values()],
                }
            )
    with graph.lock:
        return {
            "counter": graph.counter,
            "seq": graph.seq,
            "settings": dataclasses.asdict(graph.settings),
            "mailboxes": mailboxes,
            "subscriptions": dump_subscriptions(graph),
        }


def load_graph(graph: GraphState, data: dict[str, Any]) -> None:
    from .subscriptions import load_subscriptions

    graph.counter = int(data.get("counter", 0))
    graph.seq = int(data.get("seq", 0))
    graph.settings = GraphSettings(**data.get("settings", {}))
    for raw in data.get("mailboxes", []):
        box = Mailbox.__new__(Mailbox)
        box.graph = graph
        box.oid, box.display_name, box.address = raw["oid"], raw["display_name"], raw["address"]
        box.time_zone, box.is_personal = raw["time_zone"], raw["is_personal"]
        box.calendars = {c["id"]: Calendar(**c) for c in raw["calendars"]}
        box.events = {}
        for ev in raw["events"]:
            ev = dict(ev)
            for name in _DT_FIELDS:
                ev[name] = datetime.fromisoformat(ev[name])
            box.events[ev["id"]] = Event(**ev)
        box.transactions = {e.transaction_id: e.id for e in box.events.values() if e.transaction_id}
        box.occurrences, box.sync_states, box.pages = {}, {}, {}
        box.regular_ids = {e.regular_id: e.id for e in box.events.values() if e.regular_id}
        graph.mailboxes[box.oid] = box
    load_subscriptions(graph, data.get("subscriptions", []))
