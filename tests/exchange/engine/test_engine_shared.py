"""The sync engine's own tests, run unchanged with Password Authentication connections (see conftest.py):
every one of these reads the mailbox through the emulator's Graph-side control API, which is the same state
the EWS side writes. Tests tied to Graph itself (transactionId, Prefer headers, MSAL tokens, Graph ids, the
Azure AD switch) are not imported; test_engine_ews.py covers their EWS counterparts.

The engine tests are parametrised by cloud provider (Microsoft Graph / Google) in tests/calendarsync; here
the connection is an Exchange mailbox whatever that parameter says, so each runs once, as written, without
it (`as_exchange_test`)."""

from __future__ import annotations

import functools

from tests.calendarsync import test_engine_basics as basics
from tests.calendarsync import test_engine_failures as failures
from tests.calendarsync import test_export_and_worker as exports


def as_exchange_test(test):
    """The engine test's body and its other marks, without the `provider` parametrisation."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        return test(*args, **kwargs)

    run.pytestmark = [m for m in getattr(test, "pytestmark", []) if m.args[:1] != ("provider",)]
    return run


test_it_deletes_the_event_on_unassignment_shift_deletion_and_deactivations = as_exchange_test(
    basics.test_it_deletes_the_event_on_unassignment_shift_deletion_and_deactivations
)
test_it_does_nothing_for_shifts_assigned_before_authorization_or_in_the_past = as_exchange_test(
    basics.test_it_does_nothing_for_shifts_assigned_before_authorization_or_in_the_past
)
test_it_updates_the_event_when_the_shift_changes_and_only_then = as_exchange_test(
    basics.test_it_updates_the_event_when_the_shift_changes_and_only_then
)
test_it_waits_for_a_chosen_calendar = as_exchange_test(basics.test_it_waits_for_a_chosen_calendar)
test_a_404_on_delete_counts_as_done = as_exchange_test(failures.test_a_404_on_delete_counts_as_done)
test_a_404_on_update_means_deleted_in_outlook_and_is_not_recreated_until_restored = as_exchange_test(
    failures.test_a_404_on_update_means_deleted_in_outlook_and_is_not_recreated_until_restored
)
test_a_few_deletes_do_not_trip_the_brake = as_exchange_test(failures.test_a_few_deletes_do_not_trip_the_brake)
test_remove_authorization_keeps_events_or_deletes_future_ones_even_with_a_dead_token = as_exchange_test(
    failures.test_remove_authorization_keeps_events_or_deletes_future_ones_even_with_a_dead_token
)
test_the_safety_brake_pauses_a_pass_deleting_more_than_half_until_confirmed = as_exchange_test(
    failures.test_the_safety_brake_pauses_a_pass_deleting_more_than_half_until_confirmed
)
test_export_all_finds_and_updates_events_instead_of_duplicating = as_exchange_test(
    exports.test_export_all_finds_and_updates_events_instead_of_duplicating
)
test_export_not_exported_creates_events_for_shifts_assigned_before_authorization = as_exchange_test(
    exports.test_export_not_exported_creates_events_for_shifts_assigned_before_authorization
)
