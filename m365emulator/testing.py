"""Run the real emulator (uvicorn, TLS) in a background thread for tests and benchmarks, plus helpers:
a standard world to seed, MSAL-ready HTTP sessions, and a browser-less walk through the login pages."""

from __future__ import annotations

import html
import re
import socket
import ssl
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import uvicorn

from m365emulator.server import build_app
from m365emulator.state import EmulatorState
from m365emulator.tls import ensure_tls

STANDARD_SECRET = "Sd1" + "8Q~standard-test-secret-value-000000"
STANDARD_REDIRECT = "https://localhost:8000/microsoft/callback"


class EmulatorServer:
    """`with EmulatorServer() as emu:` serves https://127.0.0.1:<free port> until the block ends."""

    def __init__(
        self, state_dir: str | Path | None = None, host: str = "127.0.0.1", persist: bool = True
    ) -> None:
        self._tmp = None if state_dir else tempfile.TemporaryDirectory(prefix="m365emulator-")
        self.state_dir = Path(state_dir or self._tmp.name)
        self.host = host
        self.persist = (
            persist  # False: keep the world in memory only (benchmarks); TLS files still go to disk
        )
        self.state: EmulatorState | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        tls = ensure_tls(self.state_dir)
        self.ca_file = str(tls.ca_file)
        self.state = EmulatorState(self.state_dir if self.persist else None)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))  # the OS picks a free port; we hand uvicorn the bound socket: no race
        self.port = sock.getsockname()[1]
        self.base_url = f"https://{self.host}:{self.port}"
        self.state.base_url = self.base_url
        config = uvicorn.Config(
            build_app(self.state),
            ssl_certfile=str(tls.cert_file),
            ssl_keyfile=str(tls.key_file),
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,  # tests leave keep-alive connections open; do not wait for them
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.01)
        self.ssl_context = ssl.create_default_context(cafile=self.ca_file)
        self.control = httpx.Client(
            base_url=self.base_url + "/_emulator", verify=self.ssl_context, timeout=15
        )

    def stop(self) -> None:
        if getattr(self, "control", None) is not None:
            self.control.close()  # first: an open keep-alive connection holds up uvicorn's shutdown
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        if self._tmp is not None:
            self._tmp.cleanup()

    # --- helpers -------------------------------------------------------------------------------------
    def reset(self) -> None:
        self.control.post("/reset").raise_for_status()

    def seed(self, spec: dict[str, Any] | None = None) -> dict[str, Any]:
        """Creates tenants, users, apps, secrets and consents in one control call (default: standard_world)."""
        response = self.control.post("/seed", json=spec if spec is not None else standard_world())
        response.raise_for_status()
        return response.json()

    def authority(self, tenant: str = "contoso.onmicrosoft.com") -> str:
        return f"{self.base_url}/{tenant}"

    def requests_session(self):
        """A requests.Session for MSAL: trusts the emulator's CA, ignores REQUESTS_CA_BUNDLE & co."""
        import requests

        session = requests.Session()
        session.trust_env = False
        session.verify = self.ca_file
        return session

    def http(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(verify=self.ssl_context, timeout=15, **kwargs)


def standard_world(**overrides: Any) -> dict[str, Any]:
    """Contoso (admin Adele, user Megan), Fabrikam (user Nestor), personal account Pat, and ShiftDesk:
    multi-tenant + personal, Web redirect STANDARD_REDIRECT, secret STANDARD_SECRET, no consents yet."""
    world = {
        "tenants": [
            {
                "domain": "contoso.onmicrosoft.com",
                "display_name": "Contoso",
                "users": [
                    {"upn": "adele@contoso.onmicrosoft.com", "display_name": "Adele Vance", "password": "Adele-pw1",
                     "is_admin": True, "time_zone": "Europe/Paris"},
                    {"upn": "megan@contoso.onmicrosoft.com", "display_name": "Megan Bowen", "password": "Megan-pw1",
                     "time_zone": "Europe/Paris"},
                ],
            },
            {
                "domain": "fabrikam.onmicrosoft.com",
                "display_name": "Fabrikam",
                "users": [{"upn": "nestor@fabrikam.onmicrosoft.com", "display_name": "Nestor Wilke",
                           "password": "Nestor-pw1"}],
            },
        ],
        "personal_users": [{"upn": "pat@outlook.com", "display_name": "Pat Personal", "password": "Pat-pw1"}],
        "apps": [
            {
                "tenant": "contoso.onmicrosoft.com",
                "name": "ShiftDesk",
                "sign_in_audience": "AzureADandPersonalMicrosoftAccount",
                "redirect_uris": [STANDARD_REDIRECT],
                "delegated_permissions": ["offline_access", "User.Read", "Calendars.ReadWrite",
                                          "Calendars.ReadWrite.Shared"],
                "application_permissions": ["Calendars.ReadWrite"],
                "secrets": [{"description": "ShiftDesk", "value": STANDARD_SECRET, "expires_in_days": 730}],
            }
        ],
    }  # fmt: skip
    world.update(overrides)
    return world


# --- a browser-less user -------------------------------------------------------------------------------------
_FORM = re.compile(r"<form[^>]*action=\"([^\"]*)\"[^>]*>(.*?)</form>", re.S)
_INPUT = re.compile(r"<input[^>]*>", re.S)
_ATTR = re.compile(r"(\w+)=\"([^\"]*)\"")


def parse_form(page: str, index: int = 0) -> tuple[str, dict[str, str]]:
    """(action, hidden/prefilled fields) of the index-th form on an emulator page."""
    forms = _FORM.findall(page)
    if len(forms) <= index:
        raise AssertionError(f"no form #{index} on the page:\n{page[:2000]}")
    action, inner = forms[index]
    fields = {}
    for tag in _INPUT.findall(inner):
        attrs = dict(_ATTR.findall(tag))
        if "name" in attrs and attrs.get("type") != "checkbox":
            fields[attrs["name"]] = html.unescape(attrs.get("value", ""))
    return html.unescape(action), fields


def sign_in(
    http: httpx.Client, auth_uri: str, login: str, password: str, consent: str | None = "accept"
) -> httpx.Response:
    """Walks /authorize like a person: the login form, then (if shown) the consent page, pressing
    `consent` ("accept", "cancel", or "return" on "Need admin approval"). Returns the last response:
    the 302 to the app's redirect URI, or a page the walk could not get past."""
    response = http.get(auth_uri)
    if response.status_code == 200 and 'name="passwd"' in response.text:
        action, fields = parse_form(response.text)
        fields.update(login=login, passwd=password)
        response = http.post(urljoin(str(response.url), action), data=fields)
    if response.status_code == 200 and "Consent/Set" in response.text and consent:
        action, fields = parse_form(response.text)
        fields["action"] = consent
        response = http.post(urljoin(str(response.url), action), data=fields)
    return response


def redirect_params(response: httpx.Response) -> dict[str, str]:
    """The query parameters of the redirect back to the app (what MSAL's auth_response wants)."""
    if response.status_code != 302:
        raise AssertionError(
            f"expected a redirect to the app, got {response.status_code}:\n{response.text[:2000]}"
        )
    query = urlsplit(response.headers["location"]).query
    return {k: v[0] for k, v in parse_qs(query).items()}
