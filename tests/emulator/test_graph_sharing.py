"""Calendars shared between mailboxes (concepts/outlook-share-or-delegate-calendar.md,
outlook-get-shared-events-calendars.md, outlook-create-event-in-shared-delegated-calendar.md): the owner shares a
calendar read or write (control API, as in Outlook); the recipient sees it in GET /me/calendars with the owner and
canEdit; reads and writes go through the recipient's own path with that id (/me/calendars/{id}/events...,
documented); read-only or withdrawn shares answer 403 ErrorAccessDenied. The owner's mailbox path with that id
(/users/{owner}/calendars/{id}/..., undocumented for a sharee) is the variant shared_calendar_owner_path:
accepted (the emulator's historic answer) or refused (404 ErrorItemNotFound).
"""

from __future__ import annotations

import pytest

from .graph_helpers import assert_graph_error, client, shift, token_for

ADELE, MEGAN = "adele@contoso.onmicrosoft.com", "megan@contoso.onmicrosoft.com"
SHARED = ["User.Read", "Calendars.ReadWrite", "Calendars.ReadWrite.Shared"]


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


WINDOW = {"startDateTime": "2026-11-30T00:00:00Z", "endDateTime": "2026-12-07T00:00:00Z"}


def variant(emulator, value):
    emulator.control.patch("/variants", json={"shared_calendar_owner_path": value}).raise_for_status()


@pytest.mark.parametrize("owner_path", ["accepted", "refused"])
def test_a_write_share_is_listed_readable_and_writable_through_the_recipients_own_path(
    emulator, megan, desk, owner_path
):
    """The documented sharee path works whatever the owner path does (outlook-get-shared-events-calendars.md
    step 2; outlook-create-event-in-shared-delegated-calendar.md step 2; event-update.md, event-delete.md and
    calendar-list-calendarview.md list /me/calendars/{id}/...)."""
    variant(emulator, owner_path)
    assert desk not in {c["id"] for c in megan.get("/me/calendars").json()["value"]}
    share(emulator, desk, "write")
    listed = {c["id"]: c for c in megan.get("/me/calendars").json()["value"]}
    assert listed[desk]["owner"]["address"] == ADELE and listed[desk]["canEdit"] is True
    assert listed[desk]["isDefaultCalendar"] is False and listed[desk]["canShare"] is False
    one = megan.get(f"/me/calendars/{desk}").json()
    assert one["owner"]["address"] == ADELE and one["canShare"] is False
    created = megan.post(f"/me/calendars/{desk}/events", json=shift())
    assert created.status_code == 201
    event = created.json()
    assert megan.get(f"/me/calendars/{desk}/events/{event['id']}").status_code == 200
    assert [e["id"] for e in megan.get(f"/me/calendars/{desk}/events").json()["value"]] == [event["id"]]
    view = megan.get(f"/me/calendars/{desk}/calendarView", params=WINDOW)
    assert [e["id"] for e in view.json()["value"]] == [event["id"]]
    delta = megan.get(f"/me/calendars/{desk}/calendarView/delta", params=WINDOW).json()
    assert [e["id"] for e in delta["value"]] == [event["id"]]
    assert "/me/calendars/" in delta["@odata.deltaLink"]
    moved = megan.patch(f"/me/calendars/{desk}/events/{event['id']}", json={"subject": "Moved"})
    assert moved.status_code == 200
    again = megan.get(delta["@odata.deltaLink"]).json()
    assert [e["subject"] for e in again["value"]] == ["Moved"]
    # It is Adele's event, in Adele's calendar; nothing in Megan's own mailbox.
    adele = emulator.control.get(f"/graph/mailboxes/{ADELE}").json()
    assert [e["subject"] for e in adele["events"] if e["calendarId"] == desk] == ["Moved"]
    assert megan.get("/me/events").json()["value"] == []
    assert megan.delete(f"/me/calendars/{desk}/events/{event['id']}").status_code == 204
    assert [e for e in emulator.control.get(f"/graph/mailboxes/{ADELE}").json()["events"]] == []
    # Her other calendars stay out of reach, through either path.
    assert_graph_error(megan.get(f"/users/{ADELE}/calendar/events"), 403, "ErrorAccessDenied")
    adele_default = next(c["id"] for c in emulator.control.get(f"/graph/mailboxes/{ADELE}").json()["calendars"]
                         if c["isDefaultCalendar"])  # fmt: skip
    assert_graph_error(megan.get(f"/me/calendars/{adele_default}/events"), 403, "ErrorAccessDenied")


