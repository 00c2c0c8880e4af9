"""Bad input never gives a 500 (issue 11 item 6), as a property: hypothesis sends generated values to every form
field and every query parameter of every page, as each role of the access matrix (anonymous, regular user,
schedule admin, system admin), and no answer may be a server error.

Pages come from the URLconf and forms from the pages themselves, so a new page or field is covered without
touching this file: every URL pattern is visited (its path parameters filled from the world below, or with
odd ids), every <form> found on any page as any role is posted by every role with generated values for each of
its fields. A new path parameter name fails the test until WORLD_IDS knows what to put there.

Each example is one sweep over all of it per role, each inside a savepoint that is rolled back afterwards, so
each sweep starts from the same world (a shift deleted by one generated POST is back for the next sweep).
Examples: SHIFTDESK_NO500_EXAMPLES (default 2 in the fast loop), SHIFTDESK_NO500_LONG_EXAMPLES (default 30, the
`slow` long profile).
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("SHIFTDESK_NO500_EXAMPLES", "2"))
LONG_EXAMPLES = int(os.environ.get("SHIFTDESK_NO500_LONG_EXAMPLES", "30"))
ROLES = ["anonymous", "regular", "schedule_admin", "system_admin"]
# Query parameters pages read (and some they do not): each GET draws values for a subset of these, plus the
# names of the fields of GET forms on the page, plus one made-up name.
QUERY_NAMES = ["week", "date", "next", "days", "page", "q", "tab", "status", "job", "calendar", "state", "code",
               "error", "error_description", "admin_consent", "tenant", "validationToken", "session_state"]  # fmt: skip
FEED_TOKEN = "no500-feed-token-0123456789abcdefghijklmnopqrstuvwxyz"
DESTRUCTIVE = re.compile(r"delete|deactivate|remove|withdraw|regenerate|logout|unlock|activate")


# --- the world -------------------------------------------------------------------------------------------------


@pytest.fixture
def world(db, alice, bob, charlie, schedule, shift, position, settings):
    from shiftdesk.calendarsync.models import ExportJob
    from shiftdesk.feeds.models import FeedToken, hash_token
    from shiftdesk.scheduling.models import Assignment, TimeOff
    from tests.calendarsync.ui_factories import make_connection, make_link

    # Nothing generated may reach a network: Microsoft's URLs point at a closed local port (refused at once),
    # and Password Authentication only allows a name no generated text can be (so no DNS lookup either).
    settings.MICROSOFT_LOGIN_URL = settings.MICROSOFT_GRAPH_URL = "https://127.0.0.1:1"
    settings.EXCHANGE_ALLOWED_HOSTS = ["exchange.invalid"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    schedule.admins.add(charlie)
    Assignment.objects.create(shift=shift, user=bob)
    time_off = TimeOff.objects.create(user=bob, start=shift.start, end=shift.end, reason="Dentist")
    connection = make_connection(bob)
    link = make_link(connection, shift)
    job = ExportJob.objects.create(user=bob, requested_by=bob, option=ExportJob.Option.ALL)
    # A fixed feed token (do_get_or_create_feed_token draws a random one): the same world, the same pages, so
    # each test of this process can reuse one discovery (`discovered`).
    feed = FeedToken.objects.create(user=bob, token=FEED_TOKEN, token_hash=hash_token(FEED_TOKEN))
    ids = {
        "user_id": bob.pk,
        "schedule_id": schedule.pk,
        "shift_id": shift.pk,
        "time_off_id": time_off.pk,
        "position_id": position.pk,
        "link_id": link.pk,
        "connection_id": connection.pk,
        "job_id": job.pk,
        "token": feed.token,
        "uidb64": "Mg",
        "token_reset": "set-password",
    }
    # Thousands of refused requests: their WARNING lines (403s with tracebacks) would be most of the run's
    # time. Errors (a 500 among them) are still logged.
    quiet = {name: logging.getLogger(name) for name in ("django.request", "axes", "shiftdesk")}
    levels = {name: logger.level for name, logger in quiet.items()}
    for logger in quiet.values():
        logger.setLevel(logging.ERROR)
    yield {"ids": ids, "users": {"regular": bob, "schedule_admin": charlie, "system_admin": alice}}
    for name, logger in quiet.items():
        logger.setLevel(levels[name])


def url_patterns(patterns=None, prefix=""):
    """(route, converters {name: kind}) of every URL pattern, walked from the root URLconf."""
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            yield from url_patterns(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            route = prefix + str(p.pattern)
            yield route, {name: kind or "str" for kind, name in re.findall(r"<(?:(\w+):)?(\w+)>", route)}


def fill(route: str, values: dict) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)


# --- forms found on the pages ----------------------------------------------------------------------------------


@dataclass
class Form:
    method: str
    action: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # name -> values the page offers

    @property
    def key(self):
        return (self.method, self.action, tuple(sorted(self.fields)))


class FormParser(HTMLParser):
    def __init__(self, page_url: str):
        super().__init__()
        self.page_url = page_url
        self.forms: list[Form] = []
        self.current: Form | None = None
        self.select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            action = a.get("action") or self.page_url
            self.current = Form((a.get("method") or "get").lower(), urlsplit(action).path or self.page_url)
            self.forms.append(self.current)
        elif self.current is None or not a.get("name"):
            return
        elif tag in ("input", "textarea", "button"):
            if a.get("type") in ("file",):
                return
            self.current.fields.setdefault(a["name"], []).append(a.get("value") or "")
        elif tag == "select":
            self.select = a["name"]
            self.current.fields.setdefault(a["name"], [])
        elif tag == "option" and self.select:
            self.current.fields[self.select].append(a.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None


def client_for(role: str, world) -> Client:
    client = Client(raise_request_exception=False)  # a view's exception is a 500 answer here, collected
    if role != "anonymous":
        client.force_login(world["users"][role])
    return client


def discover(world) -> tuple[list[str], list[Form]]:
    """Every page (GET URL) and every form on them, seen as each role (forms a role cannot see are still posted
    by it: that is how a role reaches a page it must not use)."""
    pages = []
    for route, converters in url_patterns():
        unknown = set(converters) - set(world["ids"])
        assert not unknown, f"{route}: no value for {unknown}; add it to the world's ids in {__file__}"
        values = dict(world["ids"])
        if route.startswith("password/reset/") and "token" in converters:
            values["token"] = world["ids"]["token_reset"]
        pages.append(fill(route, values))
    forms: dict = {}
    for role in ROLES:
        client = client_for(role, world)
        for page in pages:
            response = client.get(page)
            if response.status_code == 200 and "html" in response.get("Content-Type", ""):
                parser = FormParser(page)
                parser.feed(response.content.decode(errors="replace"))
                for form in parser.forms:
                    form.fields.pop("csrfmiddlewaretoken", None)
                    forms.setdefault(form.key, form)
    posts = sorted(forms.values(), key=lambda f: (bool(DESTRUCTIVE.search(f.action)), f.action))
    # POST-only URLs no page shows a form for (to this world): posted with made-up fields.
    shown = {f.action for f in posts}
    posts += [Form("post", page, {"x": [""]}) for page in pages if page not in shown]
    return pages, posts


# --- generated values ------------------------------------------------------------------------------------------

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
ODD = st.sampled_from(["", " ", "0", "-1", "²", "①", "9" * 21, "1e309", "NaN", "null", "[", "%00", "\x00",
                       "../../etc/passwd", "<script>alert(1)</script>", "' OR 1=1 --", "https://[", "host:-1",
                       "9999-12-31", "0001-01-01", "2026-02-30", "24:00", "23:59:60", "x" * 5000,
                       "https://evil.example/", "//evil.example", "javascript:alert(1)"])  # fmt: skip
DATES = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat)
INTS = st.integers(min_value=-(2**70), max_value=2**70).map(str)


def value_for(offered: list[str]):
    """What a field gets: one of the values the page offered, or something else entirely."""
    options = [st.sampled_from(offered)] if any(offered) else []
    return st.one_of(*options, TEXT, ODD, DATES, INTS)


def form_data(form: Form):
    return st.fixed_dictionaries(
        {},
        optional={
            name: st.one_of(value_for(offered), st.lists(value_for(offered), max_size=3))
            for name, offered in form.fields.items()
        },  # fmt: skip
    )


def query_data(form_names: list[str]):
    names = QUERY_NAMES + form_names
    return st.dictionaries(st.one_of(st.sampled_from(names), TEXT.filter(bool)), value_for([]), max_size=4)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=10,
)
NOTIFICATION = st.fixed_dictionaries(
    {"value": st.lists(st.fixed_dictionaries({}, optional={
        "subscriptionId": st.one_of(TEXT, ODD), "clientState": st.one_of(TEXT, ODD),
        "changeType": TEXT, "lifecycleEvent": st.sampled_from(["reauthorizationRequired", "subscriptionRemoved",
                                                                "missed", "x"]),
        "resource": TEXT}), max_size=3)}
)  # fmt: skip
WEBHOOK_BODY = st.one_of(
    JSON.map(json.dumps), NOTIFICATION.map(json.dumps), st.just("[" * 100_000), TEXT
).map(lambda s: s.encode("utf-8", "surrogatepass"))


# --- the property ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One request shape: a page's GET with generated query parameters, a form's submission with generated
    field values, or the webhook's POST with a generated body."""

    method: str
    url: str
    strategy: st.SearchStrategy
    json_body: bool = False


