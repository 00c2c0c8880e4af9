"""Free/busy through EWS reads the chosen folder only, with each event's show-as, privacy and link value."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.exchange.conftest import mailbox


def graph_event(box, cal, subject, start, end, **extra):
    body = {"subject": subject, "start": {"dateTime": start, "timeZone": "UTC"},
            "end": {"dateTime": end, "timeZone": "UTC"}, **extra}  # fmt: skip
    return box.create_event(cal.id, body)[0]


def test_it_reads_the_chosen_folder_with_show_as_privacy_and_links(bob_client, bob, emulator, connect):
    from shiftdesk.calendarsync.actions import do_choose_calendars
    from shiftdesk.exchange.freebusy import read_freebusy
    from shiftdesk.exchange.provider import LINK_PROPERTY_NAME, LINK_PROPERTY_SET

    box = mailbox(emulator)
    work = box.create_calendar("Work")
    conn = connect(bob_client)
    work_id = work.id.replace("-", "+").replace("_", "/")
    do_choose_calendars(conn, sync_calendar_id=conn.sync_calendar_id, sync_calendar_name="Calendar",
                        freebusy_calendar_id=work_id, freebusy_calendar_name="Work")  # fmt: skip
    link_id = f"String {{{LINK_PROPERTY_SET}}} Name {LINK_PROPERTY_NAME}"
    graph_event(box, work, "Dentist", "2026-03-10T15:00:00", "2026-03-10T16:00:00", showAs="oof",
                sensitivity="private")  # fmt: skip
    graph_event(box, work, "Our shift", "2026-03-11T14:00:00", "2026-03-11T18:00:00",
                singleValueExtendedProperties=[{"id": link_id, "value": "shiftdesk-1-2"}])  # fmt: skip
    graph_event(box, work, "Holiday", "2026-03-12T00:00:00", "2026-03-13T00:00:00", isAllDay=True)
    graph_event(box, work, "Outside", "2026-04-12T15:00:00", "2026-04-12T16:00:00")
    graph_event(box, box.default_calendar, "Other calendar", "2026-03-10T09:00:00", "2026-03-10T10:00:00")

    events = read_freebusy(conn, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    by_subject = {e.subject: e for e in events}
    assert sorted(by_subject) == ["Dentist", "Holiday", "Our shift"]
    dentist = by_subject["Dentist"]
    assert (dentist.start, dentist.end) == (
        datetime(2026, 3, 10, 15, tzinfo=UTC),
        datetime(2026, 3, 10, 16, tzinfo=UTC),
    )
    assert dentist.show_as == "oof" and dentist.is_private
    assert by_subject["Our shift"].link_value == "shiftdesk-1-2" and by_subject["Our shift"].show_as == "busy"
    holiday = by_subject["Holiday"]
    assert holiday.is_all_day and (holiday.start_date.isoformat(), holiday.end_date.isoformat()) == (
        "2026-03-12", "2026-03-13")  # fmt: skip
