"""Fixtures of the security tests: the scheduling world and the Password Authentication emulator."""

from tests.exchange.conftest import emulator, emulator_server  # noqa: F401  (pytest fixtures)
from tests.scheduling.conftest import future_start, position, schedule, shift, site  # noqa: F401
