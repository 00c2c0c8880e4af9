"""The one place outgoing HTTP clients are built: timeouts, base URLs and the CA bundle come from settings.

Every call ShiftDesk makes to Microsoft (MSAL's token requests, Graph) goes through a client made here, so
tests point the whole app at the emulator by settings alone, and a transport can be injected.
"""

from __future__ import annotations

import functools
import os
import ssl
from typing import Any

import httpx
import requests
from django.conf import settings


def _verify() -> str | bool:
    # A configured bundle, or the default trust store. Never False: we do not turn verification off.
    return settings.MICROSOFT_CA_BUNDLE or True


def _file_stamp(path: str | None) -> tuple[int, int] | None:
    try:
        stat = os.stat(path) if path else None
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size) if stat else None


@functools.lru_cache(maxsize=16)
def _cached_context(bundle: str, stamp: tuple[int, int] | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=bundle) if bundle else ssl.create_default_context()


def _shared_context(bundle: str) -> ssl.SSLContext:
    """One verifying context per CA bundle (or the default trust store), made again when the file changes.
    Building one loads and parses the whole bundle (milliseconds, for every client); an SSLContext may be
    shared by clients and threads. The only change made to it later is httpcore setting the ALPN protocols
    on each connection, the same ["http/1.1"] for every client here (none asks for HTTP/2)."""
    path = bundle or ssl.get_default_verify_paths().cafile
    return _cached_context(bundle, _file_stamp(path))


def ssl_context() -> ssl.SSLContext:
    return _shared_context(settings.MICROSOFT_CA_BUNDLE or "")


def graph_client(*, transport: httpx.BaseTransport | None = None, **kwargs: Any) -> httpx.Client:
    """A synchronous httpx client for Graph (base URL = MICROSOFT_GRAPH_URL + /v1.0)."""
    return httpx.Client(
        base_url=settings.MICROSOFT_GRAPH_URL + "/v1.0",
        verify=ssl_context(),
        timeout=settings.HTTP_TIMEOUT_SECONDS,
        transport=transport,
        **kwargs,
    )


def async_graph_client(
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verify: ssl.SSLContext | None = None,
    **kwargs: Any,
) -> httpx.AsyncClient:
    """An async httpx client for Graph, for the sync worker's concurrent per-mailbox requests. `verify`: an
    ssl_context() to share between clients (making one loads the CA bundle: milliseconds each)."""
    return httpx.AsyncClient(
        base_url=settings.MICROSOFT_GRAPH_URL + "/v1.0",
        verify=verify if verify is not None else ssl_context(),
        timeout=settings.HTTP_TIMEOUT_SECONDS,
        transport=transport,
        **kwargs,
    )


class _TimeoutSession(requests.Session):
    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", settings.HTTP_TIMEOUT_SECONDS)
        return super().request(*args, **kwargs)


def msal_http_session() -> requests.Session:
    """A requests.Session for MSAL's `http_client=`.

    trust_env=False: otherwise REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE in the environment silently override
    `verify`, and proxies from the environment apply (see shared/reference pitfalls).
    """
    session = _TimeoutSession()
    session.trust_env = False
    session.verify = _verify()
    return session


# --- Google (shiftdesk/google): the same rules, Google's CA bundle setting ---------------------------------
def _google_verify() -> str | bool:
    return settings.GOOGLE_CA_BUNDLE or True  # never False


def google_ssl_context() -> ssl.SSLContext:
    return _shared_context(settings.GOOGLE_CA_BUNDLE or "")


def configure_google_session(session: requests.Session) -> requests.Session:
    """Make a requests.Session Google's OAuth library was given (google-auth-oauthlib's OAuth2Session) trust
    GOOGLE_CA_BUNDLE, with trust_env off for the same reason as msal_http_session."""
    session.trust_env = False
    session.verify = _google_verify()
    return session


def google_http_session() -> requests.Session:
    """A requests.Session for Google's OAuth endpoints (token, revoke, JWKS) and google-auth's Request."""
    return configure_google_session(_TimeoutSession())


def google_client(*, transport: httpx.BaseTransport | None = None, **kwargs: Any) -> httpx.Client:
    """A synchronous httpx client for Google (base URL = GOOGLE_API_URL)."""
    return httpx.Client(
        base_url=settings.GOOGLE_API_URL,
        verify=google_ssl_context(),
        timeout=settings.HTTP_TIMEOUT_SECONDS,
        transport=transport,
        **kwargs,
    )


def async_google_client(
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verify: ssl.SSLContext | None = None,
    **kwargs: Any,
) -> httpx.AsyncClient:
    """An async httpx client for the Google Calendar API (base URL = GOOGLE_API_URL), for the sync worker."""
    return httpx.AsyncClient(
        base_url=settings.GOOGLE_API_URL,
        verify=verify if verify is not None else google_ssl_context(),
        timeout=settings.HTTP_TIMEOUT_SECONDS,
        transport=transport,
        **kwargs,
    )
