"""Unit tests of the Graph state's pure parts: mailbox rules, recurrence, OData parsing, throttle counters,
fault decisions and dump/load."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from m365emulator.directory import User
from m365emulator.faults import FaultConfig, FaultConfigError
from m365emulator.graph import exceptions as exc
from m365emulator.graph import recurrence
from m365emulator.graph.models import GraphState
from m365emulator.graph.odata import compile_filter, parse_query
from m365emulator.graph.throttling import Throttle

USER = User(
    "0000-oid", "0000-tid", "u@x.onmicrosoft.com", "u@x.onmicrosoft.com", "U Ser", "pw", "Europe/Paris"
)


def body(**extra):
    data = {"subject": "S", "start": {"dateTime": "2026-12-01T07:00:00", "timeZone": "Europe/Paris"},
            "end": {"dateTime": "2026-12-01T15:00:00", "timeZone": "Europe/Paris"}}  # fmt: skip
    data.update(extra)
    return data


def test_mailbox_is_lazy_with_a_default_calendar():
    graph = GraphState()
    box = graph.ensure_mailbox(USER)
    assert graph.ensure_mailbox(USER) is box
    assert [(c.name, c.is_default) for c in box.calendars.values()] == [("Calendar", True)]


def test_ids_are_deterministic_after_reset():
    def ids():
        graph = GraphState()
        box = graph.ensure_mailbox(USER)
        return box.default_calendar.id, box.create_event(None, body())[0].id

    assert ids() == ids()


def test_event_rules():
    box = GraphState().ensure_mailbox(USER)
    event, created = box.create_event(None, body(transactionId="t"))
    assert created and event.start == datetime(2026, 12, 1, 6, tzinfo=UTC)
    again, created = box.create_event(None, body(transactionId="t"))
    assert again is event and not created
    key = event.change_key
    box.update_event(event.id, {"subject": "T"}, if_match=f'W/"{key}"')
    assert event.change_key != key
    with pytest.raises(exc.GraphError) as err:
        box.update_event(event.id, {"subject": "U"}, if_match=f'W/"{key}"')
    assert err.value.status == 412
    with pytest.raises(exc.GraphError) as err:
        box.update_event(event.id, {"start": {"dateTime": "2026-12-02T00:00:00", "timeZone": "UTC"}})
    assert err.value.code == "ErrorCalendarEndDateIsEarlierThanStartDate"
    assert event.subject == "T"  # a rejected body changes nothing
    box.delete_event(event.id)
    assert event.id not in box.events and "t" not in box.transactions


def test_weekly_and_monthly_recurrence_dates():
    rec = recurrence.validate({"pattern": {"type": "weekly", "interval": 2, "daysOfWeek": ["Tuesday", "thursday"]},
                               "range": {"type": "endDate", "startDate": "2026-12-01", "endDate": "2026-12-31"}})  # fmt: skip
    days = list(recurrence.occurrence_dates(rec, date(2026, 12, 1), date(2027, 3, 1)))
    assert [d.isoformat() for d in days] == [
        "2026-12-01",
        "2026-12-03",
        "2026-12-15",
        "2026-12-17",
        "2026-12-29",
        "2026-12-31",
    ]
    monthly = recurrence.validate({"pattern": {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 31},
                                   "range": {"type": "numbered", "startDate": "2027-01-01", "numberOfOccurrences": 3}})  # fmt: skip
    assert [d.isoformat() for d in recurrence.occurrence_dates(monthly, date(2027, 1, 1), date(2028, 1, 1))] == [
        "2027-01-31", "2027-03-31", "2027-05-31",
    ]  # fmt: skip


def test_filter_parser():
    row = {"subject": "Early Shift", "showAs": "busy", "start": {"dateTime": "2026-12-01T06:00:00.0000000"},
           "categories": ["Red"], "singleValueExtendedProperties": [{"id": "String {A} Name X", "value": "1"}]}  # fmt: skip
    assert compile_filter("subject eq 'early shift' and not (showAs eq 'free')")(row)
    assert compile_filter("start/dateTime lt '2026-12-01T07:00:00' or subject eq 'x'")(row)
    assert compile_filter("categories/any(c: c eq 'Red')")(row)
    assert compile_filter(
        "singleValueExtendedProperties/Any(ep: ep/id eq 'String {a} Name X' and ep/value eq '1')"
    )(row)
    assert not compile_filter("contains(subject,'late')")(row)
    for bad in ("subject eq", "(subject eq 'a'", "subject eq 'a' and", "subject @ 'a'"):
        with pytest.raises(exc.GraphError):
            compile_filter(bad)


def test_query_options():
    q = parse_query(
        {"$top": "5", "$skip": "10", "$select": "subject,start", "$orderby": "start/dateTime desc"}
    )
    assert (q.top, q.skip, q.select, q.orderby) == (5, 10, ["subject", "start"], [("start/dateTime", True)])


def test_throttle_counts_concurrency_and_window():
    throttle = Throttle()
    throttle.configure(concurrency=2, requests=3)
    a, b = throttle.acquire("app", "box"), throttle.acquire("app", "box")
    with pytest.raises(exc.GraphError) as err:
        throttle.acquire("app", "box")
    assert "MailboxConcurrency" in err.value.message
    assert throttle.acquire("app", "other-box") is not None
    throttle.release(a)
    throttle.release(b)
    throttle.acquire("app", "box")
    with pytest.raises(exc.GraphError) as err:
        throttle.acquire("app", "box")
    assert "MailboxRequests" in err.value.message and err.value.headers["Retry-After"]


def test_fault_decisions_follow_the_seed_and_remaining():
    def run():
        config = FaultConfig.from_json({"status_rates": {"503": 0.5}, "drop_rate": 0.1, "seed": 3})
        return [(d.drop, d.status) for d in (config.decide() for _ in range(50))]

    assert run() == run()
    config = FaultConfig.from_json({"status_rates": {"504": 1}, "remaining": 2})
    assert [config.decide().status for _ in range(3)] == [504, 504, None]
    with pytest.raises(FaultConfigError):
        FaultConfig.from_json({"status_rates": {"418": 0.1}})


def test_dump_and_load_round_trip():
    graph = GraphState()
    box = graph.ensure_mailbox(USER)
    box.create_calendar("Shifts")
    event, _ = box.create_event(None, body(transactionId="t", singleValueExtendedProperties=[
        {"id": "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name L", "value": "v"}]))  # fmt: skip
    data = graph.dump()
    other = GraphState()
    other.load(data)
    copy = other.mailboxes[USER.oid]
    assert [c.name for c in copy.calendars.values()] == ["Calendar", "Shifts"]
    restored = copy.events[event.id]
    assert (restored.start, restored.change_key, restored.extended) == (
        event.start,
        event.change_key,
        event.extended,
    )
    assert copy.create_event(None, body(transactionId="t"))[0].id == event.id
    assert copy.create_event(None, body())[0].id not in box.events  # the id counter survives
