"""Calendar API v3 rules on GoogleState: access roles, events (client-chosen base32hex ids, etags,
`status: cancelled` tombstones), the change counter behind sync tokens, events.list (full and incremental
sync, pages, time window, singleEvents expansion, extended-property filters) and freebusy.query.

A stored event is the event resource as the API returns it, plus private keys starting with "_": `_seq`
(the calendar change counter value of its last change) and `_deleted`."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from googleemulator.calendar import exceptions as ge
from googleemulator.calendar.push import pusher
from googleemulator.state import Calendar, GoogleState

ID_RE = re.compile(r"^[a-v0-9]{5,1024}$")  # base32hex lowercase, 5..1024 characters (events.insert docs)
ROLES = ["none", "freeBusyReader", "reader", "writer", "owner"]
WRITABLE = {
    "summary", "description", "location", "start", "end", "extendedProperties", "transparency", "visibility",
    "colorId", "recurrence", "reminders", "attendees", "status", "source", "guestsCanModify",
    "guestsCanInviteOthers", "guestsCanSeeOtherGuests", "anyoneCanAddSelf", "eventType", "originalStartTime",
}  # fmt: skip
MAX_RESULTS_DEFAULT, MAX_RESULTS_MAX = 250, 2500
EXPANSION_HORIZON = timedelta(days=730)  # singleEvents without timeMax: instances up to two years ahead


def rfc3339(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def now_dt(state: GoogleState) -> datetime:
    return datetime.fromtimestamp(state.now(), UTC)


def parse_instant(value: str, location: str) -> datetime:
    """An RFC 3339 timestamp with an offset (timeMin, timeMax, freebusy bounds)."""
    try:
        dt = datetime.fromisoformat(value.replace("z", "Z"))
    except (ValueError, AttributeError):
        raise ge.invalid("Bad Request", location) from None
    if dt.tzinfo is None:
        raise ge.invalid("Bad Request", location)
    return dt.astimezone(UTC)


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    try:
        return ZoneInfo(name or fallback)
    except (ZoneInfoNotFoundError, ValueError):
        raise ge.invalid(f"Invalid time zone definition for start time: {name}") from None


def event_instant(when: dict, cal: Calendar, which: str) -> datetime:
    """UTC instant of an event's start/end: `date` (whole day, in the calendar's zone) or `dateTime` (its
    offset, else its `timeZone`)."""
    if not isinstance(when, dict) or not (when.get("date") or when.get("dateTime")):
        raise ge.required(f"Missing {which} time.")
    if when.get("date"):
        try:
            d = date.fromisoformat(when["date"])
        except ValueError:
            raise ge.invalid(f"Invalid {which} time.") from None
        return datetime(d.year, d.month, d.day, tzinfo=zone(cal.time_zone)).astimezone(UTC)
    try:
        dt = datetime.fromisoformat(str(when["dateTime"]).replace("z", "Z"))
    except ValueError:
        raise ge.invalid(f"Invalid {which} time.") from None
    if dt.tzinfo is None:
        if not when.get("timeZone"):
            raise ge.required(f"Missing time zone definition for {which} time.")
        dt = dt.replace(tzinfo=zone(when["timeZone"]))
    elif when.get("timeZone"):
        zone(when["timeZone"])  # validated even when the offset decides
    return dt.astimezone(UTC)


def access_role(cal: Calendar, email: str) -> str:
    if cal.deleted:
        return "none"
    if cal.owner == email.lower():
        return "owner"
    return cal.acl.get(email.lower(), "none")


def require_role(cal: Calendar | None, email: str, needed: str) -> Calendar:
    """404 when the person cannot see the calendar at all (as Google answers), 403 when they may only
    read it and try to write."""
    role = access_role(cal, email) if cal else "none"
    if role == "none":
        raise ge.not_found()
    if ROLES.index(role) < ROLES.index(needed):
        if needed in ("writer", "owner"):
            raise ge.ApiError(403, "requiredAccessLevel", "You need to have writer access to this calendar.")
        raise ge.not_found()
    return cal


def etag_for(seq: int, now: float) -> str:
    return f'"{int(now * 1000)}{seq:06d}"'


def _touch(state: GoogleState, cal: Calendar, ev: dict) -> None:
    """A change: the next value of the calendar's change counter, a new etag and `updated`; push
    notifications go to the calendar's channels."""
    cal.seq += 1
    ev["_seq"] = cal.seq
    ev["updated"] = rfc3339(now_dt(state))
    ev["etag"] = etag_for(cal.seq, state.now())
    state.dirty = True
    if state.channels:
        pusher(state).notify(cal.id, "exists")


