"""A calendar another person shared with the user (Calendars.ReadWrite.Shared, issue 13) as the Calendar to Sync
shifts with and the Calendar to Check Free/Busy Status: sync, export, verification and free/busy go through the
user's own documented path with the id the user's calendar list gives (/me/calendars/{id}/...), and the events
land in the owner's calendar; a read-only or withdrawn share stops the connection with a message naming the
calendar and its owner, on Sync Status and Integration Status, and nothing is retried. All through the real HTTPS
emulator; the calendar is chosen through the real Save Calendars view.

Every test runs under the emulator's variants for what Microsoft leaves open or documents about a sharee's ids:
shared_calendar_ids (per_mailbox, documented and the default: the sharee's calendar list and every answer through
its path give ids of the sharee's local copy, different from the owner's; same: the owner's ids) and
shared_calendar_owner_path (the owner's mailbox path /users/{owner}/calendars/{id} with the sharee's id, which
Microsoft does not document: accepted, or refused with 404). Each test fails if ShiftDesk sends any request below
/users/. Ids ShiftDesk recorded are compared with the owner's raw state through the emulator's mapping
(GET /_emulator/graph/mailboxes/{sharee}/shared-ids)."""

# Microsoft-only: a calendar shared from another Exchange mailbox, addressed through the owner's mailbox.

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from shiftdesk.calendarsync.models import CalendarConnection, EventLink
from tests.calendarsync.conftest import STAFF_PASSWORD, TENANT, link_key_of

OWNER = f"staff1@{TENANT}"  # Adele-like owner of the "Desk shifts" calendar; never connected to ShiftDesk
MESSAGE = f"{OWNER} no longer shares the calendar “Desk shifts” with you, or shares it read-only."


# (shared_calendar_ids, shared_calendar_owner_path). Not the full cross product, to keep CI time reasonable:
# the owner path's two answers under the default ids (per_mailbox), and the other ids answer (same) once, with the
# default owner path. ShiftDesk never sends the owner path, so "same" with "refused" would add nothing.
VARIANTS = [("per_mailbox", "accepted"), ("per_mailbox", "refused"), ("same", "accepted")]


@pytest.fixture(autouse=True, params=VARIANTS, ids=["-".join(v) for v in VARIANTS])
def owner_path(request, sync):
    """The variants shared_calendar_ids and shared_calendar_owner_path for the whole test; afterwards, no
    request of ShiftDesk's named another person's mailbox (it would pass under "accepted" only because the
    emulator is lenient)."""
    ids, owner_path = request.param
    sync.emulator.control.patch(
        "/variants", json={"shared_calendar_ids": ids, "shared_calendar_owner_path": owner_path}
    ).raise_for_status()
    yield request.param
    owner_paths = [r["path"] for r in graph_rows(sync) if r["path"].lower().startswith("/v1.0/users/")]
    assert owner_paths == [], owner_paths


def graph_rows(sync) -> list[dict]:
    log = sync.emulator.control.get("/graph/requests", params={"limit": 10000}).json()
    rows = log.get("value", log) if isinstance(log, dict) else log
    return [r for r in rows if r.get("path", "").startswith("/v1.0")]


def connect_with_shared_scope(sync, user):
    """Authorize as the Calendar Sync tab does when Admin > Integrations asks for Calendars.ReadWrite.Shared."""
    import msal

    from m365emulator.testing import redirect_params, sign_in
    from shiftdesk.calendarsync.actions import do_connect_calendar
    from shiftdesk.microsoft.auth import build_app
    from shiftdesk.microsoft.identity import user_scopes
    from shiftdesk.microsoft.models import redirect_url

    scopes = user_scopes(True)
    cache = msal.SerializableTokenCache()
    app = build_app(sync.azure, token_cache=cache, fresh=True)
    flow = app.initiate_auth_code_flow(scopes, redirect_uri=redirect_url(), response_mode="query")
    with sync.emulator.http() as browser:
        response = sign_in(browser, flow["auth_uri"], sync.upns[user.pk], STAFF_PASSWORD)
    result = app.acquire_token_by_auth_code_flow(flow, redirect_params(response), scopes=scopes)
    assert "access_token" in result, result
    claims = result["id_token_claims"]
    return do_connect_calendar(
        user, provider="microsoft", account_email=sync.upns[user.pk], account_name=claims.get("name", ""),
        account_id=claims["oid"], credentials=cache.serialize(),
        provider_settings={
            "client_id": sync.azure.application_id, "segment": sync.azure.tenant_segment,
            "tenant_id": claims.get("tid", ""), "home_account_id": app.get_accounts()[0]["home_account_id"],
            "scopes": scopes,
        },
    )  # fmt: skip


