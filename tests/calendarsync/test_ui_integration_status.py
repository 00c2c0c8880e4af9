"""Admin > Accounts > Integration Status: every active account's Outlook connection in words, the "only
accounts with problems" filter, Retry and Confirm, pagination, and a query count that does not grow with the
number of accounts."""

from __future__ import annotations

import re

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from shiftdesk.accounts.models import User
from shiftdesk.calendarsync.models import CalendarConnection, EventLink
from shiftdesk.calendarsync.views import STATUS_PAGE_SIZE
from tests.calendarsync.ui_factories import deleted_in_outlook, make_connection, make_link, make_shift

pytestmark = pytest.mark.django_db
Status = CalendarConnection.Status
URL = "/admin/accounts/integration-status/"


@pytest.fixture
def admin_client(client, alice):
    client.force_login(alice)
    return client


def rows(html: str) -> dict[str, str]:
    """email -> that account's table row."""
    found = {}
    for row in re.findall(r"<tr data-user=.*?</tr>", html, re.S):
        email = re.search(r'<span class="muted">([^<]+@[^<]+)</span>', row).group(1)
        found[email] = row
    return found


@pytest.fixture
def accounts(db, alice, bob, charlie):
    """One account per state. alice (admin) is not connected; bob is connected with pending changes."""
    connected = make_connection(bob, account_email="bob@contoso.example", last_success_at=timezone.now())
    for day in (1, 2, 3):
        make_link(connected, make_shift(days_ahead=day), dirty=True)
    deleted_in_outlook(connected, make_shift(days_ahead=5))
    make_connection(
        charlie, status=Status.NEEDS_REAUTHORIZATION, last_error="Your Microsoft sign-in has expired."
    )
    dora = User.objects.create_user("dora@example.org", None, first_name="Dora", last_name="Error")
    make_connection(dora, status=Status.ERROR, last_error="The calendar was deleted in Outlook.",
                    consecutive_failures=4)  # fmt: skip
    erin = User.objects.create_user("erin@example.org", None, first_name="Erin", last_name="Paused")
    make_connection(
        erin, status=Status.PAUSED, paused_reason="Paused: the next sync would delete 9 of 10 events."
    )
    fay = User.objects.create_user("fay@example.org", None, first_name="Fay", last_name="Nocalendar")
    make_connection(fay, calendar="")
    gone = User.objects.create_user(
        "gone@example.org", None, first_name="Gone", last_name="Inactive", is_active=False
    )
    make_connection(gone, status=Status.ERROR)
    return {"connected": connected, "dora": dora, "erin": erin}


def test_it_tells_every_active_accounts_status(admin_client, accounts):
    html = admin_client.get(URL).content.decode()
    table = rows(html)
    assert set(table) == {
        "alice@example.org", "bob@example.org", "charlie@example.org", "dora@example.org", "erin@example.org",
        "fay@example.org",
    }  # fmt: skip
    assert "Not connected" in table["alice@example.org"]
    bob = table["bob@example.org"]
    assert ">Connected<" in bob and "bob@contoso.example" in bob and ">Shifts<" in bob
    assert '<td data-label="Pending changes">3</td>' in bob
    assert "1 event deleted in Outlook" in bob
    assert "Needs reauthorization" in table["charlie@example.org"]
    assert "Your Microsoft sign-in has expired." in table["charlie@example.org"]
    assert "Only the user can fix this" in table["charlie@example.org"]
    assert (
        ">Error<" in table["dora@example.org"]
        and "The calendar was deleted in Outlook." in table["dora@example.org"]
    )
    assert "Paused for confirmation" in table["erin@example.org"]
    assert (
        "would delete 9 of 10 events" in table["erin@example.org"]
        and ">Confirm</button>" in table["erin@example.org"]
    )
    assert "Connected (no calendar chosen)" in table["fay@example.org"]
    assert ">Retry</button>" in table["dora@example.org"]
    assert ">Retry</button>" not in bob  # healthy: nothing failed, nothing to retry (issue 14)
    assert 'data-integration-off="microsoft"' in html  # Azure AD OAuth 2 was never enabled here