def targets(pages: list[str], forms: list[Form]) -> list[Target]:
    get_form_names = {f.action: list(f.fields) for f in forms if f.method == "get"}
    found = [Target("get", page, query_data(get_form_names.get(page, []))) for page in pages]
    found += [Target(form.method, form.action, form_data(form)) for form in forms]
    found.append(Target("post", "/freebusy/outlook-notifications/", WEBHOOK_BODY, json_body=True))
    return found


def send(client: Client, target: Target, payload):
    if target.json_body:
        return client.post(target.url, payload, content_type="application/json")
    return getattr(client, target.method)(target.url, payload)


def odd_payloads(target: Target, field_names: list[str]) -> list:
    """Explicit examples every target gets besides the generated ones: every field (or query parameter) at
    once set to a value of a class that gave 500s (issue 11): a 21-digit number, year 9999, a non-ASCII digit;
    the webhook gets the deeply nested body and NUL bytes."""
    if target.json_body:
        return [
            b"[" * 100_000,
            json.dumps({"value": [{"subscriptionId": "\x00", "clientState": "\x00"}]}).encode(),
        ]
    return [dict.fromkeys(field_names, value) for value in ("9" * 21, "9999-12-31", "²")]


def refused(response) -> bool:
    """The request was turned away before its values mattered: to the login page, 403, 404 or 405."""
    login = response.status_code == 302 and response["Location"].startswith("/login/")
    return login or response.status_code in (403, 404, 405)


