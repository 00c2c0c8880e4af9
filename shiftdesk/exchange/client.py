"""Reaching an Exchange server through EWS with exchangelib: where the server is, how TLS is trusted, the
"test the connection first" check behind Save, and the failures put into words.

Reads the settings EXCHANGE_CA_BUNDLE (else MICROSOFT_CA_BUNDLE, else the system trust store),
HTTP_TIMEOUT_SECONDS and, through network.py, the allow-list of servers. TLS verification is never turned off:
exchangelib builds its HTTP adapters from BaseProtocol.HTTP_ADAPTER_CLS, which we point at network.py's
adapter (it verifies against that bundle, and connects only to a checked address). Only https server addresses are accepted: the password travels in every request (Basic) or proves
itself to the server (NTLM), and neither should cross the network in clear.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import requests
from django.conf import settings
from exchangelib import BASIC, DELEGATE, NTLM, Account, Build, Configuration, Credentials, FailFast, Version
from exchangelib.errors import (
    ErrorAccessDenied,
    ErrorFolderNotFound,
    ErrorImpersonateUserDenied,
    ErrorMailboxStoreUnavailable,
    ErrorNonExistentMailbox,
    ErrorServerBusy,
    EWSError,
    RateLimitError,
    TransportError,
    UnauthorizedError,
)
from exchangelib.folders import DEEP, SingleFolderQuerySet
from exchangelib.protocol import BaseProtocol
from exchangelib.transport import get_auth_method_from_response

from shiftdesk.exchange.network import NotAllowedByName, PinnedAddressAdapter, use_current_policy

log = logging.getLogger(__name__)
EWS_PATH = "/EWS/Exchange.asmx"


def ca_bundle() -> str | bool:
    return getattr(settings, "EXCHANGE_CA_BUNDLE", "") or settings.MICROSOFT_CA_BUNDLE or True


def install_adapter() -> None:
    """exchangelib builds its HTTP adapters from BaseProtocol.HTTP_ADAPTER_CLS: every EWS request of ours goes
    through PinnedAddressAdapter (allow-list, checked address, our CA bundle, short connect timeout)."""
    BaseProtocol.HTTP_ADAPTER_CLS = PinnedAddressAdapter
    BaseProtocol.TIMEOUT = int(settings.HTTP_TIMEOUT_SECONDS)


class ExchangeError(Exception):
    """A failure in words for the user. kind: unreachable | tls | unauthorized | no_mailbox | access_denied |
    ews_disabled | not_ews | busy | other."""

    def __init__(self, message: str, kind: str = "other", *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message


# One answer for every server that cannot be used before sign-in: nothing listening, an address that is not
# allowed, no answer in time, a TLS failure, something other than EWS. Telling them apart would let any staff
# user map the network from ShiftDesk's position (issue 11: closed vs open vs silent ports, HTTP statuses).
UNREACHABLE = (
    "The Exchange server could not be reached at this address (host unreachable): nothing answered, the "
    "address is not allowed on this ShiftDesk site, or a TLS problem stopped the connection. Check the Server "
    "Address, or ask your ShiftDesk administrator."
)


def unreachable() -> ExchangeError:
    return ExchangeError(UNREACHABLE, "unreachable")


def service_endpoint(server: str) -> str:
    """The EWS URL from what the user typed: "mail.example.org", "https://mail.example.org" or the full URL.
    Any text gives either a URL or ExchangeError (never another exception: this is user input)."""
    text = server.strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ExchangeError("Enter the server address, e.g. mail.example.org.", "other")
    if "://" not in text:
        text = "https://" + text
    invalid = ExchangeError("Enter the server address, e.g. mail.example.org.", "other")
    try:
        parts = urlsplit(text)
        port = parts.port  # ValueError for "host:abc", "host:-1", "host:99999"
        host = parts.hostname
    except ValueError:
        raise invalid from None
    if parts.scheme.lower() != "https":
        raise ExchangeError("The server address must use https:// (the password must not travel in clear).",
                            "other")  # fmt: skip
    if not host or port == 0 or any(c in host for c in " \t\r\n\x00%/@"):
        raise invalid
    if not host.isascii():
        # What requests would send on the wire; a label IDNA refuses is refused here, in words.
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise invalid from None
    if ":" not in host and any(not label or len(label) > 63 for label in host.split(".")):
        raise invalid
    netloc = f"[{host}]" if ":" in host else host
    netloc += f":{port}" if port is not None else ""
    path = parts.path if parts.path not in ("", "/") else EWS_PATH
    return urlunsplit(("https", netloc, path, "", ""))


def refuse_unlisted_server(endpoint: str) -> None:
    """The allow-list by name, before anything leaves ShiftDesk. Saying so is safe: no lookup was made."""
    policy = use_current_policy()  # read now; the connections of this check use it (network.py)
    host = urlsplit(endpoint).hostname or ""
    if not policy.name_allowed(host):
        named = ", ".join(policy.names)
        raise ExchangeError(f"This ShiftDesk site does not connect to {host}. Allowed servers: {named}.",
                            "not_allowed")  # fmt: skip


@dataclass(frozen=True)
class ServerSettings:
    endpoint: str
    username: str
    email: str
    auth_type: str = ""  # "NTLM" or "basic"; "" = ask the server
    version: str = ""  # "15.1.2507.6"; "" = let exchangelib probe

    def as_dict(self) -> dict:
        return {"server": self.endpoint, "username": self.username, "email": self.email,
                "auth_type": self.auth_type, "version": self.version}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict) -> ServerSettings:
        return cls(data.get("server", ""), data.get("username", ""), data.get("email", ""),
                   data.get("auth_type", ""), data.get("version", ""))  # fmt: skip


def account_for(server: ServerSettings, password: str) -> Account:
    """An exchangelib Account. With auth_type and version known no probe request is made. The allow-list is
    read here, in the caller's thread, for the connections the account makes (network.py)."""
    install_adapter()
    use_current_policy()
    version = None
    if server.version:
        major, minor, build, revision = (int(x) for x in server.version.split("."))
        version = Version(build=Build(major, minor, build, revision))
    config = Configuration(
        service_endpoint=server.endpoint,
        credentials=Credentials(server.username, password),
        auth_type=server.auth_type or None,
        version=version,
        retry_policy=FailFast(),
        max_connections=4,
    )
    return Account(server.email, config=config, autodiscover=False, access_type=DELEGATE)


