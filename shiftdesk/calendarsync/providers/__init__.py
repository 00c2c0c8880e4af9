"""Calendar providers the sync engine writes through (Graph, later EWS), loaded by name from settings."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from shiftdesk.calendarsync.providers.base import ProviderBackend


@cache
def get_backend(name: str) -> ProviderBackend:
    """The backend registered for a connection's `provider` in settings.SYNC_PROVIDERS."""
    return import_string(settings.SYNC_PROVIDERS[name])()
