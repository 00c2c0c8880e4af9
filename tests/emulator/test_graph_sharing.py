"""Calendars shared between mailboxes (concepts/outlook-share-or-delegate-calendar.md,
outlook-get-shared-events-calendars.md, outlook-create-event-in-shared-delegated-calendar.md): the owner shares a
calendar read or write (control API, as in Outlook); the recipient sees it in GET /me/calendars with the owner and
canEdit; reads and writes go through the recipient's own path with that id (/me/calendars/{id}/events...,
documented); read-only or withdrawn shares answer 403 ErrorAccessDenied. The owner's mailbox path with that id
(/users/{owner}/calendars/{id}/..., undocumented for a sharee) is the variant shared_calendar_owner_path:
accepted (the emulator's historic answer) or refused (404 ErrorItemNotFound).

Every test runs under both values of the variant shared_calendar_ids: per_mailbox (documented: the recipient's
ids are those of its local copy, the owner's ids answer 404 below /me) and same (the owner's ids everywhere).
`desk` is the owner's id; `seen` the id the recipient's calendar list gives.
"""

from __future__ import annotations

import pytest

from .graph_helpers import assert_graph_error, client, shift, token_for

ADELE, MEGAN = "adele@contoso.onmicrosoft.com", "megan@contoso.onmicrosoft.com"
SHARED = ["User.Read", "Calendars.ReadWrite", "Calendars.ReadWrite.Shared"]


@pytest.fixture(autouse=True, params=["per_mailbox", "same"])
def ids(request, emulator):
    emulator.control.patch("/variants", json={"shared_calendar_ids": request.param}).raise_for_status()
    return request.param


@pytest.fixture
def desk(emulator, world):
    """Adele's "Desk shifts" calendar, not shared yet."""
    return emulator.control.post(f"/graph/mailboxes/{ADELE}/calendars", json={"name": "Desk shifts"}).json()[
        "id"
    ]


@pytest.fixture
def megan(emulator, world):
    with client(emulator, token_for(emulator, MEGAN, scopes=SHARED)) as http:
        yield http


def share(emulator, cal, role):
    url = f"/graph/mailboxes/{ADELE}/calendars/{cal}/shares/{MEGAN}"
    response = emulator.control.put(url, json={"role": role}) if role else emulator.control.delete(url)
    assert response.status_code == 200, response.text
    return response.json()


def seen_as(emulator, cal, role="write"):
    """Share `cal` with Megan; the id her GET /me/calendars lists it under."""
    (listed,) = share(emulator, cal, role)["shareeCalendarIds"].values()
    return listed


def owner_ids(emulator, *sharee_ids):
    """The owner's ids the recipient's ids stand for (control API), in order."""
    table = emulator.control.get(f"/graph/mailboxes/{MEGAN}/shared-ids").json()["ids"]
    back = {mine: theirs for theirs, mine in table.items()}
    return [back[i] for i in sharee_ids]


WINDOW = {"startDateTime": "2026-11-30T00:00:00Z", "endDateTime": "2026-12-07T00:00:00Z"}


def variant(emulator, value):
    emulator.control.patch("/variants", json={"shared_calendar_owner_path": value}).raise_for_status()