def preflight(endpoint: str) -> str:
    """One unauthenticated POST: is there an EWS here, can TLS be trusted, which auth does it offer?
    Every way of not finding an EWS gives the one UNREACHABLE answer (see above); only a 403, which Exchange
    answers when EWS is turned off, is said in its own words."""
    install_adapter()
    use_current_policy()
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE and proxies from the environment must not apply
    session.mount("https://", PinnedAddressAdapter())
    session.mount("http://", PinnedAddressAdapter())  # refuses: https only
    try:
        response = session.post(endpoint, data=b"", headers={"Content-Type": "text/xml; charset=utf-8"},
                                timeout=settings.HTTP_TIMEOUT_SECONDS, allow_redirects=False)  # fmt: skip
    except NotAllowedByName:
        raise unreachable() from None
    except requests.exceptions.RequestException as exc:
        log.info("EWS preflight failed: %s", type(exc).__name__)
        raise unreachable() from None
    finally:
        session.close()
    if response.status_code == 403:
        raise ExchangeError("Exchange Web Services (EWS) is disabled on this server.", "ews_disabled")
    # 500: some Exchange servers answer an empty POST so; anything else here is not an EWS.
    if response.status_code not in (200, 401, 500):
        raise unreachable()
    try:
        auth = get_auth_method_from_response(response)
    except UnauthorizedError:
        raise unreachable() from None
    return NTLM if auth == NTLM else BASIC


def check_connection(server: str, username: str, password: str, email: str) -> tuple[ServerSettings, list]:
    """Save's test: reach the server, sign in, open the mailbox's calendar folders. Returns the settings to
    store (with the negotiated auth type and server version, so sync makes no probe requests) and the
    calendars. Raises ExchangeError in words."""
    endpoint = service_endpoint(server)
    refuse_unlisted_server(endpoint)
    auth_type = preflight(endpoint)
    settings_ = ServerSettings(endpoint, username.strip(), email.strip(), auth_type, "")
    try:
        with translate_errors(settings_):
            account = account_for(settings_, password)
            calendars = list_calendar_folders(account)
            build = account.version.build
            version = f"{build.major_version}.{build.minor_version}.{build.major_build}.{build.minor_build}"
    except ExchangeError as exc:
        if exc.kind in ("unreachable", "tls", "not_ews"):
            raise unreachable() from None  # the same answer as the preflight's (see UNREACHABLE)
        raise
    return ServerSettings(endpoint, settings_.username, settings_.email, auth_type, version), calendars


