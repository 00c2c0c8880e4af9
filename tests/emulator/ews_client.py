"""exchangelib, unmodified, pointed at the emulator's EWS: TLS verified against the emulator's CA.

exchangelib builds its HTTP adapters from the class attribute BaseProtocol.HTTP_ADAPTER_CLS; the adapter here
verifies against the emulator's CA file (verification is never turned off).
"""

from __future__ import annotations

import requests.adapters
from exchangelib import BASIC, DELEGATE, NTLM, Account, Build, Configuration, Credentials, FailFast, Version
from exchangelib.protocol import BaseProtocol, close_connections


class EmulatorCAAdapter(requests.adapters.HTTPAdapter):
    ca_file: str = ""

    def cert_verify(self, conn, url, verify, cert):
        super().cert_verify(conn=conn, url=url, verify=self.ca_file or True, cert=cert)

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        return super().get_connection_with_tls_context(
            request=request, verify=self.ca_file or True, proxies=proxies, cert=cert
        )


def trust(ca_file: str) -> None:
    EmulatorCAAdapter.ca_file = ca_file
    BaseProtocol.HTTP_ADAPTER_CLS = EmulatorCAAdapter


def account(
    emulator,
    login: str,
    password: str,
    *,
    email: str | None = None,
    auth_type: str | None = BASIC,
    probe: bool = False,
) -> Account:
    """An exchangelib Account on the emulator. probe=True leaves the version out (exchangelib asks the server);
    auth_type=None lets exchangelib ask the server which auth it offers."""
    trust(emulator.ca_file)
    close_connections()  # exchangelib caches protocols (and NTLM-authenticated connections) per endpoint
    config = Configuration(
        service_endpoint=f"{emulator.base_url}/EWS/Exchange.asmx",
        credentials=Credentials(login, password),
        auth_type=auth_type,
        version=None if probe else Version(build=Build(15, 1, 2, 3)),
        retry_policy=FailFast(),
    )
    return Account(email or login, config=config, autodiscover=False, access_type=DELEGATE)


__all__ = ["BASIC", "NTLM", "account", "trust"]
