"""Google event ids chosen by ShiftDesk and the remote ids the engine stores, for any input (hypothesis)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from shiftdesk.google.provider import event_id_for, remote_id, split_remote_id

BASE32HEX = re.compile(r"[0-9a-v]{5,1024}")


@given(st.text(min_size=1, max_size=200), st.text(min_size=1, max_size=200))
def test_event_ids_are_base32hex_stable_and_distinct(first, second):
    assert BASE32HEX.fullmatch(event_id_for(first))
    assert event_id_for(first) == event_id_for(first)  # a retried create asks with the same id
    if first != second:
        assert event_id_for(first) != event_id_for(second)  # a new generation gets a new id


@given(st.text(min_size=1, max_size=300), st.text(alphabet="0123456789abcdefghijklmnopqrstuv_TZ", min_size=5))
def test_a_remote_id_gives_back_its_calendar_and_event(calendar_id, event_id):
    # Calendar ids may hold "/", "#", "@" (e.g. en.usa#holiday@group.v.calendar.google.com); event ids never "/".
    assert split_remote_id(remote_id(calendar_id, event_id)) == (calendar_id, event_id)