def list_calendar_folders(account: Account) -> list:
    """The default Calendar and its subfolders (where Outlook keeps other calendars): (folder, is_default)."""
    default = account.calendar
    # One FindFolder (Deep) under Calendar, not a walk of the whole mailbox's folder tree.
    below = SingleFolderQuerySet(account=account, folder=default).depth(DEEP).all()
    return [(default, True)] + [
        (f, False) for f in below if getattr(f, "folder_class", "") == "IPF.Appointment"
    ]


@contextlib.contextmanager
def translate_errors(server: ServerSettings) -> Iterator[None]:
    """Turn exchangelib's and the network's exceptions into ExchangeError with words a user can act on.
    Anything else (a bug of ours) propagates as it is."""
    try:
        yield
    except Exception as exc:
        if not is_exchange_failure(exc):
            raise
        raise describe(exc, server) from None


def is_exchange_failure(exc: BaseException) -> bool:
    """exchangelib's own errors and network failures (not our bugs, which must stay loud)."""
    return isinstance(exc, EWSError | requests.exceptions.RequestException)


def _transport_failure(text: str) -> ExchangeError:
    """exchangelib reports HTTP failures as text ("Unknown failure in response. Code: 403 headers: ...",
    "Caused by HTTP 503 response"): read the status code from where it puts it, never from anywhere else."""
    found = re.search(r"\bCode: (\d{3})\b", text) or re.search(r"\bHTTP (\d{3}) response\b", text)
    status = int(found.group(1)) if found else 0
    if status == 403:
        return ExchangeError("Exchange Web Services (EWS) is disabled for this mailbox.", "ews_disabled")
    if status == 429:
        return ExchangeError("The Exchange server is busy (HTTP 429); ShiftDesk will try again.", "busy",
                             retry_after=5.0)  # fmt: skip
    if status >= 500:
        return ExchangeError(f"The Exchange server had a temporary problem (HTTP {status}); ShiftDesk will try "
                             "again.", "unavailable")  # fmt: skip
    if status:
        return ExchangeError(f"The Exchange server answered HTTP {status}.", "other")
    upper = text.upper()
    if "CERTIFICATE" in upper or "SSL" in upper:
        return ExchangeError("The server's TLS certificate could not be verified (a TLS problem).", "tls")
    return ExchangeError("The Exchange server could not be reached (host unreachable).", "unreachable")


def describe(exc: BaseException, server: ServerSettings) -> ExchangeError:
    email = server.email
    if isinstance(exc, UnauthorizedError):
        return ExchangeError(
            "The server refused the username or password: wrong credentials (401).", "unauthorized"
        )
    if isinstance(exc, ErrorNonExistentMailbox):
        return ExchangeError(f"The server has no mailbox with the address {email} (mailbox not found).",
                             "no_mailbox")  # fmt: skip
    if isinstance(exc, ErrorAccessDenied | ErrorImpersonateUserDenied):
        return ExchangeError(f"The account {server.username} may not open the mailbox {email} (access denied).",
                             "access_denied")  # fmt: skip
    if isinstance(exc, ErrorFolderNotFound):
        return ExchangeError("The calendar folder was not found in the mailbox.", "not_found")
    if isinstance(exc, ErrorServerBusy | RateLimitError):
        back_off = getattr(exc, "back_off", None)
        return ExchangeError("The Exchange server is busy (ErrorServerBusy); ShiftDesk will try again.",
                             "busy", retry_after=back_off or 30.0)  # fmt: skip
    if isinstance(exc, ErrorMailboxStoreUnavailable):
        return ExchangeError("The mailbox database is unavailable right now; ShiftDesk will try again.", "busy",
                             retry_after=60.0)  # fmt: skip
    if isinstance(exc, TransportError):
        return _transport_failure(str(exc))
    if isinstance(exc, EWSError):
        return ExchangeError(f"The Exchange server answered with an error: {type(exc).__name__}.", "other")
    if isinstance(exc, requests.exceptions.RequestException):
        return ExchangeError("The Exchange server could not be reached (host unreachable).", "unreachable")
    log.warning("unexpected EWS failure: %s", type(exc).__name__)
    return ExchangeError(f"The Exchange server could not be used ({type(exc).__name__}).", "other")
