"""Free/busy of Password Authentication (EWS) users: the Exchange tests' emulator fixtures (its EWS side)."""

# ruff: noqa: F401 - fixtures re-exported for this directory
from tests.exchange.conftest import connect, emulator, emulator_server
