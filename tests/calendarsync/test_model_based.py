"""Item 9 of issue 12: the model-based proof that Outlook converges (the machine is in model_machine.py).

The bounded profile runs in the normal suite: a few derandomized examples of up to 20 steps. The long profile
is `bench/sync_model_long.py` (it runs this test with MODEL_PROFILE=long: seeded rounds for N minutes, printing
the example count and any counterexample).
"""

from __future__ import annotations

import os
import time

import pytest
from django.db import connection
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.calendarsync.conftest import Sync
from tests.calendarsync.model_hooks import RequestHook
from tests.calendarsync.model_machine import Clock, Counter, build_machine, subprocess_environment

pytestmark = pytest.mark.django_db(transaction=True)

BOUNDED = settings(
    max_examples=int(os.environ.get("MODEL_MAX_EXAMPLES", "4")),
    stateful_step_count=20,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    # MODEL_NO_SHRINK=1: report the first failing example as it ran (shrinking replays many examples).
    phases=[Phase.generate] if os.environ.get("MODEL_NO_SHRINK") else list(Phase),
)


@pytest.fixture
def model_settings(settings):
    settings.SYNC_STEP_MAX_LINKS = 3  # several steps per drain: more moments for races and faults
    settings.SYNC_GRAPH_BATCH_SIZE = 2  # two $batch lanes per step: one lane's Retry-After stops the other
    settings.SYNC_SAFETY_BRAKE_MIN_DELETES = 10_000  # the brake has tests of its own
    settings.SYNC_VERIFY_HOURS = 1
    settings.SYNC_DELTA_MINUTES = 1
    settings.SYNC_LEASE_SECONDS = 60
    settings.SYNC_INLINE_RETRY_AFTER_MAX_SECONDS = 5  # the faults' Retry-After (30, 120) is above it
    return settings


def test_outlook_converges_under_any_interleaving(azure, emulator, alice, model_settings, monkeypatch):
    hook = RequestHook()
    hook.install(monkeypatch)
    clock = Clock()
    db = connection.settings_dict
    env = subprocess_environment(emulator, db["NAME"], connection.vendor, db)
    machine = build_machine(lambda: Sync(emulator, azure, alice), emulator, hook, clock, env)
    profile = os.environ.get("MODEL_PROFILE", "bounded")
    try:
        if profile != "long":
            # A fixed seed (not derandomize, whose examples stay tiny): the same examples every run.
            run_state_machine_as_test(
                seed(int(os.environ.get("MODEL_SEED", "20261204")))(lambda: machine()), settings=BOUNDED
            )
            print(f"model bounded profile: {Counter.examples} examples, {Counter.steps} rule steps")
            assert Counter.steps > Counter.examples  # the machine really ran rules
            return
        minutes = float(os.environ.get("MODEL_MINUTES", "30"))
        base_seed = int(os.environ.get("MODEL_SEED", "12"))
        deadline = time.monotonic() + minutes * 60
        rounds = 0
        started = time.monotonic()
        while time.monotonic() < deadline:
            seeded = seed(base_seed + rounds)(lambda: machine())
            try:
                run_state_machine_as_test(
                    seeded,
                    settings=settings(
                        max_examples=5, stateful_step_count=30, deadline=None, database=None,
                        suppress_health_check=list(HealthCheck),
                        phases=[Phase.generate, Phase.shrink, Phase.explain],
                    ),
                )  # fmt: skip
            finally:
                rounds += 1
                print(
                    f"model long profile: round {rounds} seed {base_seed + rounds - 1} done; "
                    f"examples {Counter.examples}, rule steps {Counter.steps}, "
                    f"{(time.monotonic() - started) / 60:.1f} min",
                    flush=True,
                )
        print(f"model long profile: PASSED {Counter.examples} examples in {rounds} rounds", flush=True)
    finally:
        clock.stop()
