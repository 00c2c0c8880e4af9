"""The model-based proof of issue 12 (item 9): a hypothesis `RuleBasedStateMachine` that drives ShiftDesk and a
user's Outlook (the real emulator over HTTPS) through any interleaving of schedule changes, calendar choices,
exports, Remove Authorization and reconnects, the user's own edits in Outlook, Restore / Leave it, faults,
a lease running out mid-step, a second worker, a user action committed while a step's requests are in flight,
and a worker process killed between sending and recording. After every drain it checks, from the emulator's
raw mailbox, the promise users buy:

- every wanted shift has exactly one event of ours, in the chosen calendar, with current content, and its
  link records that event and the calendar it is really in;
- no event of ours is anywhere else, except those the user chose to keep (Leave it, Remove Authorization
  without deleting, an event they moved themselves and that is no longer wanted);
- what the user did in Outlook is respected: a deleted event is not written again, a moved one stays where
  they put it, until they press Restore, the shift is assigned again, or they "Export all shifts".

"Wanted" is the model's own belief (`Model.wanted`), kept from the rules, never read from the engine's rows.

Time moves with time-machine (backoffs, Retry-After, leases, verification intervals); faults come from the
emulator's seeded fault injector, armed for one drain with a bounded count; the moments "while a step's
requests are in flight" and "after Outlook carried the create out" come from `model_hooks.RequestHook`.
Drives the engine through its public entry points only: `Worker.run(once=True)`, `sync_one_connection`, the
`do_*` actions and `run_export`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from tests.calendarsync.conftest import Sync, google_control, google_world_spec, link_key_of, world_spec
from tests.calendarsync.model_hooks import RequestHook, Trigger, is_event_create, is_event_write

ROOT = Path(__file__).resolve().parents[2]
CALENDARS = ("Calendar", "Work", "Other")  # "Calendar" is the default one
WORKER_A, WORKER_B = "model-worker-a", "model-worker-b"
SETTLE_ROUNDS = 80
MAX_SHIFTS = 4  # few shifts: rules keep meeting the same ones (delete in Outlook, unassign, assign again...)

# Faults for one drain: 429 with a Retry-After above the engine's inline maximum (5 s), 503, dropped
# connections and lost answers (carried out, never answered), from the emulator's seeded generator.
FAULTS = st.fixed_dictionaries(
    {
        "status_rates": st.sampled_from([{}, {"429": 0.3}, {"503": 0.3}, {"429": 0.15, "503": 0.15}]),
        "drop_rate": st.sampled_from([0.0, 0.2]),
        "lost_response_rate": st.sampled_from([0.0, 0.3, 1.0]),
        "retry_after": st.sampled_from([0, 30, 120]),
        "seed": st.integers(0, 2**16),
        "remaining": st.integers(1, 6),
    }
)


class Clock:
    """The example's time-machine travel (ticking): `shift` moves ShiftDesk's and the emulator's clocks."""

    def __init__(self) -> None:
        self._travel = None
        self._coordinates = None

    def start(self) -> None:
        import time_machine

        self.stop()
        self._travel = time_machine.travel(datetime.now(UTC), tick=True)
        self._coordinates = self._travel.start()

    def shift(self, delta: timedelta) -> None:
        self._coordinates.shift(delta)

    def stop(self) -> None:
        if self._travel is not None:
            self._travel.stop()
            self._travel = None


class Counter:
    """How many examples (machines) ran: printed by the long profile."""

    examples = 0
    steps = 0


@dataclass
class ShiftModel:
    shift_id: int
    assigned: bool = False
    tracked: bool = False  # assigned while authorized, or exported
    outlook: str | None = None  # "deleted" / "moved": what the user did in Outlook, until undone
    moved_event_id: str = ""
    left: bool = False  # "Leave it"
    user_edited: bool = False  # the user edited its text in Outlook; ShiftDesk has not rewritten it since
    deleted: bool = False  # the shift itself was deleted


class Model:
    def __init__(self) -> None:
        self.shifts: dict[int, ShiftModel] = {}
        self.connected = True
        self.calendar = "Calendar"
        self.left_ids: set[str] = set()  # events the user chose to keep, for good
        self.dormant: dict[str, int] = {}  # event id -> shift: kept while its shift is not wanted
        self.doomed: set[str] = set()  # Remove Authorization with deleting: these must be gone

    def wanted(self, s: ShiftModel) -> bool:
        return (
            self.connected and s.assigned and s.tracked and not s.deleted and s.outlook is None and not s.left
        )


