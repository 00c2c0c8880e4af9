"""Calendars shared between mailboxes (concepts/outlook-share-or-delegate-calendar.md,
outlook-get-shared-events-calendars.md, outlook-create-event-in-shared-delegated-calendar.md): the owner shares a
calendar read or write (control API, as in Outlook); the recipient sees it in GET /me/calendars with the owner and
canEdit; reads and writes go through the owner's mailbox (/users/{owner}/calendars/{id}/…) with
Calendars.ReadWrite.Shared; read-only or withdrawn shares answer 403 ErrorAccessDenied."""

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


def test_a_write_share_is_listed_readable_and_writable_through_the_owners_mailbox(emulator, megan, desk):
    assert desk not in {c["id"] for c in megan.get("/me/calendars").json()["value"]}
    share(emulator, desk, "write")
    listed = {c["id"]: c for c in megan.get("/me/calendars").json()["value"]}
    assert listed[desk]["owner"]["address"] == ADELE and listed[desk]["canEdit"] is True
    assert listed[desk]["isDefaultCalendar"] is False and listed[desk]["canShare"] is False
    created = megan.post(f"/users/{ADELE}/calendars/{desk}/events", json=shift())
    assert created.status_code == 201
    event = created.json()
    assert megan.get(f"/users/{ADELE}/calendars/{desk}/events/{event['id']}").status_code == 200
    view = megan.get(f"/users/{ADELE}/calendars/{desk}/calendarView",
                     params={"startDateTime": "2026-11-30T00:00:00Z", "endDateTime": "2026-12-07T00:00:00Z"})  # fmt: skip
    assert [e["id"] for e in view.json()["value"]] == [event["id"]]
    assert megan.patch(f"/users/{ADELE}/events/{event['id']}", json={"subject": "Moved"}).status_code == 200
    # It is Adele's event, in Adele's calendar.
    adele = emulator.control.get(f"/graph/mailboxes/{ADELE}").json()
    assert [e["subject"] for e in adele["events"] if e["calendarId"] == desk] == ["Moved"]
    # Her other calendars stay out of reach.
    assert_graph_error(megan.get(f"/users/{ADELE}/calendar/events"), 403, "ErrorAccessDenied")
    others = megan.get(f"/users/{ADELE}/calendars").json()["value"]
    assert [c["id"] for c in others] == [desk]


def test_a_read_share_refuses_writes(emulator, megan, desk):
    share(emulator, desk, "read")
    listed = {c["id"]: c for c in megan.get("/me/calendars").json()["value"]}
    assert listed[desk]["canEdit"] is False
    assert megan.get(f"/users/{ADELE}/calendars/{desk}/events").status_code == 200
    assert_graph_error(
        megan.post(f"/users/{ADELE}/calendars/{desk}/events", json=shift()), 403, "ErrorAccessDenied"
    )


def test_a_withdrawn_share_disappears_and_answers_403(emulator, megan, desk):
    share(emulator, desk, "write")
    event = megan.post(f"/users/{ADELE}/calendars/{desk}/events", json=shift()).json()
    assert share(emulator, desk, None)["shares"] == {}
    assert desk not in {c["id"] for c in megan.get("/me/calendars").json()["value"]}
    for response in (
        megan.get(f"/users/{ADELE}/calendars/{desk}/events"),
        megan.post(f"/users/{ADELE}/calendars/{desk}/events", json=shift()),
        megan.patch(f"/users/{ADELE}/events/{event['id']}", json={"subject": "x"}),
        megan.delete(f"/users/{ADELE}/events/{event['id']}"),
    ):
        assert_graph_error(response, 403, "ErrorAccessDenied")


def test_without_the_shared_scope_a_share_is_not_enough(emulator, world, desk):
    share(emulator, desk, "write")
    with client(emulator, token_for(emulator, MEGAN)) as plain:  # Calendars.ReadWrite only
        assert_graph_error(plain.get(f"/users/{ADELE}/calendars/{desk}/events"), 403, "ErrorAccessDenied")


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
    assert_graph_error(megan.get(f"/users/{ADELE}/calendars/{desk}/events"), 403, "ErrorAccessDenied")
