"""The sync engine's own tests, run unchanged with Password Authentication connections (see conftest.py):
every one of these reads the mailbox through the emulator's Graph-side control API, which is the same state
the EWS side writes. Tests tied to Graph itself (transactionId, Prefer headers, MSAL tokens, Graph ids, the
Azure AD switch) are not imported; test_engine_ews.py covers their EWS counterparts."""

from tests.calendarsync.test_engine_basics import (  # noqa: F401  (collected by pytest)
    test_it_deletes_the_event_on_unassignment_shift_deletion_and_deactivations,
    test_it_does_nothing_for_shifts_assigned_before_authorization_or_in_the_past,
    test_it_updates_the_event_when_the_shift_changes_and_only_then,
    test_it_waits_for_a_chosen_calendar,
)
from tests.calendarsync.test_engine_failures import (  # noqa: F401
    test_a_404_on_delete_counts_as_done,
    test_a_404_on_update_means_deleted_in_outlook_and_is_not_recreated_until_restored,
    test_a_few_deletes_do_not_trip_the_brake,
    test_remove_authorization_keeps_events_or_deletes_future_ones_even_with_a_dead_token,
    test_the_safety_brake_pauses_a_pass_deleting_more_than_half_until_confirmed,
)
from tests.calendarsync.test_export_and_worker import (  # noqa: F401, E402
    test_export_all_finds_and_updates_events_instead_of_duplicating,
    test_export_not_exported_creates_events_for_shifts_assigned_before_authorization,
)