def owner_ids(sync, user) -> dict[str, str]:
    """The user's (the sharee's) id -> the owner's id, for each calendar and event of the owner's mailbox (the
    emulator's control API; a pure mapping, so it holds for a calendar no longer shared too)."""
    box = sync.emulator.control.get(f"/graph/mailboxes/{OWNER}").json()
    asked = [c["id"] for c in box["calendars"]] + [e["id"] for e in box["events"]]
    table = sync.emulator.control.get(
        f"/graph/mailboxes/{sync.upns[user.pk]}/shared-ids", params={"owner": OWNER, "id": asked}
    ).json()["ids"]
    return {mine: theirs for theirs, mine in table.items()}


def share(sync, calendar_id: str, user, role: str = "write") -> str:
    """The owner shares the calendar (named by the user's id for it, or the owner's) with the user; returns the
    id the user's calendar list gives it."""
    calendar_id = owner_ids(sync, user).get(calendar_id, calendar_id)
    response = sync.emulator.control.put(
        f"/graph/mailboxes/{OWNER}/calendars/{calendar_id}/shares/{sync.upns[user.pk]}", json={"role": role}
    )
    response.raise_for_status()
    return response.json()["shareeCalendarIds"][sync.connection(user).account_id]


def withdraw(sync, calendar_id: str, user) -> None:
    calendar_id = owner_ids(sync, user)[calendar_id]
    sync.emulator.control.delete(
        f"/graph/mailboxes/{OWNER}/calendars/{calendar_id}/shares/{sync.upns[user.pk]}"
    ).raise_for_status()


def owner_events(sync, user, calendar_id: str) -> list[dict]:
    """The owner's raw events in the calendar the user names `calendar_id`, each with `shareeId`: the id the
    user's path gives it (what ShiftDesk records)."""
    back = owner_ids(sync, user)
    mine = {theirs: ours for ours, theirs in back.items()}
    box = sync.emulator.control.get(f"/graph/mailboxes/{OWNER}").json()
    events = [e for e in box["events"] if e["calendarId"] == back[calendar_id]]
    return [{**e, "shareeId": mine[e["id"]]} for e in events]


def save_calendars(user, sync_calendar: str, freebusy_calendar: str) -> Client:
    client = Client()
    client.force_login(user)
    page = client.get("/account/calendar-sync/").content.decode()
    assert "Desk shifts (shared by" in page, "the shared calendar is offered with its owner"
    response = client.post(
        "/account/calendar-sync/microsoft/calendars/",
        {"sync_calendar": sync_calendar, "freebusy_calendar": freebusy_calendar},
    )
    assert response.status_code == 302
    return client


def make_desk(sync, before=None):
    """Bob (staff0) authorized with Calendars.ReadWrite.Shared; staff1 shares "Desk shifts" with him (write);
    Bob chose it in Manage Account > Calendar Sync for both lists. `before(bob)` runs before he authorizes."""
    bob = sync.add_user(0, connect=False)
    if before is not None:
        before(bob)
    connect_with_shared_scope(sync, bob)
    cal = sync.emulator.control.post(
        f"/graph/mailboxes/{OWNER}/calendars", json={"name": "Desk shifts"}
    ).json()
    seen = share(sync, cal["id"], bob)
    ids = sync.emulator.control.get("/variants").json()["values"]["shared_calendar_ids"]
    assert (seen == cal["id"]) is (ids == "same"), "per mailbox, Bob's id for the calendar is his own"
    client = save_calendars(bob, seen, seen)
    conn = sync.connection(bob)
    assert (conn.sync_calendar_id, conn.sync_calendar_owner) == (seen, OWNER)
    assert (conn.freebusy_calendar_id, conn.freebusy_calendar_owner) == (seen, OWNER)
    return bob, seen, client


@pytest.fixture
def desk(sync):
    return make_desk(sync)


