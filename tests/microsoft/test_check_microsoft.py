"""`manage.py check_microsoft` against the emulator's default world: every line PASSes; and under variants the
lines name the variant the tenant plays; a refusal of something ShiftDesk relies on is a FAIL with what to report."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command

from m365emulator.testing import sign_in
from tests.emulator.test_graph_subscriptions import Listener
from tests.microsoft.conftest import MEGAN, PAT


class Browser:
    """Stands in for the admin at the terminal: reads the URL the command printed, signs in as the test mailbox
    in the emulator's pages, and 'pastes' the address the browser was sent to."""

    def __init__(self, emulator, out: StringIO, login: tuple[str, str]):
        self.emulator, self.out, self.login = emulator, out, login

    def readline(self) -> str:
        url = re.findall(r"^(https://\S+/oauth2/v2\.0/authorize\?\S+)$", self.out.getvalue(), re.M)[-1]
        with self.emulator.http() as browser:
            response = sign_in(browser, url, *self.login)
        assert response.status_code == 302, response.text
        return response.headers["location"] + "\n"


def run(emulator, login=MEGAN, **options) -> tuple[str, int]:
    out = StringIO()
    command_options = {"stdout": out, **options}
    from shiftdesk.microsoft.management.commands.check_microsoft import Command

    command = Command(stdout=out)
    command.stdin = Browser(emulator, out, login)
    code = 0
    try:
        call_command(command, **command_options)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    return out.getvalue(), code


@pytest.fixture
def listener(emulator):
    emulator.control.put(
        "/graph/settings", json={"notification_ca_file": emulator.ca_file}
    ).raise_for_status()
    hook = Listener(emulator.state_dir)
    yield hook
    hook.close()


def lines(output: str) -> dict[str, str]:
    return {m.group(2): m.group(1) + " " + m.group(3)
            for m in re.finditer(r"^(PASS|FAIL) ([^:]+): (.*)$", output, re.M)}  # fmt: skip


def test_it_passes_against_the_emulators_default_world(emulator, azure, listener):
    output, code = run(emulator, notification_url=listener.url)
    found = lines(output)
    assert code == 0, output
    assert all(v.startswith("PASS") for v in found.values()), output
    for name in ("credentials", "50059 order", "authorization", "me", "event through its calendar",
                 "find by extended property", "transactionId", "expand calendar id", "delta on another calendar",
                 "delta outside the window", "immutable ids", "$batch", "subscription on a calendar",
                 "subscription on me/events", "clean up"):  # fmt: skip
        assert name in found, (name, output)
    assert "variant calendar_delta=accepted" in found["delta on another calendar"]
    assert "variant delta_removed_outside_window=reported" in found["delta outside the window"]
    assert "variant expand_calendar_id=equal" in found["expand calendar id"]
    assert "variant multitenant_50059=after_secret_check" in found["50059 order"]
    assert "0 FAIL" in output
    assert "SKIP shared calendars: no calendar another person shared is listed" in output
    # Nothing left behind in the test mailbox.
    mailbox = emulator.control.get(f"/graph/mailboxes/{MEGAN[0]}").json()
    assert [c["name"] for c in mailbox["calendars"]] == ["Calendar"]


def test_it_names_the_variants_a_tenant_plays(emulator, azure, listener):
    emulator.control.patch("/variants", json={
        "calendar_delta": "refused", "expand_calendar_id": "different_encoding",
        "delta_removed_outside_window": "omitted", "multitenant_50059": "before_secret_check",
        "calendar_subscriptions": "refused"}).raise_for_status()  # fmt: skip
    output, code = run(emulator, notification_url=listener.url)
    found = lines(output)
    assert code == 0, output
    assert "variant calendar_delta=refused" in found["delta on another calendar"]
    assert "variant expand_calendar_id=different_encoding" in found["expand calendar id"]
    assert "variant multitenant_50059=before_secret_check" in found["50059 order"]
    assert "variant calendar_subscriptions=refused" in found["subscription on a calendar"]


def test_a_personal_account_is_reported_as_such(emulator, azure):
    output, code = run(emulator, login=PAT)
    assert code == 0, output
    assert "16 hex digits (personal account), mail null, ShiftDesk names it 'pat@outlook.com'" in output
    assert "SKIP change notifications" in output