def local_rfc3339(dt: datetime) -> str:
    """RFC 3339 with the offset always written, `Z` for UTC, as the API answers."""
    text = dt.isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _validate_times(ev: dict, cal: Calendar) -> None:
    start = event_instant(ev.get("start"), cal, "start")
    end = event_instant(ev.get("end"), cal, "end")
    if end < start:
        raise ge.time_range_empty("end")
    if bool(ev["start"].get("date")) != bool(ev["end"].get("date")):
        raise ge.invalid("Start and end times must either both be date or both be dateTime.")
    # Answers carry dateTime with its offset in the event's zone (else the calendar's), whatever was sent.
    for key, instant in (("start", start), ("end", end)):
        when = dict(ev[key])
        if when.get("dateTime"):
            when["dateTime"] = local_rfc3339(instant.astimezone(zone(when.get("timeZone") or cal.time_zone)))
            ev[key] = when


def _check_body(body: object) -> dict:
    if not isinstance(body, dict):
        raise ge.ApiError(400, "parseError", "Parse Error")
    return body


STRING_FIELDS = ("summary", "description", "location", "colorId", "eventType")
CHOICES = {
    "transparency": ("opaque", "transparent"),
    "status": ("confirmed", "tentative", "cancelled"),
    "visibility": ("default", "public", "private", "confidential"),
}


def _validate_fields(ev: dict) -> None:
    """Types and values of the fields the emulator stores, as Google checks them (400 before any change)."""
    for key in STRING_FIELDS:
        if key in ev and not isinstance(ev[key], str):
            raise ge.invalid(f"Invalid value for: {key}")
    for key, allowed in CHOICES.items():
        if key in ev and ev[key] not in allowed:
            raise ge.invalid(f"Invalid value for: {key}")
    for key in ("start", "end"):
        when = ev.get(key)
        if not isinstance(when, dict) or not all(
            isinstance(when.get(k, ""), str) for k in ("date", "dateTime", "timeZone")
        ):
            raise (
                ge.required(f"Missing {key} time.")
                if when is None
                else ge.invalid(f"Invalid value for: {key}")
            )
    props = ev.get("extendedProperties")
    if props is not None and not (
        isinstance(props, dict)
        and set(props) <= {"private", "shared"}
        and all(isinstance(v, dict) and all(isinstance(x, str) for x in v.values()) for v in props.values())
    ):
        raise ge.invalid("Invalid value for: extendedProperties")
    for key, kind in (
        ("reminders", dict),
        ("source", dict),
        ("attendees", list),
        ("originalStartTime", dict),
    ):
        if key in ev and not isinstance(ev[key], kind):
            raise ge.invalid(f"Invalid value for: {key}")
    recurrence = ev.get("recurrence")
    if recurrence is not None:
        if not isinstance(recurrence, list) or not all(isinstance(r, str) for r in recurrence):
            raise ge.invalid("Invalid value for: recurrence")
        _parse_rrule(recurrence)


def insert_event(state: GoogleState, cal: Calendar, body: object, actor: str, base: str) -> dict:
    body = _check_body(body)
    event_id = body.get("id")
    if event_id is not None:
        if not isinstance(event_id, str) or not ID_RE.match(event_id):
            raise ge.invalid("Invalid resource id value.")
        if event_id in cal.events:
            # A deleted event keeps its id too: re-inserting it is a duplicate (restore with a PATCH of
            # status "confirmed" instead).
            raise ge.duplicate()
    else:
        event_id = _new_id()
    now = rfc3339(now_dt(state))
    owner = state.account(cal.owner)
    ev: dict = {"kind": "calendar#event", "etag": "", "id": event_id, "status": "confirmed"}
    ev["htmlLink"] = f"{base}/calendar/event?eid={event_id}"
    ev["created"] = now
    ev["updated"] = now
    for key in WRITABLE:
        if key in body and body[key] is not None:
            ev[key] = body[key]
    if ev.get("status") not in ("confirmed", "tentative", "cancelled"):
        ev["status"] = "confirmed"
    ev["creator"] = {"email": actor, "self": True} if actor == cal.owner else {"email": actor}
    ev["organizer"] = {"email": cal.id, "self": True}
    if owner is not None and cal.primary:
        ev["organizer"]["displayName"] = owner.name
    elif not cal.primary:
        ev["organizer"]["displayName"] = cal.summary
    ev["iCalUID"] = body.get("iCalUID") or f"{event_id}@google.com"
    ev["sequence"] = 0
    ev.setdefault("reminders", {"useDefault": True})
    ev.setdefault("eventType", "default")
    _validate_fields(ev)
    _validate_times(ev, cal)
    ev["_deleted"] = ev["status"] == "cancelled"
    cal.events[event_id] = ev
    _touch(state, cal, ev)
    return ev


