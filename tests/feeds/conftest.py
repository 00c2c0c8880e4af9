"""Feed fixtures: a Chicago site, bob on a schedule with a shift, and the scheduling fixtures reused."""

from tests.scheduling.conftest import (  # noqa: F401  (pytest fixtures)
    future_start,
    other_schedule,
    position,
    schedule,
    shift,
    site,
)
