"""Accounts test fixtures (the personas come from tests/conftest.py)."""

from tests.scheduling.conftest import (  # noqa: F401
    future_start,
    position,
    recorder,
    schedule,
    shift,
    site,
)