def _new_id() -> str:
    alphabet = "0123456789abcdefghijklmnopqrstuv"
    return "".join(secrets.choice(alphabet) for _ in range(26))


def get_event(cal: Calendar, event_id: str) -> dict:
    ev = cal.events.get(event_id)
    if ev is None:
        base_id, _, stamp = event_id.rpartition("_")
        master = cal.events.get(base_id) if base_id else None
        if master and master.get("recurrence"):
            for inst in expand(master, cal, None, None):
                if inst["id"] == event_id:
                    return inst
        raise ge.not_found()
    return ev


def _merge(target: dict, patch: dict) -> None:
    """Patch semantics: objects merge key by key (null removes a key), arrays and scalars replace."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict) and key not in ("start", "end"):
            inner = dict(target[key])
            _merge(inner, value)
            target[key] = inner
        else:
            target[key] = value


def patch_event(
    state: GoogleState,
    cal: Calendar,
    event_id: str,
    body: object,
    if_match: str | None,
    *,
    replace: bool = False,
) -> dict:
    body = _check_body(body)
    ev = cal.events.get(event_id)
    if ev is None:
        raise ge.not_found()
    if if_match and if_match != "*" and if_match != ev["etag"]:
        raise ge.condition_not_met()
    if "id" in body and body["id"] != event_id:
        raise ge.invalid("Invalid resource id value.")
    candidate = {k: v for k, v in ev.items()}
    changes = {k: v for k, v in body.items() if k in WRITABLE}
    if replace:
        for key in WRITABLE - {"eventType"}:
            candidate.pop(key, None)
        candidate.update({k: v for k, v in changes.items() if v is not None})
        candidate.setdefault("status", "confirmed")
    else:
        _merge(candidate, changes)
    _validate_fields(candidate)
    _validate_times(candidate, cal)
    if any(candidate.get(k) != ev.get(k) for k in ("start", "end", "recurrence", "location", "summary")):
        candidate["sequence"] = ev.get("sequence", 0) + 1
    candidate["_deleted"] = candidate.get("status") == "cancelled"
    ev.clear()
    ev.update(candidate)
    _touch(state, cal, ev)
    return ev


def delete_event(state: GoogleState, cal: Calendar, event_id: str, if_match: str | None = None) -> None:
    ev = cal.events.get(event_id)
    if ev is None:
        raise ge.not_found()
    if ev.get("_deleted"):
        raise ge.deleted()
    if if_match and if_match != "*" and if_match != ev["etag"]:
        raise ge.condition_not_met()
    ev["status"] = "cancelled"
    ev["_deleted"] = True
    _touch(state, cal, ev)


def move_event(state: GoogleState, cal: Calendar, event_id: str, target: Calendar) -> dict:
    """events.move / the user dragging an event to another calendar: the source keeps a cancelled
    tombstone (incremental sync reports it gone), the target gets the event with the same id."""
    ev = cal.events.get(event_id)
    if ev is None or ev.get("_deleted"):
        raise ge.not_found()
    if event_id in target.events and not target.events[event_id].get("_deleted"):
        raise ge.duplicate()
    moved = {k: v for k, v in ev.items()}
    moved["organizer"] = {"email": target.id, "self": True}
    target.events[event_id] = moved
    _touch(state, target, moved)
    ev["status"] = "cancelled"
    ev["_deleted"] = True
    _touch(state, cal, ev)
    return moved


def render(ev: dict, *, minimal_if_deleted: bool = False) -> dict:
    if minimal_if_deleted and ev.get("_deleted"):
        out = {"kind": "calendar#event", "etag": ev["etag"], "id": ev["id"], "status": "cancelled"}
        if ev.get("recurringEventId"):
            out["recurringEventId"] = ev["recurringEventId"]
            out["originalStartTime"] = ev["originalStartTime"]
        return out
    return {k: v for k, v in ev.items() if not k.startswith("_")}


# --- recurrence (RRULE subset: FREQ DAILY/WEEKLY/MONTHLY/YEARLY, INTERVAL, COUNT, UNTIL, BYDAY for WEEKLY) ---
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


FREQS = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")


def _parse_rrule(lines: list[str]) -> dict | None:
    """The event's RRULE as a dict, checked (400 "Invalid recurrence rule." otherwise). EXDATE, RDATE and
    other lines are accepted and not applied (README: not emulated)."""
    for line in lines:
        if not line.upper().startswith("RRULE:"):
            continue
        try:
            parts = {k.upper(): v.upper() for k, v in (p.split("=", 1) for p in line[6:].split(";") if p)}
        except ValueError:
            raise ge.invalid("Invalid recurrence rule.") from None
        ok = parts.get("FREQ") in FREQS
        for key in ("COUNT", "INTERVAL"):
            ok = ok and (key not in parts or (parts[key].isdigit() and int(parts[key]) > 0))
        if "UNTIL" in parts:
            ok = ok and bool(re.fullmatch(r"\d{8}(T\d{6}Z)?", parts["UNTIL"]))
        if "BYDAY" in parts:
            ok = ok and all(d[-2:] in DAYS for d in parts["BYDAY"].split(","))
        if not ok:
            raise ge.invalid("Invalid recurrence rule.")
        return parts
    return None


def _rrule(event: dict) -> dict | None:
    return _parse_rrule(event.get("recurrence") or [])


def _occurrence_starts(event: dict, cal: Calendar, horizon: datetime):
    rule = _rrule(event)
    tz = zone(event["start"].get("timeZone") or cal.time_zone)
    first = event_instant(event["start"], cal, "start").astimezone(tz)
    if rule is None:
        yield first
        return
    freq, interval = rule.get("FREQ", "DAILY"), int(rule.get("INTERVAL", "1") or 1)
    count = int(rule["COUNT"]) if "COUNT" in rule else None
    until = None
    if "UNTIL" in rule:
        raw = rule["UNTIL"]
        until = (
            datetime.strptime(raw, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            if "T" in raw
            else datetime.strptime(raw, "%Y%m%d").replace(tzinfo=tz) + timedelta(days=1)
        )
    days = [DAYS.index(d[-2:]) for d in rule.get("BYDAY", "").split(",") if d[-2:] in DAYS]
    produced, step = 0, 0
    while True:
        if freq == "WEEKLY" and days:
            week_start = first - timedelta(days=first.weekday()) + timedelta(weeks=step * interval)
            candidates = [week_start + timedelta(days=d) for d in sorted(days)]
            candidates = [c for c in candidates if c >= first]
        elif freq == "WEEKLY":
            candidates = [first + timedelta(weeks=step * interval)]
        elif freq == "MONTHLY":
            month = first.month - 1 + step * interval
            try:
                candidates = [first.replace(year=first.year + month // 12, month=month % 12 + 1)]
            except ValueError:
                candidates = []
        elif freq == "YEARLY":
            try:
                candidates = [first.replace(year=first.year + step * interval)]
            except ValueError:
                candidates = []
        else:
            candidates = [first + timedelta(days=step * interval)]
        for start in candidates:
            start = start.replace(tzinfo=None).replace(tzinfo=tz)  # wall time kept across DST changes
            if (until and start > until) or (count is not None and produced >= count) or start > horizon:
                return
            produced += 1
            yield start
        step += 1
        if step > 20000:
            return


def expand(master: dict, cal: Calendar, time_min: datetime | None, time_max: datetime | None) -> list[dict]:
    """The instances of a recurring event (singleEvents=true), ids `{eventId}_{yyyymmddThhmmssZ}`."""
    start0 = event_instant(master["start"], cal, "start")
    length = event_instant(master["end"], cal, "end") - start0
    horizon = time_max or (max(start0, datetime.now(UTC)) + EXPANSION_HORIZON)
    out = []
    for start in _occurrence_starts(master, cal, horizon):
        start_utc = start.astimezone(UTC)
        end_utc = start_utc + length
        if time_min and end_utc <= time_min:
            continue
        if time_max and start_utc >= time_max:
            break
        all_day = bool(master["start"].get("date"))
        stamp = start_utc.strftime("%Y%m%d") if all_day else start_utc.strftime("%Y%m%dT%H%M%SZ")
        inst = {k: v for k, v in master.items() if k != "recurrence"}
        inst["id"] = f"{master['id']}_{stamp}"
        inst["recurringEventId"] = master["id"]
        if all_day:
            d = start.date()
            inst["start"] = {"date": d.isoformat()}
            inst["end"] = {"date": (d + (length // timedelta(days=1)) * timedelta(days=1)).isoformat()}
            inst["originalStartTime"] = {"date": d.isoformat()}
        else:
            tzname = master["start"].get("timeZone")
            local_start = local_rfc3339(start)
            local_end = local_rfc3339((start.astimezone(UTC) + length).astimezone(start.tzinfo))
            inst["start"] = {"dateTime": local_start, **({"timeZone": tzname} if tzname else {})}
            inst["end"] = {
                "dateTime": local_end,
                **({"timeZone": master["end"].get("timeZone")} if tzname else {}),
            }
            inst["originalStartTime"] = dict(inst["start"])
        out.append(inst)
    return out


# --- events.list -----------------------------------------------------------------------------------------
INCOMPATIBLE_WITH_SYNC = ("iCalUID", "orderBy", "privateExtendedProperty", "q", "sharedExtendedProperty",
                          "timeMin", "timeMax", "updatedMin")  # fmt: skip


def _span(ev: dict, cal: Calendar) -> tuple[datetime, datetime]:
    return event_instant(ev["start"], cal, "start"), event_instant(ev["end"], cal, "end")


def _props_match(ev: dict, kind: str, filters: list[str]) -> bool:
    props = (ev.get("extendedProperties") or {}).get(kind) or {}
    for f in filters:
        name, _, value = f.partition("=")
        if props.get(name) != value:
            return False
    return True


def list_events(state: GoogleState, cal: Calendar, params, role: str) -> dict:
    """params: a multi-dict (Starlette QueryParams or similar with getlist)."""
    max_results = params.get("maxResults")
    try:
        max_results = min(int(max_results), MAX_RESULTS_MAX) if max_results else MAX_RESULTS_DEFAULT
        if max_results < 1:
            raise ValueError
    except ValueError:
        raise ge.invalid(
            f"Invalid value '{params.get('maxResults')}'. Values must be within the range: [1, 2500]",
            "maxResults",
        ) from None
    page_token = params.get("pageToken")
    if page_token:
        snapshot = state.page_tokens.get(page_token)
        if snapshot is None or snapshot["calendar"] != cal.id:
            raise ge.invalid("Invalid page token value.", "pageToken")
        return _page(state, cal, snapshot, max_results, role)
    sync_token = params.get("syncToken")
    single = params.get("singleEvents") == "true"
    if sync_token:
        for name in INCOMPATIBLE_WITH_SYNC:
            if params.get(name):
                raise ge.invalid("Sync token cannot be used with other parameters.", name)
        token = state.sync_tokens.get(sync_token)
        if (
            token is None
            or token["calendar"] != cal.id
            or token["epoch"] != cal.sync_epoch
            or state.now() - token["created"] > state.settings.sync_token_ttl_seconds
        ):
            raise ge.full_sync_required()
        changed = [ev for ev in cal.events.values() if ev.get("_seq", 0) > token["seq"]]
        changed.sort(key=lambda e: e["_seq"])
        items = []
        for ev in changed:
            if single and ev.get("recurrence") and not ev.get("_deleted"):
                items += expand(ev, cal, None, None)
            else:
                items.append(ev)
        snapshot = {"calendar": cal.id, "ids": None, "items": [render(e, minimal_if_deleted=True) for e in items],
                    "seq": cal.seq, "epoch": cal.sync_epoch}  # fmt: skip
        return _page(state, cal, snapshot, max_results, role)
    time_min = parse_instant(params["timeMin"], "timeMin") if params.get("timeMin") else None
    time_max = parse_instant(params["timeMax"], "timeMax") if params.get("timeMax") else None
    if time_min and time_max and time_min >= time_max:
        raise ge.time_range_empty("timeMax")
    order_by = params.get("orderBy")
    if order_by not in (None, "startTime", "updated"):
        raise ge.invalid(f"Invalid value '{order_by}' for orderBy", "orderBy")
    if order_by == "startTime" and not single:
        raise ge.invalid("The requested ordering is not available for the particular query.", "orderBy")
    show_deleted = params.get("showDeleted") == "true"
    private = params.getlist("privateExtendedProperty")
    shared = params.getlist("sharedExtendedProperty")
    updated_min = parse_instant(params["updatedMin"], "updatedMin") if params.get("updatedMin") else None
    text = (params.get("q") or "").lower()
    ical = params.get("iCalUID")
    items = []
    for ev in cal.events.values():
        if ev.get("_deleted") and not (show_deleted or updated_min):
            continue
        if private and not _props_match(ev, "private", private):
            continue
        if shared and not _props_match(ev, "shared", shared):
            continue
        if updated_min and datetime.fromisoformat(ev["updated"]) < updated_min:
            continue
        if ical and ev.get("iCalUID") != ical:
            continue
        if text and not any(
            text in str(ev.get(k, "")).lower() for k in ("summary", "description", "location")
        ):
            continue
        if single and ev.get("recurrence") and not ev.get("_deleted"):
            items += expand(ev, cal, time_min, time_max)
            continue
        start, end = _span(ev, cal)
        if (time_min and end <= time_min) or (time_max and start >= time_max):
            continue
        items.append(ev)
    if order_by == "startTime":
        items.sort(key=lambda e: (_span(e, cal)[0], e["id"]))
    elif order_by == "updated":
        items.sort(key=lambda e: (e["updated"], e["id"]))
    snapshot = {
        "calendar": cal.id,
        "items": [render(e) for e in items],
        "seq": cal.seq,
        "epoch": cal.sync_epoch,
    }
    return _page(state, cal, snapshot, max_results, role)


def _page(state: GoogleState, cal: Calendar, snapshot: dict, max_results: int, role: str) -> dict:
    """One page of a listing snapshot. The last page carries nextSyncToken pointing at the change counter
    when the listing began, so a change made while the client paged is reported by the next sync."""
    items = snapshot["items"]
    body: dict = {
        "kind": "calendar#events",
        "etag": etag_for(cal.seq, state.now()),
        "summary": cal.summary,
        "description": cal.description,
        "updated": rfc3339(now_dt(state)),
        "timeZone": cal.time_zone,
        "accessRole": role,
        "defaultReminders": [{"method": "popup", "minutes": 10}] if role in ("owner", "writer") else [],
    }
    if len(items) > max_results:
        token = secrets.token_urlsafe(24)
        state.page_tokens[token] = {**snapshot, "items": items[max_results:]}
        while len(state.page_tokens) > 5000:  # bounded: the oldest page tokens go first
            state.page_tokens.pop(next(iter(state.page_tokens)))
        body["nextPageToken"] = token
    else:
        token = secrets.token_urlsafe(24)
        state.sync_tokens[token] = {
            "calendar": cal.id, "seq": snapshot["seq"], "epoch": snapshot["epoch"], "created": state.now()
        }  # fmt: skip
        body["nextSyncToken"] = token
    body["items"] = items[:max_results]
    return body


# --- freebusy.query ------------------------------------------------------------------------------------
def busy_intervals(cal: Calendar, time_min: datetime, time_max: datetime) -> list[dict]:
    spans = []
    for ev in cal.events.values():
        if ev.get("_deleted") or ev.get("transparency") == "transparent":
            continue
        instances = expand(ev, cal, time_min, time_max) if ev.get("recurrence") else [ev]
        for inst in instances:
            start, end = _span(inst, cal)
            if end <= time_min or start >= time_max:
                continue
            spans.append((max(start, time_min), min(end, time_max)))
    spans.sort()
    merged: list[list[datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [
        {"start": rfc3339(s).replace(".000Z", "Z"), "end": rfc3339(e).replace(".000Z", "Z")}
        for s, e in merged
    ]