def test_what_shiftdesk_relies_on_failing_is_a_fail_with_what_to_report(emulator, azure):
    # A mailbox that denies the app: every Graph line fails, and says what to send.
    emulator.control.put(f"/graph/mailboxes/{MEGAN[0]}/access", json={"deny": True}).raise_for_status()
    output, code = run(emulator)
    assert code == 1
    assert re.search(r"^FAIL [^:]+: .* \| report: ", output, re.M), output
    assert "Send the FAIL lines" in output


ADELE = "adele@contoso.onmicrosoft.com"
SHARED_VARIANTS = [("per_mailbox", "accepted", "not_found"), ("same", "refused", "served"),
                   ("per_mailbox", "refused", "served"), ("same", "accepted", "not_found")]  # fmt: skip


@pytest.mark.parametrize(
    ("ids", "owner_path", "me_path"), SHARED_VARIANTS, ids=["-".join(v) for v in SHARED_VARIANTS]
)
def test_a_calendar_shared_with_the_test_mailbox_is_read_and_its_variants_named(
    emulator, azure, ids, owner_path, me_path
):
    """Adele shared "Desk shifts" (Can edit) with the test mailbox and has an event in it: the check lists it,
    reads it through the documented sharee path, names the three shared-calendar variants the tenant plays, and
    writes nothing there."""
    from shiftdesk.microsoft.models import AzureADSettings

    AzureADSettings.objects.update(request_shared_calendars=True)  # the scope ShiftDesk's users would grant
    emulator.control.patch("/variants", json={"shared_calendar_ids": ids, "shared_calendar_owner_path": owner_path,
                                              "shared_event_me_path": me_path}).raise_for_status()  # fmt: skip
    desk = emulator.control.post(f"/graph/mailboxes/{ADELE}/calendars", json={"name": "Desk shifts"}).json()[
        "id"
    ]
    emulator.control.post(f"/graph/mailboxes/{ADELE}/events", json={
        "calendarId": desk, "subject": "Desk meeting",
        "start": {"dateTime": "2026-12-10T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-10T10:00:00", "timeZone": "UTC"}}).raise_for_status()  # fmt: skip
    emulator.control.put(f"/graph/mailboxes/{ADELE}/calendars/{desk}/shares/{MEGAN[0]}",
                         json={"role": "write"}).raise_for_status()  # fmt: skip
    before = emulator.control.get(f"/graph/mailboxes/{ADELE}").json()
    output, code = run(emulator)
    found = lines(output)
    assert code == 0, output
    assert found["shared calendar listed"].startswith("PASS 1 shared; “Desk shifts” of adele@"), output
    assert "canEdit True" in found["shared calendar listed"]
    assert found["shared calendar read"].startswith("PASS"), output
    variants = found["shared calendar ids"]
    assert f"variant shared_calendar_ids={ids} " in variants, output
    assert f"variant shared_calendar_owner_path={owner_path} " in variants, output
    assert f"variant shared_event_me_path={me_path} " in variants, output
    assert emulator.control.get(f"/graph/mailboxes/{ADELE}").json() == before, "nothing written in Adele's"


def test_a_read_only_share_is_read_and_said_so(emulator, azure):
    """Without Calendars.ReadWrite.Shared the owner's mailbox cannot be asked: the line says it cannot tell."""
    desk = emulator.control.post(f"/graph/mailboxes/{ADELE}/calendars", json={"name": "Desk shifts"}).json()[
        "id"
    ]
    emulator.control.put(f"/graph/mailboxes/{ADELE}/calendars/{desk}/shares/{MEGAN[0]}",
                         json={"role": "read"}).raise_for_status()  # fmt: skip
    output, code = run(emulator)
    found = lines(output)
    assert code == 0, output
    assert (
        "canEdit False" in found["shared calendar listed"] and "read-only" in found["shared calendar listed"]
    )
    assert found["shared calendar read"].startswith("PASS"), output
    assert (
        "variant shared_calendar_ids=? (the owner's calendar list answers 403)"
        in found["shared calendar ids"]
    )
    assert "variant shared_event_me_path=? (no event" in found["shared calendar ids"]
