"""OData query options Graph clients send for events: $select, $filter, $orderby, $top, $skip, $expand."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import exceptions as exc

EVENT_PROPS = {
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "categories",
    "transactionId",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "iCalUId",
    "uid",
    "reminderMinutesBeforeStart",
    "isReminderOn",
    "hasAttachments",
    "subject",
    "bodyPreview",
    "importance",
    "sensitivity",
    "isAllDay",
    "isCancelled",
    "isOrganizer",
    "responseRequested",
    "seriesMasterId",
    "showAs",
    "type",
    "webLink",
    "onlineMeetingUrl",
    "isOnlineMeeting",
    "onlineMeetingProvider",
    "allowNewTimeProposals",
    "isDraft",
    "hideAttendees",
    "responseStatus",
    "body",
    "start",
    "end",
    "location",
    "locations",
    "recurrence",
    "attendees",
    "organizer",
    "onlineMeeting",
    "singleValueExtendedProperties",
    "multiValueExtendedProperties",
    "attachments",
    "calendar",
    "extensions",
    "instances",
}
TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<dt>\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)"
    r"|(?P<num>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)|(?P<sym>[()/,:]))"
)
COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
FUNCS = {"startswith", "endswith", "contains"}
GRAPH_DT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$")


def _filter_error(detail: str) -> exc.GraphError:
    return exc.GraphError(400, "BadRequest", f"Invalid filter clause: {detail}")


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise _filter_error(f"Syntax error at position {pos} in '{text}'.")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    """Recursive descent over the tokens; produces closures row -> value."""

    def __init__(self, text: str, props: set[str] | None):
        self.toks = _tokens(text)
        self.i = 0
        self.props = props
        self.vars: list[str] = []

    def peek(self, value: str | None = None) -> bool:
        if self.i >= len(self.toks):
            return False
        return value is None or self.toks[self.i][1].lower() == value

    def take(self, value: str | None = None) -> tuple[str, str]:
        if self.i >= len(self.toks) or (value is not None and self.toks[self.i][1].lower() != value):
            raise _filter_error(f"expected '{value}'." if value else "unexpected end of expression.")
        self.i += 1
        return self.toks[self.i - 1]

    def parse(self) -> Callable[[Any], Any]:
        fn = self.or_expr()
        if self.i != len(self.toks):
            raise _filter_error(f"unexpected '{self.toks[self.i][1]}'.")
        return fn

    def or_expr(self) -> Callable:
        left = self.and_expr()
        while self.peek("or"):
            self.take()
            right, prev = self.and_expr(), left
            left = lambda r, a=prev, b=right: bool(a(r)) or bool(b(r))  # noqa: E731
        return left

    def and_expr(self) -> Callable:
        left = self.not_expr()
        while self.peek("and"):
            self.take()
            right, prev = self.not_expr(), left
            left = lambda r, a=prev, b=right: bool(a(r)) and bool(b(r))  # noqa: E731
        return left

    def not_expr(self) -> Callable:
        if self.peek("not"):
            self.take()
            inner = self.not_expr()
            return lambda r: not inner(r)
        left = self.operand()
        if self.i < len(self.toks) and self.toks[self.i][1].lower() in COMPARE:
            op = self.take()[1].lower()
            right = self.operand()
            return lambda r: _compare(op, left(r), right(r))
        return left

    def operand(self) -> Callable:
        kind, value = self.take()
        if value == "(":
            inner = self.or_expr()
            self.take(")")
            return inner
        if kind == "str":
            text = value[1:-1].replace("''", "'")
            return lambda r: text
        if kind == "num":
            number = float(value) if "." in value else int(value)
            return lambda r: number
        if kind == "dt":
            return lambda r: value
        if kind != "name":
            raise _filter_error(f"unexpected '{value}'.")
        low = value.lower()
        if low in ("true", "false", "null"):
            const = {"true": True, "false": False, "null": None}[low]
            return lambda r: const
        if low in FUNCS and self.peek("("):
            self.take("(")
            a = self.or_expr()
            self.take(",")
            b = self.or_expr()
            self.take(")")
            return lambda r: _func(low, a(r), b(r))
        return self.path(value)

    def path(self, first: str) -> Callable:
        parts = [first]
        while self.peek("/"):
            self.take("/")
            name = self.take()[1]
            if name.lower() in ("any", "all") and self.peek("("):
                return self.lambda_(parts, name.lower())
            parts.append(name)
        if parts[0] in self.vars:
            var = parts[0]
            rest = parts[1:]
            return lambda r: _get(r.get(var), rest)
        if self.props is not None and parts[0] not in self.props:
            raise exc.GraphError(
                400,
                "BadRequest",
                f"Could not find a property named '{parts[0]}' on type 'microsoft.graph.event'.",
            )
        return lambda r: _get(r, parts)

    def lambda_(self, parts: list[str], quantifier: str) -> Callable:
        self.take("(")
        var = self.take()[1]
        self.take(":")
        self.vars.append(var)
        body = self.or_expr()
        self.vars.pop()
        self.take(")")
        outer = self.path_getter(parts)

        def evaluate(row: Any) -> bool:
            items = outer(row) or []
            check = (body({**row, var: item}) for item in items)
            return any(check) if quantifier == "any" else all(check)

        return evaluate

    def path_getter(self, parts: list[str]) -> Callable:
        if parts[0] in self.vars:
            return lambda r: _get(r.get(parts[0]), parts[1:])
        return lambda r: _get(r, parts)


def _get(value: Any, parts: list[str]) -> Any:
    for part in parts:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _norm(value: Any) -> Any:
    if isinstance(value, str) and GRAPH_DT.match(value):
        text = value.removesuffix("Z")
        if "." in text:
            head, frac = text.split(".", 1)
            text = f"{head}.{frac[:6]}"
        try:
            parsed = datetime.fromisoformat(text)
            return (
                parsed.replace(tzinfo=None)
                if parsed.tzinfo is None
                else parsed.replace(tzinfo=None) - parsed.utcoffset()
            )
        except ValueError:
            return value
    if isinstance(value, str):
        return " ".join(value.split()).lower()  # Exchange restrictions compare text case-insensitively
    return value


def _compare(op: str, a: Any, b: Any) -> bool:
    a, b = _norm(a), _norm(b)
    if op == "eq":
        return a == b
    if op == "ne":
        return a != b
    if a is None or b is None:
        return False
    try:
        return {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]
    except TypeError:
        return False


def _func(name: str, a: Any, b: Any) -> bool:
    if not isinstance(a, str) or not isinstance(b, str):
        return False
    a, b = a.lower(), b.lower()
    return a.startswith(b) if name == "startswith" else a.endswith(b) if name == "endswith" else b in a


def compile_filter(text: str, props: set[str] | None = EVENT_PROPS) -> Callable[[Any], bool]:
    """Compile an OData $filter into a predicate over a Graph JSON object (dict)."""
    if not text.strip():
        raise _filter_error("The filter is empty.")
    fn = _Parser(text, props).parse()
    return lambda row: bool(fn(row))


@dataclass
class Query:
    select: list[str] | None = None
    filter: Callable[[Any], bool] | None = None
    orderby: list[tuple[str, bool]] | None = None  # (path, descending)
    top: int | None = None
    skip: int = 0
    expand_ext: Callable[[dict], bool] | None = None
    expand_calendar: list[str] | None = None  # None: not expanded; []: every calendar property
    filter_needs_ext: bool = False

    @property
    def expanded(self) -> set[str]:
        """Expanded navigation properties: $select keeps them, as Graph does."""
        keys = set()
        if self.expand_ext is not None:
            keys.add("singleValueExtendedProperties")
        if self.expand_calendar is not None:
            keys.add("calendar")
        return keys


def _split_top_level(text: str) -> list[str]:
    parts, depth, current, quoted = [], 0, [], False
    for ch in text:
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        if ch == "," and depth == 0 and not quoted:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


def _int_option(name: str, value: str, maximum: int | None) -> int:
    try:
        number = int(value)
    except ValueError:
        raise exc.GraphError(
            400, "BadRequest", f"Invalid value '{value}' for query option '{name}'."
        ) from None
    if number < 0:
        raise exc.GraphError(400, "BadRequest", f"Invalid value '{value}' for query option '{name}'.")
    if maximum is not None and number > maximum:
        raise exc.GraphError(
            400,
            "BadRequest",
            f"The limit of '{maximum}' for Top query has been exceeded. The value from the incoming request is '{number}'.",
        )
    return number


def parse_query(params: dict[str, str], props: set[str] = EVENT_PROPS) -> Query:
    """Read the OData options of a collection or item request; unknown $options are a 400 as in Graph."""
    q = Query()
    for key, value in params.items():
        name = (
            key
            if key.startswith("$")
            else "$" + key
            if key.lower() in ("select", "filter", "top", "skip", "orderby", "expand", "count")
            else key
        )
        low = name.lower()
        if low == "$select":
            fields = [f.strip() for f in value.split(",") if f.strip()]
            for f in fields:
                if f not in props:
                    raise exc.GraphError(
                        400,
                        "RequestBroker--ParseUri",
                        f"Could not find a property named '{f}' on type 'microsoft.graph.event'.",
                    )
            q.select = fields
        elif low == "$filter":
            q.filter = compile_filter(value, props)
            q.filter_needs_ext = "singlevalueextendedproperties" in value.lower()
        elif low == "$top":
            q.top = _int_option("$top", value, 1000)
        elif low == "$skip":
            q.skip = _int_option("$skip", value, None)
        elif low == "$orderby":
            q.orderby = []
            for clause in _split_top_level(value):
                bits = clause.split()
                if not bits or len(bits) > 2 or (len(bits) == 2 and bits[1].lower() not in ("asc", "desc")):
                    raise exc.GraphError(400, "BadRequest", f"Invalid $orderby clause '{clause}'.")
                if bits[0].split("/")[0] not in props:
                    raise exc.GraphError(
                        400,
                        "BadRequest",
                        f"Could not find a property named '{bits[0]}' on type 'microsoft.graph.event'.",
                    )
                q.orderby.append((bits[0], len(bits) == 2 and bits[1].lower() == "desc"))
        elif low == "$expand":
            q.expand_ext, q.expand_calendar = _expand(value)
        elif low == "$count":
            continue
    return q


EXPAND = re.compile(r"^(?P<name>[A-Za-z]+)\s*(?:\((?P<opts>.*)\))?$", re.S)


def _expand(value: str) -> tuple[Callable[[dict], bool] | None, list[str] | None]:
    """singleValueExtendedProperties($filter=...) and calendar($select=...); others are accepted, empty."""
    result: Callable[[dict], bool] | None = None
    calendar: list[str] | None = None
    for part in _split_top_level(value):
        m = EXPAND.match(part)
        name = m.group("name") if m else part
        if not m or name not in ("singleValueExtendedProperties", "attachments", "calendar", "extensions"):
            raise exc.GraphError(
                400,
                "BadRequest",
                f"Parsing OData Select and Expand failed: Could not find a property named '{name}' on type 'microsoft.graph.event'.",
            )
        opts = (m.group("opts") or "").strip()
        if name == "calendar":
            key, _, text = opts.partition("=")
            if opts and key.strip().lower() not in ("$select", "select"):
                raise exc.GraphError(400, "BadRequest", f"Unsupported expand option '{key.strip()}'.")
            calendar = [f.strip() for f in text.split(",") if f.strip()] if opts else []
            continue
        if name != "singleValueExtendedProperties":
            continue
        if not opts:
            result = lambda p: True  # noqa: E731
            continue
        key, _, text = opts.partition("=")
        if key.strip().lower() not in ("$filter", "filter"):
            raise exc.GraphError(400, "BadRequest", f"Unsupported expand option '{key.strip()}'.")
        result = compile_filter(text, {"id", "value"})
    return result, calendar


def order_rows(rows: list[tuple[dict, Any]], orderby: list[tuple[str, bool]]) -> list[tuple[dict, Any]]:
    for path, desc in reversed(orderby):
        parts = path.split("/")

        def key(row: tuple[dict, Any], parts: list[str] = parts) -> tuple:
            v = _norm(_get(row[0], parts))
            return (v is None, v if v is not None else 0)

        rows.sort(key=key, reverse=desc)
    return rows