def test_shifts_are_created_updated_and_deleted_in_the_owners_calendar(sync, desk):
    from shiftdesk.scheduling.actions import do_unassign_staff, do_update_shift

    bob, cal, _ = desk
    first, second = sync.shift(days=1), sync.shift(days=2)
    sync.assign(first, bob)
    sync.assign(second, bob)
    before = len(graph_rows(sync))
    sync.drain(bob)
    events = owner_events(sync, bob, cal)
    assert sorted(link_key_of(e) for e in events) == sorted(
        EventLink.key_for(bob.pk, s.pk) for s in (first, second)
    )
    assert sync.events(bob) == [], "nothing lands in Bob's own mailbox"
    links = EventLink.objects.filter(connection=sync.connection(bob))
    assert {link.remote_calendar_id for link in links} == {cal}

    do_update_shift(first, position=first.position, location="Branch Library", start=first.start, end=first.end,
                    staff_needed=first.staff_needed, note=first.note, by=sync.admin)  # fmt: skip
    do_unassign_staff(second, bob, by=sync.admin)
    sync.drain(bob)
    events = owner_events(sync, bob, cal)
    assert [link_key_of(e) for e in events] == [EventLink.key_for(bob.pk, first.pk)]
    assert "Branch Library" in str(events[0]["location"])
    # Every write went through the shared calendar's documented path (in $batch items too).
    rows = graph_rows(sync)[before:]
    paths = [r["path"] for r in rows if r["path"] != "/v1.0/$batch"]
    assert paths and all(p.startswith(f"/v1.0/me/calendars/{cal}/") for p in paths), paths
    assert sync.connection(bob).status == "connected"


def test_export_puts_earlier_shifts_into_the_shared_calendar(sync):
    from shiftdesk.calendarsync.actions import do_start_export
    from shiftdesk.calendarsync.exports import export_progress
    from shiftdesk.calendarsync.models import ExportJob
    from shiftdesk.calendarsync.worker import Worker

    earlier = [sync.shift(days=3 + d) for d in range(2)]

    def assign_before_authorizing(user):  # not synced until exported
        for shift in earlier:
            sync.assign(shift, user)

    bob, cal, _ = make_desk(sync, before=assign_before_authorizing)
    Worker(concurrency=1, worker_id="w1").run(once=True)
    assert owner_events(sync, bob, cal) == []
    for option in (ExportJob.Option.NOT_EXPORTED, ExportJob.Option.ALL):
        job = do_start_export(bob, option=option, by=bob)
        Worker(concurrency=1, worker_id="w1").run(once=True)
        progress = export_progress(job)
        assert progress["status"] == "done" and progress["errors"] == 0, progress
        assert sorted(link_key_of(e) for e in owner_events(sync, bob, cal)) == sorted(
            EventLink.key_for(bob.pk, s.pk) for s in earlier
        ), option  # "Export all shifts" finds them again: no duplicates
    assert sync.events(bob) == []


def owner_deletes_one_then_verification_runs(sync, bob, cal: str) -> tuple[dict, list[dict]]:
    """Two shifts synced into the shared calendar; its owner deletes one; a verification step runs. Returns the
    deleted event (as the owner saw it) and the Graph requests the step made."""
    for d in range(2):
        sync.assign(sync.shift(days=1 + d), bob)
    sync.drain(bob)
    gone = owner_events(sync, bob, cal)[0]
    sync.emulator.control.delete(f"/graph/mailboxes/{OWNER}/events/{gone['id']}").raise_for_status()
    before = len(graph_rows(sync))
    CalendarConnection.objects.filter(user=bob).update(last_verified_at=None, delta_state={})
    sync.step(bob)
    return gone, graph_rows(sync)[before:]


def test_verification_reads_the_shared_calendar_and_notices_what_the_owner_deleted(sync, desk):
    bob, cal, _ = desk
    gone, rows = owner_deletes_one_then_verification_runs(sync, bob, cal)
    assert any(
        r["path"] == f"/v1.0/me/calendars/{cal}/calendarView/delta" and r["status"] == 200 for r in rows
    ), [r["path"] for r in rows]
    deleted = EventLink.objects.get(connection__user=bob, deleted_in_outlook=True)
    assert deleted.remote_event_id == gone["shareeId"]
    assert EventLink.objects.filter(connection__user=bob, deleted_in_outlook=False).count() == 1
    assert sync.connection(bob).status == "connected"