def test_it_filters_to_accounts_with_problems(admin_client, accounts):
    html = admin_client.get(URL, {"problems": "on"}).content.decode()
    assert set(rows(html)) == {
        "charlie@example.org",
        "dora@example.org",
        "erin@example.org",
        "fay@example.org",
    }
    assert 'name="problems" value="on" checked' in html


def test_retry_makes_a_stopped_connection_due_now_without_backoff(admin_client, alice, accounts):
    connection = accounts["dora"].calendar_connection
    shift = make_shift()
    link = make_link(
        connection,
        shift,
        dirty=True,
        attempts=6,
        next_attempt_at=timezone.now() + timezone.timedelta(hours=1),
    )
    response = admin_client.post(
        reverse("integration_status_retry", args=[connection.pk]), {"next": URL + "?problems=on"}
    )
    assert response.status_code == 302 and response["Location"] == URL + "?problems=on"
    connection.refresh_from_db()
    link.refresh_from_db()
    assert connection.status == Status.CONNECTED
    assert connection.sync_due_at is not None and connection.sync_due_at <= timezone.now()
    assert connection.consecutive_failures == 0
    assert link.next_attempt_at is None and link.attempts == 0
    assert ">Connected<" in rows(admin_client.get(URL).content.decode())["dora@example.org"]


def test_retry_does_not_bypass_the_safety_brake_or_a_dead_authorization(admin_client, accounts, charlie):
    paused = accounts["erin"].calendar_connection
    admin_client.post(reverse("integration_status_retry", args=[paused.pk]))
    paused.refresh_from_db()
    assert paused.status == Status.PAUSED and not paused.brake_confirmed
    dead = charlie.calendar_connection
    admin_client.post(reverse("integration_status_retry", args=[dead.pk]))
    dead.refresh_from_db()
    assert dead.status == Status.NEEDS_REAUTHORIZATION


def test_an_admin_can_confirm_a_paused_connection(admin_client, accounts):
    paused = accounts["erin"].calendar_connection
    admin_client.post(reverse("integration_status_confirm", args=[paused.pk]))
    paused.refresh_from_db()
    assert paused.status == Status.CONNECTED and paused.brake_confirmed and paused.sync_due_at is not None


def test_retry_ignores_an_offsite_next(admin_client, accounts):
    connection = accounts["connected"]
    response = admin_client.post(
        reverse("integration_status_retry", args=[connection.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == URL


def make_accounts(n: int, start: int) -> None:
    for i in range(start, start + n):
        user = User.objects.create_user(
            f"user{i:03d}@example.org", None, first_name="User", last_name=f"{i:03d}"
        )
        if i % 3 == 0:
            continue  # not connected
        status = [Status.CONNECTED, Status.ERROR, Status.NEEDS_REAUTHORIZATION, Status.PAUSED][i % 4]
        connection = make_connection(
            user, status=status, last_error="x" if status != Status.CONNECTED else ""
        )
        make_link(connection, make_shift(days_ahead=1 + i % 5), dirty=True)
        deleted_in_outlook(connection, make_shift(days_ahead=2 + i % 5))


def count_queries(client, params=None) -> int:
    with CaptureQueriesContext(db_connection) as ctx:
        response = client.get(URL, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("params", [{}, {"problems": "on"}], ids=["all", "problems"])
def test_the_query_count_does_not_grow_with_the_accounts(admin_client, params, django_assert_max_num_queries):
    make_accounts(4, start=0)
    admin_client.get(URL)  # warm-up: a first request may save the session
    small = count_queries(admin_client, params)
    make_accounts(40, start=100)
    with django_assert_max_num_queries(small):
        html = admin_client.get(URL, params).content.decode()
    assert len(rows(html)) > 10
    assert count_queries(admin_client, params) == small


def test_it_pages_a_large_list(admin_client, alice):
    User.objects.bulk_create(
        [
            User(email=f"staff{i:03d}@example.org", last_name=f"Staff{i:03d}")
            for i in range(STATUS_PAGE_SIZE + 5)
        ]
    )
    first = admin_client.get(URL).content.decode()
    assert len(rows(first)) == STATUS_PAGE_SIZE
    assert "Page 1 of 2" in first and "page=2" in first
    second = admin_client.get(URL, {"page": 2}).content.decode()
    assert len(rows(second)) == 6  # 55 staff + alice
    assert not set(rows(first)) & set(rows(second))
    assert EventLink.objects.count() == 0
