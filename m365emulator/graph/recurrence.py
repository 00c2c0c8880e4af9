"""Expands a Graph `patternedRecurrence` (daily, weekly, absoluteMonthly, absoluteYearly) into occurrence dates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from .exceptions import GraphError

DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
PATTERNS = {"daily", "weekly", "absoluteMonthly", "absoluteYearly"}
RANGES = {"endDate", "noEnd", "numbered"}
MAX_OCCURRENCES = 5000  # a safety bound for noEnd series; views are bounded by the window anyway


def _bad(message: str) -> GraphError:
    return GraphError(400, "ErrorInvalidRequest", message)


def validate(recurrence: object) -> dict | None:
    """Check a recurrence body and return it normalized (or None for no recurrence)."""
    if recurrence is None:
        return None
    if not isinstance(recurrence, dict):
        raise _bad("The recurrence is invalid.")
    pattern = recurrence.get("pattern") or {}
    rng = recurrence.get("range") or {}
    if not isinstance(pattern, dict) or not isinstance(rng, dict):
        raise _bad("The recurrence is invalid.")
    ptype = pattern.get("type")
    if ptype not in PATTERNS:
        raise _bad(f"Recurrence pattern type '{ptype}' is not supported.")
    interval = pattern.get("interval", 1)
    if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1 or interval > 999:
        raise _bad("The recurrence pattern's interval must be between 1 and 999.")
    days = [str(d).lower() for d in (pattern.get("daysOfWeek") or [])]
    if ptype == "weekly" and (not days or any(d not in DAYS for d in days)):
        raise _bad("A weekly recurrence pattern needs valid daysOfWeek.")
    rtype = rng.get("type")
    if rtype not in RANGES:
        raise _bad(f"Recurrence range type '{rtype}' is not supported.")
    try:
        start = date.fromisoformat(str(rng.get("startDate")))
        end = date.fromisoformat(str(rng["endDate"])) if rtype == "endDate" else None
    except (ValueError, KeyError):
        raise _bad("The recurrence range has an invalid startDate or endDate.") from None
    count = rng.get("numberOfOccurrences", 0)
    if rtype == "numbered" and (not isinstance(count, int) or count < 1):
        raise _bad("A numbered recurrence range needs numberOfOccurrences of at least 1.")
    if end is not None and end < start:
        raise _bad("The recurrence range's endDate is before its startDate.")
    return {
        "pattern": {
            "type": ptype,
            "interval": interval,
            "month": int(pattern.get("month") or 0),
            "dayOfMonth": int(pattern.get("dayOfMonth") or 0),
            "daysOfWeek": days,
            "firstDayOfWeek": str(pattern.get("firstDayOfWeek") or "sunday").lower(),
            "index": str(pattern.get("index") or "first"),
        },
        "range": {
            "type": rtype,
            "startDate": start.isoformat(),
            "endDate": end.isoformat() if end else "0001-01-01",
            "recurrenceTimeZone": rng.get("recurrenceTimeZone") or "",
            "numberOfOccurrences": count if rtype == "numbered" else 0,
        },
    }


def _candidates(rec: dict, first: date) -> Iterator[date]:
    pattern = rec["pattern"]
    ptype, interval = pattern["type"], pattern["interval"]
    start = date.fromisoformat(rec["range"]["startDate"])
    if ptype == "daily":
        day = start
        while True:
            yield day
            day += timedelta(days=interval)
    elif ptype == "weekly":
        wanted = sorted(DAYS.index(d) for d in pattern["daysOfWeek"])
        first_dow = DAYS.index(pattern["firstDayOfWeek"]) if pattern["firstDayOfWeek"] in DAYS else 6
        week = start - timedelta(days=(start.weekday() - first_dow) % 7)
        while True:
            for offset in range(7):
                day = week + timedelta(days=offset)
                if day.weekday() in wanted and day >= start:
                    yield day
            week += timedelta(weeks=interval)
    elif ptype == "absoluteMonthly":
        dom = pattern["dayOfMonth"] or first.day
        y, m = start.year, start.month
        while True:
            try:
                day = date(y, m, dom)
                if day >= start:
                    yield day
            except ValueError:
                pass
            m += interval
            y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
    else:  # absoluteYearly
        dom = pattern["dayOfMonth"] or first.day
        month = pattern["month"] or first.month
        y = start.year
        while True:
            try:
                day = date(y, month, dom)
                if day >= start:
                    yield day
            except ValueError:
                pass
            y += interval


def occurrence_dates(rec: dict, first: date, until: date) -> Iterator[date]:
    """Dates (in the series' own zone) on which the series occurs, up to and including `until`."""
    rng = rec["range"]
    end = date.fromisoformat(rng["endDate"]) if rng["type"] == "endDate" else None
    limit = rng["numberOfOccurrences"] if rng["type"] == "numbered" else MAX_OCCURRENCES
    for n, day in enumerate(_candidates(rec, first)):
        if n >= limit or day > until or (end is not None and day > end):
            return
        yield day