def test_the_owners_mailbox_path_works_under_the_accepted_variant(emulator, megan, desk):
    variant(emulator, "accepted")
    share(emulator, desk, "write")
    created = megan.post(f"/users/{ADELE}/calendars/{desk}/events", json=shift())
    assert created.status_code == 201
    event = created.json()
    assert megan.get(f"/users/{ADELE}/calendars/{desk}/events/{event['id']}").status_code == 200
    view = megan.get(f"/users/{ADELE}/calendars/{desk}/calendarView", params=WINDOW)
    assert [e["id"] for e in view.json()["value"]] == [event["id"]]
    assert megan.patch(f"/users/{ADELE}/events/{event['id']}", json={"subject": "Moved"}).status_code == 200
    others = megan.get(f"/users/{ADELE}/calendars").json()["value"]
    assert [c["id"] for c in others] == [desk]


def test_the_owners_mailbox_path_answers_404_under_the_refused_variant(emulator, megan, desk):
    variant(emulator, "refused")
    share(emulator, desk, "write")
    event = megan.post(f"/me/calendars/{desk}/events", json=shift()).json()
    for response in (
        megan.post(f"/users/{ADELE}/calendars/{desk}/events", json=shift()),
        megan.get(f"/users/{ADELE}/calendars/{desk}/events"),
        megan.get(f"/users/{ADELE}/calendars/{desk}/events/{event['id']}"),
        megan.get(f"/users/{ADELE}/calendars/{desk}/calendarView", params=WINDOW),
        megan.get(f"/users/{ADELE}/calendars/{desk}/calendarView/delta", params=WINDOW),
        megan.patch(f"/users/{ADELE}/events/{event['id']}", json={"subject": "x"}),
        megan.delete(f"/users/{ADELE}/calendars/{desk}/events/{event['id']}"),
    ):
        assert_graph_error(response, 404, "ErrorItemNotFound")
    assert len(emulator.control.get(f"/graph/mailboxes/{ADELE}").json()["events"]) == 1
    # The owner's own path is not concerned: Adele still reaches her calendar.
    with client(emulator, token_for(emulator, ADELE)) as adele:
        assert adele.get(f"/users/{ADELE}/calendars/{desk}/events").status_code == 200


def test_a_read_share_refuses_writes(emulator, megan, desk):
    share(emulator, desk, "read")
    listed = {c["id"]: c for c in megan.get("/me/calendars").json()["value"]}
    assert listed[desk]["canEdit"] is False
    assert megan.get(f"/me/calendars/{desk}/events").status_code == 200
    assert_graph_error(megan.post(f"/me/calendars/{desk}/events", json=shift()), 403, "ErrorAccessDenied")
    assert_graph_error(
        megan.post(f"/users/{ADELE}/calendars/{desk}/events", json=shift()), 403, "ErrorAccessDenied"
    )


@pytest.mark.parametrize("path", ["me", "owner"])
def test_a_withdrawn_share_disappears_and_answers_403(emulator, megan, desk, path):
    share(emulator, desk, "write")
    event = megan.post(f"/me/calendars/{desk}/events", json=shift()).json()
    assert share(emulator, desk, None)["shares"] == {}
    assert desk not in {c["id"] for c in megan.get("/me/calendars").json()["value"]}
    base = "/me" if path == "me" else f"/users/{ADELE}"
    for response in (
        megan.get(f"{base}/calendars/{desk}/events"),
        megan.get(f"{base}/calendars/{desk}/calendarView", params=WINDOW),
        megan.post(f"{base}/calendars/{desk}/events", json=shift()),
        megan.patch(f"{base}/calendars/{desk}/events/{event['id']}", json={"subject": "x"}),
        megan.delete(f"{base}/calendars/{desk}/events/{event['id']}"),
    ):
        assert_graph_error(response, 403, "ErrorAccessDenied")


def test_without_the_shared_scope_a_share_is_not_enough(emulator, world, desk):
    share(emulator, desk, "write")
    with client(emulator, token_for(emulator, MEGAN)) as plain:  # Calendars.ReadWrite only
        assert_graph_error(plain.get(f"/users/{ADELE}/calendars/{desk}/events"), 403, "ErrorAccessDenied")
        # Through her own path, reading needs only Calendars.Read (outlook-get-shared-events-calendars.md,
        # "from sharee's mailbox"); writing needs Calendars.ReadWrite.Shared (create-event ..., step 2).
        assert plain.get(f"/me/calendars/{desk}/events").status_code == 200
        assert_graph_error(plain.post(f"/me/calendars/{desk}/events", json=shift()), 403, "ErrorAccessDenied")


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
        listed = {c["id"]: c for c in megan.get("/me/calendars").json()["value"]}
        assert listed[desk]["canEdit"] is True
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
    assert desk not in {c["id"] for c in megan.get("/me/calendars").json()["value"]}
    assert_graph_error(megan.get(f"/me/calendars/{desk}/events"), 403, "ErrorAccessDenied")
