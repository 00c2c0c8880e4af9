"""Every benchmark under bench/ runs to the end, at a tiny size, and prints its figures: the README's figures come
from these scripts, and one that stops working goes unnoticed until someone wants a figure (bench/week_grid.py
answered 400 from the day DEBUG became off by default: its test client named the host "testserver").

Each runs as an operator would start it, in an environment without ShiftDesk's settings (DEBUG off, the demo
defaults) and without DATABASE_URL: a bench makes its own throwaway database, and on PostgreSQL it would be
named like the test suite's own."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.ops.conftest import ROOT, clean_env

BENCHES = {
    "week_grid": (["--runs", "2", "--staff", "12", "--shifts", "60"], "queries: 9 with 10 staff"),
    "busy_refresh": (["--users", "5"], "ratio"),
    "emulator_throughput": (["--seconds", "1", "--connections", "2"], "requests/second"),
    "sync_bulk": (["--users", "4", "--shifts", "3", "--trickle-seconds", "2"], "assignment-to-event latency"),
}


@pytest.mark.slow
@pytest.mark.parametrize("bench", list(BENCHES))
def test_the_benchmark_runs_and_prints_its_figures(bench):
    args, figure = BENCHES[bench]
    done = subprocess.run(
        [sys.executable, f"bench/{bench}.py", *args],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert figure in done.stdout, done.stdout[-2000:]
