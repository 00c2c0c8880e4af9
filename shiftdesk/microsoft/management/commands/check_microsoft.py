"""`manage.py check_microsoft`: check, against a real tenant, every Microsoft behaviour ShiftDesk relies on
(docs/microsoft-behaviour.md), with the app registration saved in Admin > Integrations and a test mailbox.

An admin runs it on the ShiftDesk server. It prints a URL; they open it, sign in as a test mailbox (one they do
not mind ShiftDesk writing into: the check creates a calendar "ShiftDesk check …", a few events in it, and
deletes the calendar at the end), and paste back the address the browser was sent to (ShiftDesk's Redirect
URL: the page there may say the sign-in was not started from a session, which is expected; the code in the
address is used once, here). Then one line per behaviour:

    PASS <check>: <what Microsoft answered>
    FAIL <check>: <what Microsoft answered> | report: <what to send to ShiftDesk's maintainers>

Where Microsoft's documentation is silent, ShiftDesk works with either answer and the line says which one this
tenant gives (`variant calendar_delta=accepted`): the emulator's variant of the same name plays it, and the
"report" of a FAIL says which variant the tenant contradicts. Exit status 1 when any line FAILs.

Shared calendars are checked when a calendar another person shared with the test mailbox is listed (share one,
"Can edit", in Outlook before running it); the check only reads there, never writes.
"""

from __future__ import annotations

import datetime as dt
import secrets
import sys
import uuid
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import msal
from django.core.management.base import BaseCommand, CommandError

from shiftdesk.microsoft import identity
from shiftdesk.microsoft.errors import IdentityError, IdentityUnavailable

IMMUTABLE = {"Prefer": 'IdType="ImmutableId"'}
LINK_PROPERTY = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name ShiftDeskLink"
REPORT = "the whole output of check_microsoft (it holds no secret) and the tenant's account type"


@dataclass
class Line:
    ok: bool
    name: str
    detail: str
    report: str = ""

    def render(self) -> str:
        text = f"{'PASS' if self.ok else 'FAIL'} {self.name}: {self.detail}"
        return text + (f" | report: {self.report}" if not self.ok and self.report else "")