def test_free_busy_is_read_from_the_shared_calendar(sync, desk):
    from shiftdesk.availability.models import BusyInterval, FreeBusyState
    from shiftdesk.availability.refresh import refresh_busy_for_user

    bob, cal, _ = desk
    start = (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    sync.emulator.control.post(f"/graph/mailboxes/{OWNER}/events", json={
        "calendarId": owner_ids(sync, bob)[cal], "subject": "Desk meeting", "showAs": "busy",
        "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "end": {"dateTime": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
    }).raise_for_status()  # fmt: skip
    before = len(graph_rows(sync))
    refresh_busy_for_user(bob.pk)
    rows = graph_rows(sync)[before:]
    assert [r["path"] for r in rows] == [f"/v1.0/me/calendars/{cal}/calendarView"]
    busy = list(BusyInterval.objects.filter(user=bob))
    assert [(b.start, b.end) for b in busy] == [(start, start + timedelta(hours=1))]

    withdraw(sync, cal, bob)
    refresh_busy_for_user(bob.pk)
    state = FreeBusyState.objects.get(user=bob)
    assert state.status == FreeBusyState.Status.ERROR
    assert f"{OWNER} no longer shares the calendar “Desk shifts” with you" in state.reason


@pytest.mark.parametrize("change", ["withdrawn", "read_only"])
def test_a_withdrawn_or_read_only_share_stops_the_connection_naming_calendar_and_owner(
    sync, desk, alice, change
):
    from shiftdesk.calendarsync.worker import Worker, due_connections

    bob, cal, client = desk
    sync.assign(sync.shift(days=1), bob)
    sync.drain(bob)
    if change == "withdrawn":
        withdraw(sync, cal, bob)
    else:
        share(sync, cal, bob, role="read")
    sync.assign(sync.shift(days=2), bob)
    sync.step(bob)
    conn = sync.connection(bob)
    assert conn.status == CalendarConnection.Status.ERROR, conn.last_error
    assert MESSAGE in conn.last_error and "Choose another Calendar to Sync shifts with." in conn.last_error
    assert any(r["status"] == 403 for r in graph_rows(sync)), "Graph refused the write"

    # No retry loop: neither steps nor whole worker passes (sweep and verification included) send anything.
    before = len(graph_rows(sync))
    assert sync.step(bob) is False
    assert not due_connections().filter(id=conn.id).exists()
    CalendarConnection.objects.filter(id=conn.id).update(last_verified_at=None)
    for _ in range(3):
        Worker(concurrency=1, worker_id="w2").run(once=True)
    assert len(graph_rows(sync)) == before

    # The user's Sync Status and the admin's Integration Status say so, in words; Sync Status tells the user
    # what they can do (not "An administrator can retry", which alone would not help).
    page = client.get("/account/calendar-sync/").content.decode()
    assert MESSAGE in page
    status = page[page.index('id="calendar-sync-status"') :]
    assert "An administrator can retry once the cause is fixed." not in status
    assert (
        "To sync again, choose another Calendar to Sync shifts with above and press Save Calendars, or ask "
        f"{OWNER} to share “Desk shifts” with you again with permission to edit" in status
    )
    admin = Client()
    admin.force_login(alice)
    assert MESSAGE in admin.get("/admin/accounts/integration-status/").content.decode()

    # Saving the same calendar while the share is still withdrawn (or read-only) stops it again at once,
    # with the same message: one step, not a loop.
    if change == "read_only":
        save_calendars(bob, cal, cal)
        sync.step(bob)
        assert sync.connection(bob).status == CalendarConnection.Status.ERROR
        assert MESSAGE in sync.connection(bob).last_error
        assert sync.step(bob) is False

    # Choosing another calendar (his own) is the way out: syncing starts again there.
    own = sync.default_calendar(bob)["id"]
    save_calendars(bob, own, own) if change == "read_only" else _save_without_shared(bob, own)
    sync.drain(bob)
    assert sync.connection(bob).status == "connected"
    assert len(sync.events(bob)) == 2


def test_once_the_owner_shares_again_save_calendars_with_the_same_calendar_starts_syncing_again(sync, desk):
    """The page says: ask the owner to share again with permission to edit, then press Save Calendars. The
    same calendar saved again restarts syncing (no administrator needed), and the shift waiting is written."""
    bob, cal, _ = desk
    sync.assign(sync.shift(days=1), bob)
    sync.drain(bob)
    share(sync, cal, bob, role="read")
    sync.assign(sync.shift(days=2), bob)
    sync.step(bob)
    assert sync.connection(bob).status == CalendarConnection.Status.ERROR
    share(sync, cal, bob, role="write")
    save_calendars(bob, cal, cal)
    sync.drain(bob)
    conn = sync.connection(bob)
    assert (conn.status, conn.last_error) == (CalendarConnection.Status.CONNECTED, "")
    assert len(owner_events(sync, bob, cal)) == 2


def _save_without_shared(user, calendar_id: str) -> None:
    """Save Calendars once the share is gone (the calendar is no longer listed)."""
    client = Client()
    client.force_login(user)
    response = client.post(
        "/account/calendar-sync/microsoft/calendars/",
        {"sync_calendar": calendar_id, "freebusy_calendar": calendar_id},
    )
    assert response.status_code == 302


def test_verification_without_delta_on_a_shared_calendar_looks_events_up_through_the_calendar(sync, desk):
    """Point 2's variant on a shared calendar: delta refused there, each event is looked up through the shared
    calendar's documented path (/me/calendars/{id}/events/{id}) instead, and a deleted one is still noticed."""
    bob, cal, _ = desk
    sync.emulator.control.patch("/variants", json={"calendar_delta": "refused"}).raise_for_status()
    gone, rows = owner_deletes_one_then_verification_runs(sync, bob, cal)
    paths = [r["path"] for r in rows]
    refused = [r for r in rows if r["path"] == f"/v1.0/me/calendars/{cal}/calendarView/delta"]
    assert [r["status"] for r in refused] == [400], "the variant refused delta on the shared calendar"
    assert f"/v1.0/me/calendars/{cal}/events/{gone['shareeId']}" in paths
    assert not [p for p in paths if p.startswith("/v1.0/users/")], paths
    assert (
        EventLink.objects.get(connection__user=bob, deleted_in_outlook=True).remote_event_id
        == gone["shareeId"]
    )
    assert sync.connection(bob).status == "connected"


def test_remove_authorization_deletes_future_events_from_the_shared_calendar(sync, desk):
    from shiftdesk.calendarsync.actions import do_disconnect_calendar
    from shiftdesk.calendarsync.retiring import retire_disconnected

    bob, cal, _ = desk
    for d in range(2):
        sync.assign(sync.shift(days=1 + d), bob)
    sync.drain(bob)
    assert len(owner_events(sync, bob, cal)) == 2
    do_disconnect_calendar(sync.connection(bob), delete_future_events=True)
    retire_disconnected("w1")
    assert owner_events(sync, bob, cal) == [], (
        "deleted in the owner's mailbox, not reported 'already deleted'"
    )


def test_no_change_notification_subscription_is_made_for_a_shared_free_busy_calendar(sync, desk):
    """Graph: the Shared permissions do not support subscriptions on a shared calendar's items; its busy times
    are read at each refresh, and the subscription sweep leaves the connection alone (no request)."""
    from shiftdesk.availability import notifications

    bob, _, _ = desk
    conn = sync.connection(bob)
    assert notifications.wants_subscription(conn) is False
    url = notifications.notification_url()
    assert conn.id not in notifications.connections_to_reconcile(timezone.now(), url)
    before = len(graph_rows(sync))
    notifications.sweep_subscriptions(threads=1)
    assert len(graph_rows(sync)) == before


def test_verification_alone_notices_a_withdrawn_share_and_stops(sync, desk):
    """No change pending: the periodic check (delta on the owner's calendar) meets the 403 and stops the
    connection with the same words, instead of marking every event deleted or retrying."""
    bob, cal, _ = desk
    sync.assign(sync.shift(days=1), bob)
    sync.drain(bob)
    withdraw(sync, cal, bob)
    CalendarConnection.objects.filter(user=bob).update(last_verified_at=None)
    sync.step(bob)
    conn = sync.connection(bob)
    assert conn.status == CalendarConnection.Status.ERROR and MESSAGE in conn.last_error
    assert not EventLink.objects.filter(connection=conn, deleted_in_outlook=True).exists()


@pytest.mark.parametrize("me_path", ["not_found", "served"])
def test_after_a_withdrawn_share_and_a_switch_the_event_left_there_is_forgotten(sync, desk, me_path):
    """ShiftDesk's one request through /me/events/{id} for an event of a shared calendar: once the share is
    withdrawn and the user chose another calendar, the old calendar is no longer listed, so nothing tells
    ShiftDesk it was another person's and the retiring delete goes to /me/events/{id}. What Graph answers there
    is not documented (variant shared_event_me_path): 404, or 403 as the calendar path would. Either way the
    event is forgotten, the shift is written into the new calendar and the connection stays connected."""
    bob, cal, _ = desk
    sync.emulator.control.patch("/variants", json={"shared_event_me_path": me_path}).raise_for_status()
    sync.assign(sync.shift(days=1), bob)
    sync.drain(bob)
    (left,) = owner_events(sync, bob, cal)
    withdraw(sync, cal, bob)
    own = sync.default_calendar(bob)["id"]
    _save_without_shared(bob, own)
    before = len(graph_rows(sync))
    sync.drain(bob)
    conn = sync.connection(bob)
    assert (conn.status, conn.last_error) == (CalendarConnection.Status.CONNECTED, "")
    assert len(sync.events(bob)) == 1
    deletes = [(r["path"], r["status"]) for r in graph_rows(sync)[before:] if r["method"] == "DELETE"]
    assert deletes == [(f"/v1.0/me/events/{left['shareeId']}", 404 if me_path == "not_found" else 403)]
    assert EventLink.objects.filter(connection=conn).count() == 1
    assert sync.step(bob) is False
