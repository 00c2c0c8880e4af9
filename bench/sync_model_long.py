"""The long profile of the model-based proof (issue 12, item 9): the same state machine as
tests/calendarsync/test_model_based.py, run in seeded rounds for N minutes against the real emulator.

    .venv/bin/python bench/sync_model_long.py [--minutes 30] [--seed 12] [--provider microsoft|google]
        [--database-url postgres://…]

Prints, after every round, the examples run so far; at the end "PASSED <n> examples" or hypothesis's shrunk
counterexample (the steps, the broken invariant and the engine's rows) and exits non-zero. Round k uses seed
`--seed + k`, so a failure is replayed with the same --seed (and as many minutes).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--provider", choices=["microsoft", "google"], default="microsoft")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    args = parser.parse_args()
    env = dict(os.environ, LOG_LEVEL="ERROR", MODEL_PROFILE="long", MODEL_MINUTES=str(args.minutes), MODEL_SEED=str(args.seed),
               PYTHONPATH=str(ROOT))  # fmt: skip
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    started = time.monotonic()
    # pytest runs it so the test's fixtures (test database, emulator, Azure AD app) are the same; no per-test
    # timeout (the profile stops itself after --minutes, plus the last round).
    command = [sys.executable, "-m", "pytest", f"tests/calendarsync/test_model_based.py::test_outlook_converges_under_any_interleaving[{args.provider}]", "-q", "-s",
               "-p", "no:cacheprovider", "-o", "timeout=0", "-W", "ignore::UserWarning",
               "--log-level=ERROR"]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, env=env)
    print(
        f"sync_model_long: exit {result.returncode} after {(time.monotonic() - started) / 60:.1f} min",
        flush=True,
    )
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