@pytest.mark.parametrize("owner_path", ["accepted", "refused"])
def test_a_write_share_is_listed_readable_and_writable_through_the_recipients_own_path(
    emulator, megan, desk, owner_path, ids
):
    """The documented sharee path works whatever the owner path does (outlook-get-shared-events-calendars.md
    step 2; outlook-create-event-in-shared-delegated-calendar.md step 2; event-update.md, event-delete.md and
    calendar-list-calendarview.md list /me/calendars/{id}/...). Every answer through it names the calendar and
    its events by the recipient's ids, consistently (list, get, calendarView, delta, create, update)."""
    variant(emulator, owner_path)
    assert desk not in {c["id"] for c in megan.get("/me/calendars").json()["value"]}
    seen = seen_as(emulator, desk)
    assert (seen == desk) is (ids == "same")
    listed = {c["id"]: c for c in megan.get("/me/calendars").json()["value"]}
    assert listed[seen]["owner"]["address"] == ADELE and listed[seen]["canEdit"] is True
    assert listed[seen]["isDefaultCalendar"] is False and listed[seen]["canShare"] is False
    one = megan.get(f"/me/calendars/{seen}").json()
    assert one["id"] == seen and one["owner"]["address"] == ADELE and one["canShare"] is False
    created = megan.post(f"/me/calendars/{seen}/events", json=shift())
    assert created.status_code == 201
    event = created.json()
    (adele_event,) = emulator.control.get(f"/graph/mailboxes/{ADELE}").json()["events"]
    assert owner_ids(emulator, event["id"]) == [adele_event["id"]]
    assert (event["id"] == adele_event["id"]) is (ids == "same")
    assert adele_event["id"] not in event["webLink"] or ids == "same"
    got = megan.get(f"/me/calendars/{seen}/events/{event['id']}", params={"$expand": "calendar"})
    assert got.status_code == 200 and got.json()["id"] == event["id"] and got.json()["calendar"]["id"] == seen
    assert [e["id"] for e in megan.get(f"/me/calendars/{seen}/events").json()["value"]] == [event["id"]]
    view = megan.get(f"/me/calendars/{seen}/calendarView", params=WINDOW)
    assert [e["id"] for e in view.json()["value"]] == [event["id"]]
    delta = megan.get(f"/me/calendars/{seen}/calendarView/delta", params=WINDOW).json()
    assert [e["id"] for e in delta["value"]] == [event["id"]]
    assert f"/me/calendars/{seen}/calendarView/delta" in delta["@odata.deltaLink"]
    moved = megan.patch(f"/me/calendars/{seen}/events/{event['id']}", json={"subject": "Moved"})
    assert moved.status_code == 200 and moved.json()["id"] == event["id"]
    again = megan.get(delta["@odata.deltaLink"]).json()
    assert [(e["id"], e["subject"]) for e in again["value"]] == [(event["id"], "Moved")]
    # It is Adele's event, in Adele's calendar; nothing in Megan's own mailbox.
    adele = emulator.control.get(f"/graph/mailboxes/{ADELE}").json()
    assert [e["subject"] for e in adele["events"] if e["calendarId"] == desk] == ["Moved"]
    assert megan.get("/me/events").json()["value"] == []
    assert megan.delete(f"/me/calendars/{seen}/events/{event['id']}").status_code == 204
    assert [e for e in emulator.control.get(f"/graph/mailboxes/{ADELE}").json()["events"]] == []
    removed = megan.get(again["@odata.deltaLink"]).json()["value"]
    assert [(e["id"], e["@removed"]) for e in removed] == [(event["id"], {"reason": "deleted"})]
    # Her other calendars stay out of reach, through either path (under per_mailbox her own ids do not name
    # anything in Megan's mailbox: 404).
    assert_graph_error(megan.get(f"/users/{ADELE}/calendar/events"), 403, "ErrorAccessDenied")
    adele_default = next(c["id"] for c in emulator.control.get(f"/graph/mailboxes/{ADELE}").json()["calendars"]
                         if c["isDefaultCalendar"])  # fmt: skip
    refused = megan.get(f"/me/calendars/{adele_default}/events")
    if ids == "same":
        assert_graph_error(refused, 403, "ErrorAccessDenied")
    else:
        assert_graph_error(refused, 404, "ErrorItemNotFound")


def test_under_per_mailbox_ids_the_owners_ids_below_me_answer_404(emulator, megan, desk, ids):
    """concepts/outlook-get-shared-events-calendars.md: the owner's calendar and event ids "correspond to only the
    owner's mailbox. Specifying these calendar and event IDs in the share recipient's mailbox ... would return an
    error." Under `same` they are the recipient's ids too."""
    seen = seen_as(emulator, desk)
    event = megan.post(f"/me/calendars/{seen}/events", json=shift()).json()
    (theirs,) = owner_ids(emulator, event["id"])
    answers = [
        megan.get(f"/me/calendars/{desk}"),
        megan.get(f"/me/calendars/{desk}/events"),
        megan.get(f"/me/calendars/{seen}/events/{theirs}"),
        megan.patch(f"/me/calendars/{seen}/events/{theirs}", json={"subject": "x"}),
        megan.get(f"/me/events/{theirs}"),
    ]
    if ids == "per_mailbox":
        for response in answers:
            assert_graph_error(response, 404, "ErrorItemNotFound")
    else:
        assert [r.status_code for r in answers] == [200, 200, 200, 200, 404]
    # /me/events/{id} never reaches an event of a shared calendar (undocumented; ShiftDesk does not use it).
    assert_graph_error(megan.get(f"/me/events/{event['id']}"), 404, "ErrorItemNotFound")


def test_the_sharee_ids_survive_a_restart_of_the_emulator(emulator, megan, desk, ids):
    """The mapping is a pure function of (recipient, owner's id): an id given out before the emulator restarted
    (its table is not saved) still names the same event afterwards."""
    seen = seen_as(emulator, desk)
    event = megan.post(f"/me/calendars/{seen}/events", json=shift()).json()
    emulator.state.graph.sharee_ids.clear()  # what a restart loses: the table of ids given out (not saved)
    again = megan.get(f"/me/calendars/{seen}/events/{event['id']}")
    assert again.status_code == 200 and again.json()["id"] == event["id"]