def build_machine(
    sync_factory, emulator, hook: RequestHook, clock, subprocess_env, provider: str = "microsoft"
):
    """The machine class, bound to the test's fixtures. `sync_factory()` makes a fresh `Sync` world (a
    `GoogleSync` when `provider` is "google": the user's calendars are then a Google account's, and "Outlook"
    below reads "Google Calendar")."""

    class ShiftDeskModel(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            Counter.examples += 1
            clock.start()
            hook.disarm()
            seed_world(emulator, provider)
            _clear_database()
            self.sync: Sync = sync_factory()
            self.user = self.sync.add_user(0)
            self.upn = self.sync.upns[self.user.pk]
            for name in CALENDARS[1:]:
                self.sync.add_calendar(self.user, name)
            self.model = Model()
            self.log: list[str] = []
            self.failed = False

        # --- helpers ---------------------------------------------------------------------------------
        def calendars(self) -> dict[str, str]:
            """Name -> id; the default calendar is "Calendar" (on Google the primary one is named by its email)."""
            return {
                "Calendar" if c["isDefaultCalendar"] else c["name"]: c["id"]
                for c in self.sync.mailbox(self.user)["calendars"]
            }

        def connection(self):
            from shiftdesk.calendarsync.models import CalendarConnection

            return CalendarConnection.objects.filter(user=self.user).first()

        def shift_obj(self, shift_id: int):
            from shiftdesk.scheduling.models import Shift

            return Shift.objects.get(pk=shift_id)

        def key(self, shift_id: int) -> str:
            return f"shiftdesk-{self.user.pk}-{shift_id}"

        def ours(self) -> list[dict]:
            return [e for e in self.sync.events(self.user) if link_key_of(e)]

        def live_event(self, s: ShiftModel) -> dict | None:
            from shiftdesk.calendarsync.models import EventLink

            link = EventLink.objects.filter(connection__user=self.user, shift_ref=s.shift_id).first()
            remote = link.remote_event_id if link else ""
            live = [
                e
                for e in self.ours()
                if link_key_of(e) == self.key(s.shift_id)
                and (e["id"] not in self.model.left_ids or e["id"] == remote)
            ]
            return live[0] if len(live) == 1 else None

        def wanted_shifts(self) -> list[ShiftModel]:
            return [s for s in self.model.shifts.values() if self.model.wanted(s)]

        def note(self, text: str) -> None:
            self.log.append(text)
            Counter.steps += 1

        # --- schedule (an admin on the week grid) ---------------------------------------------------------
        @precondition(lambda self: len(self.model.shifts) < MAX_SHIFTS)
        @rule(days=st.integers(3, 8), hours=st.integers(0, 20))
        def create_and_assign(self, days, hours):
            shift = self.sync.shift(days=days + hours / 24, hours=3, note="created")
            self.sync.assign(shift, self.user)
            self.model.shifts[shift.pk] = ShiftModel(shift.pk, assigned=True, tracked=self.model.connected)
            self.note(f"create_and_assign shift={shift.pk} in {days}d{hours}h")

        @precondition(lambda self: any(not s.assigned and not s.deleted for s in self.model.shifts.values()))
        @rule(data=st.data())
        def assign_again(self, data):
            options = [s for s in self.model.shifts.values() if not s.assigned and not s.deleted]
            s = data.draw(st.sampled_from(options), label="shift")
            self._assign(s)
            self.note(f"assign shift={s.shift_id}")

        def _assign(self, s: ShiftModel) -> None:
            self.sync.assign(self.shift_obj(s.shift_id), self.user)
            self._model_assign(s)

        def _model_assign(self, s: ShiftModel) -> None:
            s.assigned = True
            if self.model.connected:  # the listener tracks it again: a new decision, whatever the user did
                s.tracked, s.outlook, s.left = True, None, False

        @precondition(lambda self: any(s.assigned for s in self.model.shifts.values()))
        @rule(data=st.data())
        def unassign(self, data):
            options = [s for s in self.model.shifts.values() if s.assigned]
            s = data.draw(st.sampled_from(options), label="shift")
            self._unassign(s)
            self.note(f"unassign shift={s.shift_id}")

        def _unassign(self, s: ShiftModel) -> None:
            from shiftdesk.scheduling.actions import do_unassign_staff

            do_unassign_staff(self.shift_obj(s.shift_id), self.user, by=self.sync.admin)
            self._model_unassign(s)

        def _model_unassign(self, s: ShiftModel) -> None:
            s.assigned = False
            if not s.tracked:
                # ShiftDesk forgot these events (Remove Authorization kept them): they are the user's now.
                for event_id, shift_id in list(self.model.dormant.items()):
                    if shift_id == s.shift_id:
                        del self.model.dormant[event_id]
                        self.model.left_ids.add(event_id)
            if s.outlook == "moved" and s.moved_event_id:
                self.model.dormant[s.moved_event_id] = s.shift_id  # deleted or left alone: both fine

        @precondition(lambda self: any(not s.deleted for s in self.model.shifts.values()))
        @rule(data=st.data(), what=st.sampled_from(["note", "location", "later", "earlier"]))
        def edit_shift(self, data, what):
            options = [s for s in self.model.shifts.values() if not s.deleted]
            s = data.draw(st.sampled_from(options), label="shift")
            self._edit(s, what)
            self.note(f"edit shift={s.shift_id} {what}")

        def _edit(self, s: ShiftModel, what: str) -> None:
            from shiftdesk.scheduling.actions import do_update_shift

            shift = self.shift_obj(s.shift_id)
            start, end, note, location = shift.start, shift.end, shift.note, shift.location
            if what == "note":
                note += " +"
            elif what == "location":
                location = "Room " + str(len(location))
            else:
                delta = timedelta(minutes=30 if what == "later" else -30)
                start, end = start + delta, end + delta
            do_update_shift(shift, position=shift.position, location=location, start=start, end=end,
                            staff_needed=shift.staff_needed, note=note, by=self.sync.admin)  # fmt: skip
            s.user_edited = False

        @precondition(lambda self: any(not s.deleted for s in self.model.shifts.values()))
        @rule(data=st.data())
        def delete_shift(self, data):
            from shiftdesk.scheduling.actions import do_delete_shift

            options = [s for s in self.model.shifts.values() if not s.deleted]
            s = data.draw(st.sampled_from(options), label="shift")
            do_delete_shift(self.shift_obj(s.shift_id), by=self.sync.admin)
            self._model_unassign(s)
            s.deleted = True
            self.note(f"delete shift={s.shift_id}")

        # --- the user's Calendar Sync tab ---------------------------------------------------------------
        @precondition(lambda self: self.model.connected)
        @rule(name=st.sampled_from(CALENDARS))
        def choose_calendar(self, name):
            self._choose(name)
            self.note(f"choose calendar {name}")

        def _choose(self, name: str) -> None:
            from shiftdesk.calendarsync.actions import do_choose_calendars

            cal_id = self.calendars()[name]
            do_choose_calendars(self.connection(), sync_calendar_id=cal_id, sync_calendar_name=name,
                                freebusy_calendar_id=cal_id, freebusy_calendar_name=name)  # fmt: skip
            self.model.calendar = name

        @precondition(lambda self: self.model.connected)
        @rule(option=st.sampled_from(["not_exported", "all"]))
        def export(self, option):
            self._export(option)
            self.note(f"export {option}")

        def _export(self, option: str) -> None:
            from shiftdesk.calendarsync.actions import do_start_export
            from shiftdesk.calendarsync.exports import run_export
            from shiftdesk.calendarsync.models import ExportJob

            value = ExportJob.Option.ALL if option == "all" else ExportJob.Option.NOT_EXPORTED
            job = do_start_export(self.user, option=value, by=self.user)
            run_export(job.id, worker_id="page")  # what the worker's sweep does with a queued job
            for s in self.model.shifts.values():
                if not s.assigned or s.deleted:
                    continue
                if option == "all" or not s.tracked or s.left:
                    s.tracked, s.outlook, s.left, s.user_edited = True, None, False, False

        def has_flagged(self) -> bool:
            return any(s.tracked and not s.left and s.outlook is not None for s in self.model.shifts.values())

        def flagged(self):
            """Links the tab lists under "Deleted or moved in Outlook" (Restore / Leave it), as the model knows
            them (options drawn from the model only, so hypothesis can replay and shrink the same choices; if
            the engine's rows disagree, the invariant says so after the next drain)."""
            from shiftdesk.calendarsync.models import EventLink

            shifts = [
                s.shift_id
                for s in self.model.shifts.values()
                if self.model.connected and s.tracked and not s.left and s.outlook is not None
            ]
            links = {
                link.shift_ref: link
                for link in EventLink.objects.filter(connection__user=self.user, shift_ref__in=shifts)
            }
            return [links[sid] for sid in shifts if sid in links]

        @precondition(lambda self: self.model.connected and self.has_flagged())
        @rule(data=st.data())
        def restore(self, data):
            links = self.flagged()
            link = data.draw(st.sampled_from(links), label="link")
            self._restore(link)
            self.note(f"restore shift={link.shift_ref}")

        def _restore(self, link) -> None:
            from shiftdesk.calendarsync.actions import do_restore_deleted_events

            do_restore_deleted_events(link.connection, link_ids=[link.pk])
            s = self.model.shifts.get(link.shift_ref)
            if s is not None:
                s.outlook = None

        @precondition(lambda self: self.model.connected and self.has_flagged())
        @rule(data=st.data())
        def leave_it(self, data):
            links = self.flagged()
            link = data.draw(st.sampled_from(links), label="link")
            self._leave(link)
            self.note(f"leave shift={link.shift_ref}")

        def _leave(self, link) -> None:
            from shiftdesk.calendarsync.ui_actions import do_leave_deleted_event

            do_leave_deleted_event(link, by=self.user)
            s = self.model.shifts.get(link.shift_ref)
            if s is not None:
                s.left, s.tracked = True, False
                if s.moved_event_id:
                    self.model.left_ids.add(s.moved_event_id)

        @precondition(lambda self: self.model.connected)
        @rule(delete=st.booleans())
        def remove_authorization(self, delete):
            from shiftdesk.calendarsync.actions import do_disconnect_calendar

            self.settle()
            for s in self.model.shifts.values():
                event = self.live_event(s) if self.model.wanted(s) else None
                if event is not None:
                    if delete:
                        self.model.doomed.add(event["id"])
                    else:
                        self.model.dormant[event["id"]] = s.shift_id
                if s.outlook == "moved" and s.moved_event_id:
                    self.model.left_ids.add(s.moved_event_id)  # deleted with the others, or not: both fine
                s.tracked, s.outlook, s.left, s.moved_event_id = False, None, False, ""
            do_disconnect_calendar(self.connection(), delete_future_events=delete)
            self.model.connected = False
            self.note(f"remove authorization delete={delete} (kept {sorted(self.model.dormant)})")

        @precondition(lambda self: not self.model.connected)
        @rule()
        def authorize_again(self):
            self.sync.connect(self.user)  # chooses the default calendar, as Save Calendars would
            self.model.connected = True
            self.model.calendar = "Calendar"
            self.note("authorize again")

        # --- the user in Outlook ----------------------------------------------------------------------
        def _outlook_target(self, data):
            self.settle()  # a converged calendar: the user acts on events they can see
            options = [s for s in self.wanted_shifts() if self.live_event(s) is not None]
            if not options:
                return None, None
            s = data.draw(st.sampled_from(options), label="shift")
            return s, self.live_event(s)

        @precondition(
            lambda self: (
                self.model.connected and any(self.model.wanted(s) for s in self.model.shifts.values())
            )
        )
        @rule(data=st.data(), how=st.sampled_from(["delete", "other_calendar", "other_time", "edit_text"]))
        def user_changes_outlook(self, data, how):
            s, event = self._outlook_target(data)
            if s is None:
                return
            if how == "delete":
                self.sync.user_deletes(self.user, event)
                s.outlook, s.moved_event_id = "deleted", ""
            elif how == "other_calendar":
                target = next(n for n in CALENDARS if n != self.model.calendar)
                self.sync.user_moves(self.user, event, self.calendars()[target])
                s.outlook, s.moved_event_id = "moved", event["id"]
            elif how == "other_time":
                self.sync.user_retimes(self.user, event, hours=2)
                s.outlook, s.moved_event_id = "moved", event["id"]
            else:
                self.sync.user_edits_subject(self.user, event, "Edited in Outlook")
                s.user_edited = True
            self.note(f"user in Outlook: {how} shift={s.shift_id}")
            self.settle()  # verification notices what the user did

        # --- the worker, faults and races -----------------------------------------------------------------
        @rule(faults=st.none() | FAULTS)
        def drain(self, faults):
            self.note(f"drain faults={faults}")
            self.settle(faults)

        @precondition(lambda self: self.model.connected)
        @rule(faults=st.none() | FAULTS)
        def one_step(self, faults):
            """One step only, maybe under faults: the next rules act on a half-done pass (creates whose fate is
            unknown, links left dirty, a long Retry-After stored on the connection)."""
            from shiftdesk.calendarsync.engine import sync_one_connection

            if faults:
                self.sync.faults(**faults)
            try:
                sync_one_connection(self.connection().id, worker_id=WORKER_A)
            finally:
                self.sync.clear_faults()
            self.note(f"one step faults={faults}")

        def _mid_step_action(self, data):
            """A user/admin action, and what it does to the model, for "committed while a step sends"."""
            kinds = ["export_all", "export_new", "choose"]
            if any(not s.deleted for s in self.model.shifts.values()):
                kinds.append("edit")
            if any(not s.assigned and not s.deleted for s in self.model.shifts.values()):
                kinds.append("assign")
            if any(s.assigned for s in self.model.shifts.values()):
                kinds.append("unassign")
            flagged = self.flagged()
            if flagged:
                kinds += ["restore", "leave"]
            kind = data.draw(st.sampled_from(kinds), label="action")
            if kind == "edit":
                s = data.draw(st.sampled_from([s for s in self.model.shifts.values() if not s.deleted]))
                what = data.draw(st.sampled_from(["note", "later"]))
                return kind, lambda: self._edit(s, what)
            if kind in ("export_all", "export_new"):
                return kind, lambda: self._export("all" if kind == "export_all" else "not_exported")
            if kind == "choose":
                name = data.draw(st.sampled_from(CALENDARS))
                return f"choose {name}", lambda: self._choose(name)
            if kind == "assign":
                s = data.draw(
                    st.sampled_from(
                        [s for s in self.model.shifts.values() if not s.assigned and not s.deleted]
                    )
                )
                return f"assign {s.shift_id}", lambda: self._assign(s)
            if kind == "unassign":
                s = data.draw(st.sampled_from([s for s in self.model.shifts.values() if s.assigned]))
                return f"unassign {s.shift_id}", lambda: self._unassign(s)
            link = data.draw(st.sampled_from(flagged))
            if kind == "restore":
                return f"restore {link.shift_ref}", lambda: self._restore(link)
            return f"leave {link.shift_ref}", lambda: self._leave(link)

        @precondition(lambda self: self.model.connected and self.model.shifts)
        @rule(data=st.data())
        def user_acts_while_a_step_sends(self, data):
            """The step planned and sends; its first write waits in Outlook while the action commits."""
            from shiftdesk.calendarsync.engine import sync_one_connection

            label, action = self._mid_step_action(data)
            trigger = hook.arm(Trigger(match=is_event_write, before=action))
            try:
                sync_one_connection(self.connection().id, worker_id=WORKER_A)
            finally:
                hook.disarm()
            _raise_from(trigger)
            if not trigger.fired.is_set():
                action()  # the step wrote nothing: the action simply comes after it
            self.note(f"while a step sends: {label} (landed mid-step: {trigger.fired.is_set()})")

        @precondition(lambda self: self.model.connected and self.model.shifts)
        @rule()
        def lease_runs_out_mid_step(self):
            """Worker A's first write is held until its lease has run out and worker B has drained the
            connection; then A's request goes through and A goes on (a late writer must not win)."""
            from django.conf import settings

            from shiftdesk.calendarsync.engine import sync_one_connection
            from shiftdesk.calendarsync.worker import Worker

            def b_takes_over():
                clock.shift(timedelta(seconds=settings.SYNC_LEASE_SECONDS + 1))
                Worker(concurrency=1, worker_id=WORKER_B).run(once=True)

            trigger = hook.arm(Trigger(match=is_event_write, before=b_takes_over))
            try:
                sync_one_connection(self.connection().id, worker_id=WORKER_A)
            finally:
                hook.disarm()
            _raise_from(trigger)
            self.note(f"lease ran out mid-step (B took over: {trigger.fired.is_set()})")

        @precondition(lambda self: self.model.connected and self.model.shifts)
        @rule()
        def second_worker_steps_concurrently(self):
            """While A's step sends, worker B tries the same connection (the lease must keep it out)."""
            from shiftdesk.calendarsync.engine import sync_one_connection
            from shiftdesk.calendarsync.worker import Worker

            trigger = hook.arm(
                Trigger(
                    match=is_event_write,
                    before=lambda: Worker(concurrency=1, worker_id=WORKER_B).run(once=True),
                )
            )
            try:
                sync_one_connection(self.connection().id, worker_id=WORKER_A)
            finally:
                hook.disarm()
            _raise_from(trigger)
            self.note(f"second worker during a step (overlapped: {trigger.fired.is_set()})")

        @precondition(lambda self: self.model.connected and self.model.shifts and subprocess_env is not None)
        @rule()
        def worker_killed_between_send_and_record(self):
            """A worker process steps the connection; when Outlook has carried out its first create, the process
            is SIGKILLed before the answer reaches it: sent, never recorded, lease left behind."""
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.calendarsync.model_machine", "step", str(self.connection().id)],
                cwd=ROOT, env={**subprocess_env, "MODEL_NOW": _now().isoformat()}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            trigger = hook.arm(Trigger(match=is_event_create, after=lambda: _kill(proc)))
            try:
                out, err = proc.communicate(timeout=120)
            finally:
                hook.disarm()
            _raise_from(trigger)
            killed = trigger.fired.is_set()
            assert killed or proc.returncode == 0, err[-3000:]
            self.note(f"worker killed between send and record (killed: {killed})")

        # --- convergence -------------------------------------------------------------------------------
        def settle(self, faults: dict | None = None) -> None:
            """Workers run until nothing is due, time moving to each backoff, Retry-After or lease; then
            verification (change tracking) looks at Outlook once; then the invariant."""
            from django.conf import settings

            from shiftdesk.calendarsync.worker import Worker

            if faults:
                self.sync.faults(**faults)
            verified = False
            try:
                for _ in range(SETTLE_ROUNDS):
                    Worker(concurrency=1, worker_id=WORKER_A).run(once=True)
                    target = self._next_due()
                    if target is not None:
                        clock.shift(max(target - _now(), timedelta(0)) + timedelta(seconds=1))
                        continue
                    self.sync.clear_faults()
                    if not verified:
                        verified = True
                        clock.shift(timedelta(hours=settings.SYNC_VERIFY_HOURS, minutes=1))
                        continue
                    break
                else:
                    raise AssertionError(f"not converged after {SETTLE_ROUNDS} rounds: {self._state()}")
            finally:
                self.sync.clear_faults()
            self.check()

        def _next_due(self) -> datetime | None:
            """When the connection next has work (None: nothing pending)."""
            from shiftdesk.calendarsync.models import CalendarConnection, EventLink

            conn = self.connection()
            if conn is None:
                return None
            assert conn.status == CalendarConnection.Status.CONNECTED, (conn.status, conn.last_error)
            dirty = EventLink.objects.filter(connection=conn, dirty=True, deleted_in_outlook=False)
            if conn.sync_due_at is None and not dirty.exists():
                return None
            times = [t for t in dirty.values_list("next_attempt_at", flat=True)]
            work = min([t or _now() for t in times] + ([conn.sync_due_at] if conn.sync_due_at else []))
            later = [work]
            if conn.retry_after_until:
                later.append(conn.retry_after_until)
            if conn.lease_owner and conn.lease_expires_at:
                later.append(conn.lease_expires_at)
            return max(later)

        def _state(self) -> str:
            from shiftdesk.calendarsync.models import EventLink

            rows = EventLink.objects.filter(connection__user=self.user).values(
                "shift_ref", "dirty", "tracked", "remote_event_id", "remote_calendar_id", "create_attempted",
                "deleted_in_outlook", "moved_in_outlook", "next_attempt_at", "last_error",
            )  # fmt: skip
            conn = self.connection()
            return json.dumps(
                {
                    "connection": None if conn is None else {
                        "status": conn.status, "due": str(conn.sync_due_at), "retry_after_until": str(conn.retry_after_until),
                        "lease": [conn.lease_owner, str(conn.lease_expires_at)], "calendar": conn.sync_calendar_name,
                    },
                    "links": list(rows),
                },
                default=str,
            )  # fmt: skip

        def check(self) -> None:
            """The invariant, from the emulator's raw mailbox."""
            from shiftdesk.calendarsync.models import EventLink
            from shiftdesk.calendarsync.render import render_event
            from shiftdesk.scheduling.models import Shift, Site
            from shiftdesk.scheduling.snapshots import shift_snapshot

            model = self.model
            calendars = self.calendars()
            names = {v: k for k, v in calendars.items()}
            events = self.ours()
            links = {link.shift_ref: link for link in EventLink.objects.filter(connection__user=self.user)}
            remote_ids = {link.remote_event_id for link in links.values() if link.remote_event_id}
            by_key: dict[str, list[dict]] = {}
            for e in events:
                by_key.setdefault(link_key_of(e), []).append(e)
            site = Site.load()
            problems: list[str] = []
            for s in model.shifts.values():
                mine = by_key.pop(self.key(s.shift_id), [])
                where = [(e["id"][-8:], names.get(e["calendarId"])) for e in mine]
                if model.wanted(s):
                    live = [e for e in mine if e["id"] not in model.left_ids or e["id"] in remote_ids]
                    if len(live) != 1:
                        problems.append(f"shift {s.shift_id} is wanted: {len(live)} events of ours {where}")
                        continue
                    [event] = live
                    if names.get(event["calendarId"]) != model.calendar:
                        problems.append(
                            f"shift {s.shift_id}: event in {names.get(event['calendarId'])}, chosen {model.calendar}"
                        )
                    link = links.get(s.shift_id)
                    if (
                        link is None
                        or link.remote_event_id != event["id"]
                        or link.remote_calendar_id != event["calendarId"]
                    ):
                        problems.append(
                            f"shift {s.shift_id}: link records "
                            f"{(link.remote_event_id[-8:], names.get(link.remote_calendar_id)) if link else None}, "
                            f"event is {(event['id'][-8:], names.get(event['calendarId']))}"
                        )
                    elif link.deleted_in_outlook or link.moved_in_outlook or link.dirty:
                        problems.append(
                            f"shift {s.shift_id}: link deleted={link.deleted_in_outlook} moved={link.moved_in_outlook} "
                            f"dirty={link.dirty} ({link.moved_in_outlook_reason})"
                        )
                    if not s.user_edited:
                        content = render_event(
                            shift_snapshot(Shift.objects.get(pk=s.shift_id), time_zone=site.time_zone),
                            reminder_minutes=site.reminder_minutes,
                        )
                        shift = Shift.objects.get(pk=s.shift_id)
                        if (
                            event["subject"] != content.subject
                            or event["location"] != content.location
                            or abs((_instant(event["start"]) - shift.start).total_seconds()) > 1
                            or abs((_instant(event["end"]) - shift.end).total_seconds()) > 1
                        ):
                            problems.append(
                                f"shift {s.shift_id}: stale event {event['subject']!r} {event['location']!r} "
                                f"{event['start']} (want {content.subject!r} {content.location!r} {shift.start})"
                            )
                    continue
                for e in mine:
                    allowed = (
                        e["id"] in model.left_ids
                        or e["id"] in model.dormant
                        or (s.outlook == "moved" and e["id"] == s.moved_event_id)
                    )
                    if not allowed or e["id"] in model.doomed:
                        problems.append(
                            f"shift {s.shift_id} is not wanted: event {e['id'][-8:]} in {names.get(e['calendarId'])}"
                        )
                if s.outlook == "moved" and s.assigned and s.tracked and model.connected:
                    if not any(e["id"] == s.moved_event_id for e in mine):
                        problems.append(f"shift {s.shift_id}: the event the user moved is gone")
                    link = links.get(s.shift_id)
                    if link is not None and not link.moved_in_outlook:
                        problems.append(f"shift {s.shift_id}: the user moved it; the link does not say so")
                if s.outlook == "deleted" and s.assigned and s.tracked and model.connected:
                    link = links.get(s.shift_id)
                    if link is not None and not link.deleted_in_outlook:
                        problems.append(f"shift {s.shift_id}: the user deleted it; the link does not say so")
            for key, stray in by_key.items():
                problems.append(f"event of ours for no shift of the model: {key} x{len(stray)}")
            if problems:
                self.failed = True
            if problems:
                problems.append(
                    f"model: left={sorted(model.left_ids)} dormant={model.dormant} doomed={sorted(model.doomed)} "
                    f"events={[(e['id'], names.get(e['calendarId']), link_key_of(e)) for e in events]}"
                )
            if problems:
                problems.insert(0, f"example {Counter.examples}:")
            assert not problems, "\n".join(problems + ["steps:"] + self.log + ["engine:", self._state()])

        def teardown(self) -> None:
            """Every example ends with a drain and the invariant (whatever its last rule was)."""
            hook.disarm()
            try:
                if not self.failed:
                    self.failed = True  # a failure in the final drain must not be checked twice
                    self.log.append("final drain")
                    self.settle()
            finally:
                if os.environ.get("MODEL_TRACE"):
                    print("example:", " | ".join(self.log), flush=True)
                clock.stop()
                self.sync.clear_faults()

    return ShiftDeskModel


def _raise_from(trigger: Trigger) -> None:
    if trigger.errors:
        raise trigger.errors[0]


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _now() -> datetime:
    from django.utils import timezone

    return timezone.now()


def _instant(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _clear_database() -> None:
    """A fresh world for each example (the test runs with committed transactions: threads see each other)."""
    from shiftdesk.accounts.models import User
    from shiftdesk.calendarsync.models import CalendarConnection, ExportJob, RetiringConnection
    from shiftdesk.scheduling.models import Assignment, Position, Schedule, Shift

    RetiringConnection.objects.all().delete()
    ExportJob.objects.all().delete()
    CalendarConnection.objects.all().delete()
    Assignment.objects.all().delete()
    Shift.objects.all().delete()
    Schedule.objects.all().delete()
    Position.objects.all().delete()
    User.objects.exclude(email="alice@example.org").delete()


def seed_world(emulator, provider: str = "microsoft") -> None:
    """The emulator emptied, faults off, and the provider's world of one staff user seeded."""
    if provider == "google":
        from shiftdesk.google.models import redirect_url as google_redirect_url

        control = google_control(emulator)
        control.post("/reset").raise_for_status()
        control.delete("/faults").raise_for_status()
        control.post("/seed", json=google_world_spec(1, google_redirect_url())).raise_for_status()
        return
    from shiftdesk.microsoft.models import redirect_url

    emulator.reset()
    emulator.control.delete("/faults")
    emulator.seed(world_spec(1, redirect_url()))


def subprocess_environment(emulator, database_name: str, vendor: str, settings_dict: dict) -> dict:
    """The environment of a worker process on the test's own database and emulator."""
    from django.conf import settings

    if vendor == "postgresql":
        s = settings_dict
        url = f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{database_name}"
    else:
        url = f"sqlite:///{database_name}"
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="shiftdesk.settings",
        MICROSOFT_LOGIN_URL=emulator.base_url,
        MICROSOFT_GRAPH_URL=emulator.base_url,
        MICROSOFT_CA_BUNDLE=emulator.ca_file,
        GOOGLE_ACCOUNTS_URL=emulator.base_url + "/google",
        GOOGLE_OAUTH_URL=emulator.base_url + "/google",
        GOOGLE_API_URL=emulator.base_url + "/google",
        GOOGLE_CA_BUNDLE=emulator.ca_file,
        SHIFTDESK_SYNC_GOOGLE_BATCH_SIZE=str(settings.SYNC_GOOGLE_BATCH_SIZE),
        SHIFTDESK_SYNC_LEASE_SECONDS=str(settings.SYNC_LEASE_SECONDS),
        SHIFTDESK_SYNC_STEP_MAX_LINKS=str(settings.SYNC_STEP_MAX_LINKS),
        SHIFTDESK_SYNC_BACKOFF_BASE_SECONDS="0",
        SHIFTDESK_SYNC_SAFETY_BRAKE_MIN_DELETES=str(settings.SYNC_SAFETY_BRAKE_MIN_DELETES),
        PYTHONPATH=str(ROOT),
        LOG_LEVEL="WARNING",
    )
    return env


if __name__ == "__main__" and sys.argv[1:2] == ["step"]:
    # The killed worker: one step of one connection, as `syncworker` would run it.
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shiftdesk.settings")
    django.setup()
    import time_machine

    from shiftdesk.calendarsync.engine import sync_one_connection

    with time_machine.travel(datetime.fromisoformat(os.environ["MODEL_NOW"]), tick=True):  # the test's clock
        sync_one_connection(int(sys.argv[2]), worker_id="model-worker-killed")