class Command(BaseCommand):
    help = "Check the Microsoft behaviours ShiftDesk relies on against a real tenant (see docs/microsoft-behaviour.md)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--redirected-url",
            default="",
            help="the address the browser was sent to after signing in (else it is asked for on stdin)",
        )
        parser.add_argument(
            "--notification-url",
            default="",
            help="an https URL answering Graph's validationToken handshake (ShiftDesk's webhook on its public "
            "address); without it the change-notification checks are skipped",
        )

    # --- the run ---------------------------------------------------------------------------------------
    def handle(self, *args: Any, redirected_url: str, notification_url: str, **options: Any) -> None:
        from shiftdesk.lib.http import graph_client
        from shiftdesk.microsoft.auth import build_app, check_credentials
        from shiftdesk.microsoft.models import AzureADSettings, redirect_url

        azure = AzureADSettings.load()
        if not azure.is_configured:
            raise CommandError("Enter and save the Azure AD OAuth 2 settings in Admin > Integrations first.")
        self.lines: list[Line] = []
        self.out(
            f"Checking app {azure.application_id} ({azure.get_account_type_display()}) at {azure.authority()}"
        )

        self._credentials(azure, check_credentials)
        app = build_app(azure, fresh=True, token_cache=msal.SerializableTokenCache())
        scopes = identity.user_scopes(azure.request_shared_calendars)  # what ShiftDesk asks its users for
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*response_mode.*", category=UserWarning)
            flow = app.initiate_auth_code_flow(
                scopes,
                redirect_uri=redirect_url(),
                response_mode="query",
                prompt="select_account",
            )
        self.out("Open this address, sign in as the test mailbox, then paste the address you were sent to:")
        self.out(flow["auth_uri"])
        answer = redirected_url or self._ask()
        query = {k: v[0] for k, v in parse_qs(urlsplit(answer.strip()).query).items()}
        result = app.acquire_token_by_auth_code_flow(flow, query, scopes=scopes)
        if "access_token" not in result:
            code = identity.aadsts_code(result) or result.get("error", "no answer")
            self.add(False, "authorization", f"Microsoft refused the sign-in ({code})",
                     "the AADSTS code and whether Save Settings had said the credentials were accepted")  # fmt: skip
            return self._finish()
        self.add(
            True,
            "authorization",
            "the test mailbox signed in and the code was redeemed (the secret is right)",
        )
        token = result["access_token"]
        with graph_client() as http:
            self.graph = _Graph(http, token)
            try:
                self._graph_checks(notification_url)
            finally:
                self._cleanup()
        self._finish()

    def _ask(self) -> str:
        stdin = getattr(self, "stdin", None) or sys.stdin
        self.stdout.write("> ", ending="")
        self.stdout.flush()
        answer = stdin.readline()
        if not sys.stdin.isatty() or stdin is not sys.stdin:
            self.stdout.write("")  # end the prompt's line when the answer was not typed (and echoed) here
        return answer

    def out(self, text: str) -> None:
        self.stdout.write(text)

    def add(self, ok: bool, name: str, detail: str, report: str = "") -> None:
        line = Line(ok, name, detail, report or REPORT)
        self.lines.append(line)
        self.out(line.render())

    def _finish(self) -> None:
        failed = [line for line in self.lines if not line.ok]
        self.out(f"{len(self.lines) - len(failed)} PASS, {len(failed)} FAIL")
        if failed:
            self.out("Send the FAIL lines (and the lines before them) to ShiftDesk's maintainers.")
            raise SystemExit(1)

    # --- identity --------------------------------------------------------------------------------------
    def _credentials(self, azure: Any, check_credentials: Any) -> None:
        try:
            outcome = check_credentials(azure)
        except (IdentityError, IdentityUnavailable) as err:
            self.add(False, "credentials", f"{err} ({getattr(err, 'code', '')})",
                     "the AADSTS code; check the Application ID and Client Secret Value first")  # fmt: skip
            return
        if outcome == "verified":
            self.add(
                True, "credentials", "a client-credentials token came back: Application ID and secret proven"
            )
            return
        self.add(True, "credentials", "AADSTS50059 (multi-tenant type): the Application ID is accepted")
        # Variant multitenant_50059: is the secret checked before 50059? Ask once with a wrong secret.
        wrong = type(azure).load()
        wrong.client_secret, wrong.certificate_private_key = "wrong-" + secrets.token_urlsafe(24), ""
        from shiftdesk.microsoft.auth import build_app

        app = build_app(wrong, fresh=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            refused = app.acquire_token_for_client(identity.APP_CHECK_SCOPES)
        code = identity.aadsts_code(refused)
        variant = {"AADSTS7000215": "after_secret_check", "AADSTS50059": "before_secret_check"}.get(code)
        self.add(variant is not None, "50059 order",
                 f"a wrong secret answers {code or 'nothing'}: variant multitenant_50059={variant or '?'}",
                 "the AADSTS code a wrong secret gets on /organizations")  # fmt: skip

    # --- Graph -----------------------------------------------------------------------------------------
    def _graph_checks(self, notification_url: str) -> None:
        g = self.graph
        me = g.get("/me").json()
        personal = len(str(me.get("id", ""))) == 16
        name = me.get("mail") or me.get("userPrincipalName")
        self.add(bool(name), "me", f"id {'16 hex digits (personal account)' if personal else 'GUID'}, "
                 f"mail {'null' if me.get('mail') is None else 'set'}, ShiftDesk names it {name!r}")  # fmt: skip

        calendars = g.all_values(g.get("/me/calendars"))
        default = next((c for c in calendars if c.get("isDefaultCalendar")), None)
        self.add(
            default is not None,
            "calendars",
            f"{len(calendars)} calendar(s), a default one: {default is not None}",
        )
        self._shared_calendars(calendars)
        created = g.post("/me/calendars", json={"name": f"ShiftDesk check {uuid.uuid4().hex[:8]}"})
        if created.status_code != 201:
            self.add(
                False,
                "create calendar",
                f"{created.status_code}",
                "the status and body of POST /me/calendars",
            )
            return
        self.calendar = cal = created.json()["id"]
        self.add(True, "create calendar", "a test calendar was created")

        start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
        event = self._create_event(cal, start, "inside")
        if event is None:
            return
        window = {
            "startDateTime": _utc(start - dt.timedelta(days=1)),
            "endDateTime": _utc(start + dt.timedelta(days=3)),
        }

        # Documented paths ShiftDesk uses to check an event's calendar.
        here = g.get(f"/me/calendars/{quote(cal, safe='')}/events/{quote(event['id'], safe='')}")
        elsewhere = (
            g.get(f"/me/calendars/{quote(default['id'], safe='')}/events/{quote(event['id'], safe='')}")
            if default
            else None
        )
        self.add(here.status_code == 200 and (elsewhere is None or elsewhere.status_code == 404),
                 "event through its calendar", f"its calendar answers {here.status_code}, another calendar "
                 f"{elsewhere.status_code if elsewhere is not None else '-'} (ShiftDesk expects 200 and 404)")  # fmt: skip
        flt = f"singleValueExtendedProperties/Any(ep: ep/id eq '{LINK_PROPERTY}' and ep/value eq '{event['key']}')"
        found = g.get(f"/me/calendars/{quote(cal, safe='')}/events", params={"$filter": flt, "$select": "id"})
        ids = [e.get("id") for e in found.json().get("value", [])] if found.status_code == 200 else []
        self.add(ids == [event["id"]], "find by extended property", f"{found.status_code}, {len(ids)} found")
        again = g.post(f"/me/calendars/{quote(cal, safe='')}/events", json=event["body"])
        self.add(again.status_code in (200, 201) and again.json().get("id") == event["id"], "transactionId",
                 "a repeated create with the same transactionId returns the first event"
                 if again.json().get("id") == event["id"] else "a repeated create made a second event")  # fmt: skip

        # Variant expand_calendar_id: nothing documents that these strings are equal.
        expanded = g.get(
            f"/me/events/{quote(event['id'], safe='')}", params={"$expand": "calendar($select=id)"}
        )
        got = (expanded.json().get("calendar") or {}).get("id", "")
        self.add(expanded.status_code == 200 and bool(got), "expand calendar id",
                 f"variant expand_calendar_id={'equal' if got == cal else 'different_encoding'}")  # fmt: skip

        # Variants calendar_delta and delta_removed_outside_window.
        default_delta = g.get("/me/calendarView/delta", params=window)
        self.add(
            default_delta.status_code == 200, "delta on the default calendar", f"{default_delta.status_code}"
        )
        delta = g.get(f"/me/calendars/{quote(cal, safe='')}/calendarView/delta", params=window)
        accepted = delta.status_code == 200
        self.add(accepted or delta.status_code == 400, "delta on another calendar",
                 f"{delta.status_code}: variant calendar_delta={'accepted' if accepted else 'refused'}")  # fmt: skip
        if accepted:
            link = g.follow(delta)
            outside = self._create_event(cal, start + dt.timedelta(days=30), "outside")
            g.patch(
                f"/me/events/{quote(event['id'], safe='')}", json={"subject": "ShiftDesk check (changed)"}
            )
            if outside is not None and link:
                g.patch(
                    f"/me/events/{quote(outside['id'], safe='')}",
                    json={"subject": "ShiftDesk check (outside)"},
                )
                round2 = g.get(link)
                values = g.all_values(round2)
                removed = {v["id"] for v in values if "@removed" in v}
                changed = {v["id"] for v in values if "@removed" not in v}
                self.add(
                    event["id"] in changed,
                    "delta lists a change",
                    f"{len(changed)} changed, {len(removed)} removed",
                )
                self.add(True, "delta outside the window", "variant delta_removed_outside_window="
                         + ("reported" if outside["id"] in removed else "omitted"))  # fmt: skip

        # Variant batch_throttling cannot be provoked safely; the batch itself must work.
        batch = g.post("/$batch", json={"requests": [
            {"id": "1", "method": "GET", "url": f"/me/events/{event['id']}?$select=id", "headers": IMMUTABLE},
            {"id": "2", "method": "GET", "url": "/me/calendars?$select=id", "headers": IMMUTABLE},
        ]})  # fmt: skip
        statuses = (
            sorted(r.get("status") for r in batch.json().get("responses", []))
            if batch.status_code == 200
            else []
        )
        self.add(statuses == [200, 200], "$batch", f"{batch.status_code} with items {statuses}")

        self._subscriptions(notification_url, cal)

    # --- shared calendars (read only) ------------------------------------------------------------------------
    def _shared_calendars(self, calendars: list[dict]) -> None:
        """A calendar another person shared with the test mailbox, as Save Calendars recognizes one (its owner
        is not the default calendar's), read through the documented sharee path ShiftDesk uses:
        /me/calendars/{id}, .../events, .../calendarView (outlook-get-shared-events-calendars.md, "from share
        recipient's mailbox"). Then, by reads only, which answer the tenant gives where ShiftDesk does not
        depend on it: the sharee's ids (shared_calendar_ids), the owner's mailbox path with them
        (shared_calendar_owner_path), /me/events/{id} for a shared event (shared_event_me_path)."""
        g = self.graph
        own = {_owner(c) for c in calendars if c.get("isDefaultCalendar")} - {""}
        shared = [c for c in calendars if own and _owner(c) and _owner(c) not in own]
        if not shared:
            self.out(
                "SKIP shared calendars: no calendar another person shared is listed for the test mailbox; "
                "have someone share one with it (Can edit) in Outlook to check them"
            )
            return
        pick = next((c for c in shared if c.get("canEdit")), shared[0])
        owner = str(pick["owner"]["address"])
        self.add(True, "shared calendar listed", f"{len(shared)} shared; “{pick.get('name', '')}” of {owner}: "
                 f"canEdit {pick.get('canEdit')}, canShare {pick.get('canShare')}"
                 + ("" if pick.get("canEdit") else " (read-only: ShiftDesk can sync only into one with canEdit)"))  # fmt: skip
        path = f"/me/calendars/{quote(pick['id'], safe='')}"
        now = dt.datetime.now(dt.UTC)
        window = {
            "startDateTime": _utc(now - dt.timedelta(days=30)),
            "endDateTime": _utc(now + dt.timedelta(days=60)),
        }
        answers = {
            "": g.get(path),
            "/events": g.get(f"{path}/events", params={"$select": "id", "$top": "5"}),
            "/calendarView": g.get(f"{path}/calendarView", params={**window, "$select": "id"}),
        }  # fmt: skip
        ok = all(r.status_code == 200 for r in answers.values())
        self.add(ok, "shared calendar read",
                 ", ".join(f"GET /me/calendars/{{id}}{k} {r.status_code}" for k, r in answers.items())
                 + " (ShiftDesk expects 200 each)",
                 "these statuses and the bodies of the requests that were not 200")  # fmt: skip
        if not ok:
            return
        events = answers["/events"].json().get("value", [])
        self.add(True, "shared calendar ids", "; ".join(self._shared_variants(pick, owner, events)))

    def _shared_variants(self, pick: dict, owner: str, events: list[dict]) -> list[str]:
        g = self.graph
        found = []
        theirs = g.get(f"/users/{quote(owner, safe='@')}/calendars", params={"$select": "id,name"})
        named = [c.get("id") for c in g.all_values(theirs) if c.get("name") == pick.get("name")]
        if theirs.status_code != 200 or not named:
            found.append(
                f"variant shared_calendar_ids=? (the owner's calendar list answers {theirs.status_code})"
            )
        else:
            ids = "same" if pick["id"] in named else "per_mailbox"
            found.append(f"variant shared_calendar_ids={ids} (the owner's mailbox names it "
                         + ("with the same id)" if ids == "same" else "with another id)"))  # fmt: skip
        via_owner = g.get(
            f"/users/{quote(owner, safe='@')}/calendars/{quote(pick['id'], safe='')}/events",
            params={"$select": "id", "$top": "1"},
        )
        value = {200: "accepted", 404: "refused"}.get(via_owner.status_code, "?")
        found.append(f"variant shared_calendar_owner_path={value} ({via_owner.status_code})")
        if events:
            me = g.get(f"/me/events/{quote(events[0]['id'], safe='')}", params={"$select": "id"})
            value = {200: "served", 404: "not_found"}.get(me.status_code, "?")
            found.append(f"variant shared_event_me_path={value} ({me.status_code})")
        else:
            found.append("variant shared_event_me_path=? (no event in the shared calendar to read)")
        return found

    def _create_event(self, cal: str, start: dt.datetime, tag: str) -> dict | None:
        key = f"check-{tag}-{uuid.uuid4().hex[:12]}"
        body = {
            "subject": f"ShiftDesk check ({tag})",
            "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
            "end": {
                "dateTime": (start + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
                "timeZone": "UTC",
            },
            "showAs": "busy",
            "transactionId": str(uuid.uuid4()),
            "singleValueExtendedProperties": [{"id": LINK_PROPERTY, "value": key}],
        }
        response = self.graph.post(f"/me/calendars/{quote(cal, safe='')}/events", json=body)
        ok = response.status_code == 201
        applied = response.headers.get("Preference-Applied", "")
        if tag == "inside":
            self.add(ok, "create event", f"{response.status_code}")
            self.add(ok and "immutableid" in applied.lower(), "immutable ids",
                     f"Preference-Applied: {applied or '(none)'}",
                     "whether Preference-Applied echoes IdType=\"ImmutableId\"")  # fmt: skip
        return {"id": response.json()["id"], "key": key, "body": body} if ok else None

    def _subscriptions(self, notification_url: str, cal: str) -> None:
        if not notification_url.startswith("https://"):
            self.out(
                "SKIP change notifications: pass --notification-url https://<ShiftDesk>/freebusy/outlook-notifications/"
            )
            return
        expiry = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
        body = {"changeType": "created,updated,deleted", "notificationUrl": notification_url,
                "lifecycleNotificationUrl": notification_url, "expirationDateTime": expiry,
                "clientState": secrets.token_urlsafe(24)}  # fmt: skip
        for resource, name in (
            (f"me/calendars/{cal}/events", "subscription on a calendar"),
            ("me/events", "subscription on me/events"),
        ):
            response = self.graph.post("/subscriptions", json={**body, "resource": resource})
            ok = response.status_code == 201
            if ok:
                self.graph.delete(f"/subscriptions/{response.json()['id']}")
            if resource == "me/events":
                self.add(ok, name, f"{response.status_code} (documented; lifecycle URL validated too)")
            else:
                self.add(ok or response.status_code == 400, name,
                         f"{response.status_code}: variant calendar_subscriptions={'accepted' if ok else 'refused'}")  # fmt: skip

    def _cleanup(self) -> None:
        cal = getattr(self, "calendar", None)
        if cal:
            gone = self.graph.delete(f"/me/calendars/{quote(cal, safe='')}")
            self.add(
                gone.status_code == 204, "clean up", f"the test calendar was deleted ({gone.status_code})"
            )


class _Graph:
    """Graph requests with the test mailbox's token; every one asks for immutable ids, as ShiftDesk does."""

    def __init__(self, http: httpx.Client, token: str) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}", **IMMUTABLE}

    def _go(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, url, headers=self.headers, **kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._go("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._go("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._go("PATCH", url, **kwargs)

    def delete(self, url: str) -> httpx.Response:
        return self._go("DELETE", url)

    def follow(self, response: httpx.Response) -> str:
        """Follow a delta round's nextLinks; its deltaLink ('' if none)."""
        data = response.json()
        while data.get("@odata.nextLink"):
            data = self.get(data["@odata.nextLink"]).json()
        return str(data.get("@odata.deltaLink") or "")

    def all_values(self, response: httpx.Response) -> list[dict]:
        data = response.json()
        values = list(data.get("value", []))
        while data.get("@odata.nextLink"):
            data = self.get(data["@odata.nextLink"]).json()
            values += data.get("value", [])
        return values


def _owner(calendar: dict) -> str:
    return str((calendar.get("owner") or {}).get("address") or "").lower()


def _utc(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