def test_the_owners_mailbox_path_works_under_the_accepted_variant(emulator, megan, desk, ids):
    """The owner's mailbox answers with the owner's ids; the recipient's ids reach the same items there."""
    variant(emulator, "accepted")
    seen = seen_as(emulator, desk)
    created = megan.post(f"/users/{ADELE}/calendars/{seen}/events", json=shift())
    assert created.status_code == 201
    event = created.json()
    assert [e["id"] for e in emulator.control.get(f"/graph/mailboxes/{ADELE}").json()["events"]] == [
        event["id"]
    ]
    assert megan.get(f"/users/{ADELE}/calendars/{seen}/events/{event['id']}").status_code == 200
    view = megan.get(f"/users/{ADELE}/calendars/{desk}/calendarView", params=WINDOW)
    assert [e["id"] for e in view.json()["value"]] == [event["id"]]
    assert megan.patch(f"/users/{ADELE}/events/{event['id']}", json={"subject": "Moved"}).status_code == 200
    others = megan.get(f"/users/{ADELE}/calendars").json()["value"]
    assert [c["id"] for c in others] == [desk]


def test_the_owners_mailbox_path_answers_404_under_the_refused_variant(emulator, megan, desk, ids):
    variant(emulator, "refused")
    seen = seen_as(emulator, desk)
    event = megan.post(f"/me/calendars/{seen}/events", json=shift()).json()
    for cal, item in ((seen, event["id"]), (desk, owner_ids(emulator, event["id"])[0])):
        for response in (
            megan.post(f"/users/{ADELE}/calendars/{cal}/events", json=shift()),
            megan.get(f"/users/{ADELE}/calendars/{cal}/events"),
            megan.get(f"/users/{ADELE}/calendars/{cal}/events/{item}"),
            megan.get(f"/users/{ADELE}/calendars/{cal}/calendarView", params=WINDOW),
            megan.get(f"/users/{ADELE}/calendars/{cal}/calendarView/delta", params=WINDOW),
            megan.patch(f"/users/{ADELE}/events/{item}", json={"subject": "x"}),
            megan.delete(f"/users/{ADELE}/calendars/{cal}/events/{item}"),
        ):
            assert_graph_error(response, 404, "ErrorItemNotFound")
    assert len(emulator.control.get(f"/graph/mailboxes/{ADELE}").json()["events"]) == 1
    # The owner's own path is not concerned: Adele still reaches her calendar.
    with client(emulator, token_for(emulator, ADELE)) as adele:
        assert adele.get(f"/users/{ADELE}/calendars/{desk}/events").status_code == 200


def test_a_read_share_refuses_writes(emulator, megan, desk):
    seen = seen_as(emulator, desk, "read")
    listed = {c["id"]: c for c in megan.get("/me/calendars").json()["value"]}
    assert listed[seen]["canEdit"] is False
    assert megan.get(f"/me/calendars/{seen}/events").status_code == 200
    assert_graph_error(megan.post(f"/me/calendars/{seen}/events", json=shift()), 403, "ErrorAccessDenied")
    assert_graph_error(
        megan.post(f"/users/{ADELE}/calendars/{desk}/events", json=shift()), 403, "ErrorAccessDenied"
    )


@pytest.mark.parametrize("path", ["me", "owner"])
def test_a_withdrawn_share_disappears_and_answers_403(emulator, megan, desk, path):
    seen = seen_as(emulator, desk)
    event = megan.post(f"/me/calendars/{seen}/events", json=shift()).json()
    (theirs,) = owner_ids(emulator, event["id"])
    assert share(emulator, desk, None)["shares"] == {}
    assert seen not in {c["id"] for c in megan.get("/me/calendars").json()["value"]}
    base, cal, item = ("/me", seen, event["id"]) if path == "me" else (f"/users/{ADELE}", desk, theirs)
    for response in (
        megan.get(f"{base}/calendars/{cal}/events"),
        megan.get(f"{base}/calendars/{cal}/calendarView", params=WINDOW),
        megan.post(f"{base}/calendars/{cal}/events", json=shift()),
        megan.patch(f"{base}/calendars/{cal}/events/{item}", json={"subject": "x"}),
        megan.delete(f"{base}/calendars/{cal}/events/{item}"),
    ):
        assert_graph_error(response, 403, "ErrorAccessDenied")


def test_without_the_shared_scope_a_share_is_not_enough(emulator, world, desk):
    seen = seen_as(emulator, desk)
    with client(emulator, token_for(emulator, MEGAN)) as plain:  # Calendars.ReadWrite only
        assert_graph_error(plain.get(f"/users/{ADELE}/calendars/{desk}/events"), 403, "ErrorAccessDenied")
        # Through her own path, reading needs only Calendars.Read (outlook-get-shared-events-calendars.md,
        # "from sharee's mailbox"); writing needs Calendars.ReadWrite.Shared (create-event ..., step 2).
        assert plain.get(f"/me/calendars/{seen}/events").status_code == 200
        assert_graph_error(plain.post(f"/me/calendars/{seen}/events", json=shift()), 403, "ErrorAccessDenied")


