"""Where Password Authentication may connect, and the HTTP adapter that connects only there.

Any logged-in user types the Exchange server address, so without care the server would connect wherever they
say (SSRF: internal hosts, cloud metadata, port scans). The rules:

- The allow-list is EXCHANGE_ALLOWED_HOSTS (environment) plus Admin > Integrations > Password Authentication's
  "Allowed Exchange servers" field, one entry per line or comma. An entry is a host name (mail.example.org),
  a domain wildcard (*.example.org), an IP address or a network (10.20.0.0/16).
- Names: when the list holds any name entry, the server's host must match one (an IP literal typed by the user
  matches when it lies in an address/network entry). With no name entry any host name is accepted.
- Addresses: the host is resolved and every address must be public (Python's ipaddress `is_global`, and not
  multicast). Loopback, private, link-local, multicast, unspecified and reserved addresses are refused unless
  an address/network entry contains them. A name entry never opens a non-public address: whoever controls that
  name's DNS could point it anywhere.
- The connection goes to the address that was checked: PinnedAddressAdapter resolves and checks at connect time
  and hands urllib3 the address itself, with the host name kept for SNI and certificate verification (so DNS
  rebinding between a check and the connection has nothing to rebind).
- A short connect timeout (EXCHANGE_CONNECT_TIMEOUT_SECONDS) so an unanswering address does not hold a web worker.
"""

from __future__ import annotations

import ipaddress
import socket
from contextvars import ContextVar
from dataclasses import dataclass, field

import requests
import requests.adapters
from django.conf import settings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(requests.exceptions.ConnectionError):
    """The server's host is not allowed, does not resolve, or resolves to an address that is not allowed.
    A ConnectionError, so every caller treats it exactly like a host that cannot be reached."""


class NotAllowedByName(AddressRefused):
    """The host name is not on the list of allowed servers (no lookup was made)."""


def parse_entries(text: str | list[str]) -> list[str]:
    """Entries from "a, b" / one per line / a list; blank ones dropped, lowercased."""
    items = text if isinstance(text, list) else text.replace(",", "\n").splitlines()
    return [item.strip().lower().rstrip(".") for item in items if item.strip()]


def entry_error(entry: str) -> str:
    """Why an allow-list entry is invalid ("" when it is fine), for the admin form."""
    if "/" in entry or _is_ip(entry):
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return f"{entry} is not an IP address or network."
        return ""
    name = entry.removeprefix("*.")
    labels = name.split(".")
    if not name or any(not label or len(label) > 63 for label in labels) or len(name) > 253:
        return f"{entry} is not a host name (mail.example.org, *.example.org, 10.0.0.5 or 10.0.0.0/8)."
    if any(not all(c.isascii() and (c.isalnum() or c == "-") for c in label) for label in labels):
        return f"{entry} is not a host name (letters, digits and hyphens; write other scripts as xn--)."
    return ""


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Policy:
    names: tuple[str, ...] = ()  # "mail.example.org" or "*.example.org"
    networks: tuple[IPNetwork, ...] = field(default_factory=tuple)

    @classmethod
    def from_entries(cls, entries: list[str]) -> Policy:
        names, networks = [], []
        for entry in entries:
            if entry_error(entry):
                continue  # the admin form refuses these; a bad environment entry must not widen anything
            if "/" in entry or _is_ip(entry):
                networks.append(ipaddress.ip_network(entry, strict=False))
            else:
                names.append(entry)
        return cls(tuple(names), tuple(networks))

    def name_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        if _is_ip(host):
            # An address typed by the user: allowed by name when it is listed, or when no names restrict.
            return not self.names or self.in_networks(ipaddress.ip_address(host))
        if not self.names:
            return True
        for name in self.names:
            if name.startswith("*.") and host.endswith(name[1:]) and host != name[2:]:
                return True
            if host == name:
                return True
        return False

    def in_networks(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.networks)

    def address_allowed(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        if self.in_networks(address):
            return True
        return address.is_global and not address.is_multicast


def current_policy() -> Policy:
    """The allow-list in force: the environment's entries and the admin's (a plain read: no get_or_create)."""
    from shiftdesk.exchange.models import ExchangeSettings

    entries = parse_entries(list(settings.EXCHANGE_ALLOWED_HOSTS))
    stored = ExchangeSettings.objects.filter(pk=1).values_list("allowed_hosts", flat=True).first()
    return Policy.from_entries(entries + parse_entries(stored or ""))


# The adapter runs inside exchangelib, for the sync engine in asyncio.to_thread's worker threads, where a
# database read would open a connection per thread. So every entry point (Save's check, account_for) reads the
# policy in its own thread and puts it here; to_thread copies the context into the worker thread with it.
# Without one set (nothing should), the adapter reads the database itself.
_policy_in_use: ContextVar[Policy | None] = ContextVar("exchange_policy_in_use", default=None)


def use_current_policy() -> Policy:
    policy = current_policy()
    _policy_in_use.set(policy)
    return policy


def policy_in_use() -> Policy:
    return _policy_in_use.get() or current_policy()


def checked_address(host: str, port: int, policy: Policy) -> str:
    """Resolve `host` and return the one address to connect to, after checking the name and every address.
    Raises AddressRefused. All addresses must pass: a name that resolves to a public and a private address is
    refused, rather than hoping the public one is the one used."""
    if not policy.name_allowed(host):
        raise NotAllowedByName(host)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        raise AddressRefused(host) from None
    addresses = []
    for _family, _type, _proto, _name, sockaddr in found:
        address = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if not policy.address_allowed(address):
            raise AddressRefused(host)
        addresses.append(address)
    if not addresses:
        raise AddressRefused(host)
    return str(addresses[0])


def connect_timeout() -> float:
    return float(settings.EXCHANGE_CONNECT_TIMEOUT_SECONDS)


class PinnedAddressAdapter(requests.adapters.HTTPAdapter):
    """https only, to the checked address, verifying the certificate for the host name against ca_bundle()
    (never turned off, whatever `verify` requests passes), with the short connect timeout."""

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        read = timeout[1] if isinstance(timeout, tuple) else timeout
        return super().send(request, stream=stream, timeout=(connect_timeout(), read), verify=verify,
                            cert=cert, proxies={})  # fmt: skip

    def cert_verify(self, conn, url, verify, cert):
        from shiftdesk.exchange.client import ca_bundle

        super().cert_verify(conn=conn, url=url, verify=ca_bundle(), cert=cert)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        from shiftdesk.exchange.client import ca_bundle

        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, ca_bundle(), cert)
        if host_params["scheme"] != "https":
            raise AddressRefused("https only")
        host = host_params["host"]
        port = host_params["port"] or 443
        address = checked_address(host, port, policy_in_use())
        host_params["host"] = address
        if not _is_ip(host):
            # Connect to the address, but speak TLS to (and verify the certificate of) the name.
            pool_kwargs["server_hostname"] = host
            pool_kwargs["assert_hostname"] = host
            # The Host header names the server as typed (http.client would put the address there).
            netloc = host if host_params["port"] is None else f"{host}:{port}"
            request.headers["Host"] = netloc
        return host_params, pool_kwargs
