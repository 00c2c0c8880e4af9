"""Fixtures of the security tests: the scheduling world and the Password Authentication emulator."""

from tests.exchange.conftest import emulator  # noqa: F401  (pytest fixture; emulator_server is tests/conftest.py's)
from tests.scheduling.conftest import future_start, position, schedule, shift, site  # noqa: F401