def test_shares_are_for_users_of_the_same_organization(emulator, world, desk):
    bad = emulator.control.put(f"/graph/mailboxes/{ADELE}/calendars/{desk}/shares/nestor@fabrikam.onmicrosoft.com",
                               json={"role": "read"})  # fmt: skip
    assert bad.status_code == 400
    assert emulator.control.put(f"/graph/mailboxes/{ADELE}/calendars/{desk}/shares/{MEGAN}",
                                json={"role": "owner"}).status_code == 400  # fmt: skip


def test_the_outlook_viewer_shares_and_withdraws_as_the_owner(emulator, megan, desk):
    """The viewer's Share panel changes the same share the control API does; other organizations, unknown
    people, the owner themself and cross-site posts are refused."""
    base = emulator.base_url + f"/outlook/{ADELE}"
    with emulator.http() as browser:
        week = browser.get(base, params={"calendar": desk})
        assert "Share “Desk shifts”" in week.text and "Not shared with anyone." in week.text
        shared = browser.post(f"{base}/calendars/{desk}/shares", data={"recipient": MEGAN, "role": "write"})
        assert shared.status_code == 303 and f"calendar={desk}" in shared.headers["location"]
        seen = emulator.control.get(f"/graph/mailboxes/{MEGAN}/shared-ids").json()["ids"][desk]
        listed = {c["id"]: c for c in megan.get("/me/calendars").json()["value"]}
        assert listed[seen]["canEdit"] is True
        assert f"Withdraw share with {MEGAN}" in browser.get(base, params={"calendar": desk}).text
        browser.post(f"{base}/calendars/{desk}/shares", data={"recipient": MEGAN, "role": "read"})
        assert emulator.control.get(f"/graph/mailboxes/{ADELE}/calendars/{desk}/shares").json()["shares"] == {
            megan.get("/me").json()["id"]: "read"
        }
        for refused in (
            {"recipient": "nestor@fabrikam.onmicrosoft.com", "role": "write"},  # another organization
            {"recipient": "nobody@contoso.onmicrosoft.com", "role": "write"},
            {"recipient": ADELE, "role": "write"},
            {"recipient": MEGAN, "role": "owner"},
        ):
            assert browser.post(f"{base}/calendars/{desk}/shares", data=refused).status_code == 400, refused
        cross_site = browser.post(f"{base}/calendars/{desk}/shares", data={"recipient": MEGAN, "role": "write"},
                                  headers={"Origin": "https://evil.example"})  # fmt: skip
        assert cross_site.status_code == 403
        withdrawn = browser.post(f"{base}/calendars/{desk}/shares/withdraw", data={"recipient": MEGAN})
        assert withdrawn.status_code == 303
    assert seen not in {c["id"] for c in megan.get("/me/calendars").json()["value"]}
    assert_graph_error(megan.get(f"/me/calendars/{seen}/events"), 403, "ErrorAccessDenied")


@pytest.mark.parametrize("me_path", ["not_found", "served"])
def test_me_events_with_the_id_of_a_shared_event_follows_the_variant(emulator, megan, desk, ids, me_path):
    """Variant shared_event_me_path (undocumented: the docs name only /me/calendars/{id}/events/{id} for a
    sharee): /me/events/{id} answers 404 (not_found), or reaches the owner's event like the calendar path
    (served), 403 once the share is withdrawn or read-only."""
    emulator.control.patch("/variants", json={"shared_event_me_path": me_path}).raise_for_status()
    seen = seen_as(emulator, desk)
    event = megan.post(f"/me/calendars/{seen}/events", json=shift()).json()
    got = megan.get(f"/me/events/{event['id']}")
    patched = megan.patch(f"/me/events/{event['id']}", json={"subject": "Via /me/events"})
    if me_path == "not_found":
        assert_graph_error(got, 404, "ErrorItemNotFound")
        assert_graph_error(patched, 404, "ErrorItemNotFound")
    else:
        assert got.status_code == 200 and got.json()["id"] == event["id"]
        assert patched.status_code == 200 and patched.json()["id"] == event["id"]
        (adele_event,) = emulator.control.get(f"/graph/mailboxes/{ADELE}").json()["events"]
        assert adele_event["subject"] == "Via /me/events"
    share(emulator, desk, "read")
    refused = megan.delete(f"/me/events/{event['id']}")
    share(emulator, desk, None)
    withdrawn = megan.get(f"/me/events/{event['id']}")
    code = ("ErrorItemNotFound", 404) if me_path == "not_found" else ("ErrorAccessDenied", 403)
    for response in (refused, withdrawn):
        assert_graph_error(response, code[1], code[0])
    assert len(emulator.control.get(f"/graph/mailboxes/{ADELE}").json()["events"]) == 1