def run_target(client: Client, role: str, target: Target, examples: int, field_names: list[str]) -> int:
    """The explicit odd payloads, then `examples` generated ones unless every explicit one was refused (a role
    sent to the login page or given 403/404/405 gets the same answer whatever it sends: generating more values
    for it would only cost time)."""
    sent = 0
    answers = []

    def one(payload) -> None:
        nonlocal sent
        with transaction.atomic():
            response = send(client, target, payload)
            transaction.set_rollback(True)  # the next request starts from the same world (and session)
        sent += 1
        answers.append(response)
        assert response.status_code < 500, (
            f"{role} {target.method.upper()} {target.url} {payload!r:.300} -> {response.status_code}"
        )

    for payload in odd_payloads(target, field_names):
        one(payload)
    if all(refused(answer) for answer in answers):
        return sent

    # No shrinking: the failure message says what was sent, which is what a fix needs.
    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(target.strategy)
    def no_500(payload):
        one(payload)

    no_500()
    return sent


# Pages, forms and request shapes found for a world, by the world's ids: the same world (same ids) gives the
# same pages and forms, so each role's test and the coverage test below share one discovery per test process
# (a discovery is ~330 GETs, and building ~140 strategies costs hypothesis a noticeable part of a second).
# A world with other ids (PostgreSQL's sequences do not roll back) is discovered again.
_discovered: dict[tuple, tuple[list[str], list[Form], list[Target]]] = {}


def discovered(world) -> tuple[list[str], list[Form], list[Target]]:
    key = (*sorted(world["ids"].items()), *sorted((role, u.pk) for role, u in world["users"].items()))
    if key not in _discovered:
        pages, forms = discover(world)
        _discovered[key] = (pages, forms, targets(pages, forms))
    return _discovered[key]


def check_no_500(world, examples: int, role: str) -> int:
    """Runs `examples` generated requests per target as `role`; returns how many requests were sent.

    One small hypothesis run per target rather than one run drawing everything: a sweep of ~130 requests in
    one example overruns hypothesis' per-example data budget, and discarded overruns still send requests. Each
    example runs in a savepoint rolled back afterwards, so every request starts from the same world (a shift
    deleted by a generated POST is back for the next one); the login is part of the example."""
    pages, forms, shapes = discovered(world)
    assert len(pages) > 50 and len(forms) > 20, (len(pages), len(forms))  # the discovery found the site
    failures: list[str] = []
    sent = 0
    names = {(f.method, f.action): list(f.fields) for f in forms}
    client = client_for(role, world)  # logged in once, outside the rolled-back savepoints
    for target in shapes:
        field_names = names.get((target.method, target.url)) or QUERY_NAMES
        try:
            sent += run_target(client, role, target, examples, field_names)
        except AssertionError as failure:
            failures.append(str(failure).splitlines()[0])
    assert not failures, "\n".join(failures)
    return sent


# One test per role: the same sweep, in four parts that two test processes (pytest-xdist) can share.
@pytest.mark.parametrize("role", ROLES)
def test_no_generated_input_gives_a_500(world, role):
    sent = check_no_500(world, EXAMPLES, role)
    print(
        f"no-500 property as {role}: {sent} requests (3 explicit per target, {EXAMPLES} generated where not refused)"
    )


@pytest.mark.slow
@pytest.mark.timeout(3600)  # ~15,000 requests over the four roles
@pytest.mark.parametrize("role", ROLES)
def test_no_generated_input_gives_a_500_long_profile(world, role):
    """The same property with many more examples (dev.py test --fast leaves it out)."""
    sent = check_no_500(world, LONG_EXAMPLES, role)
    print(
        f"no-500 long profile as {role}: {sent} requests (3 explicit, {LONG_EXAMPLES} generated where not refused)"
    )


def test_the_sweep_covers_every_url_pattern_and_finds_the_forms(world):
    pages, forms, _ = discovered(world)
    assert len(pages) == len(list(url_patterns()))
    actions = {f.action for f in forms}
    shift = world["ids"]["shift_id"]
    for expected in ["/time-off/", f"/shifts/{shift}/", "/account/calendar-sync/exchange/", "/login/"]:
        assert expected in actions, expected
    assert "note" in next(f for f in forms if f.action == f"/shifts/{shift}/").fields


def test_a_note_longer_than_2000_characters_is_refused_in_words(alice_client, shift, position):
    from django.core.exceptions import ValidationError

    from shiftdesk.scheduling.actions import do_update_shift

    data = {"position": position.pk, "date": "2030-01-07", "start_time": "09:00", "end_time": "12:00",
            "staff_needed": 2, "note": "n" * 200_000}  # fmt: skip
    response = alice_client.post(f"/shifts/{shift.pk}/", data)
    assert response.status_code == 400
    assert "at most 2000 characters" in response.content.decode()
    with pytest.raises(ValidationError, match="at most 2000 characters"):
        do_update_shift(shift, position=position, location="", start=shift.start, end=shift.end,
                        staff_needed=2, note="n" * 2001, by=None)  # fmt: skip
