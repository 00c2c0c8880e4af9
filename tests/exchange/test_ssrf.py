"""Password Authentication cannot be used to make ShiftDesk connect where a user likes (issue 11, SSRF):
an allow-list, non-public addresses refused unless listed, the checked address is the one connected to, one
answer for every unreachable server, a short connect timeout, and a limit on connection tests per user."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.exchange.client import UNREACHABLE
from tests.exchange.conftest import box_post

SAVE = "/account/calendar-sync/exchange/"
ADMIN_SAVE = "/admin/integrations/exchange/"


def ews_requests(emulator) -> list[dict]:
    return [e for e in emulator.state.request_log if e["path"].lower().startswith("/ews/")]


def said(page: str) -> str:
    """The box's error message, word for word (the page around it shows the typed address, port and all)."""
    import html
    import re

    found = re.search(r"Nothing was saved\.[^<]*", page)
    return html.unescape(found.group(0)).strip() if found else ""


def error_of(response) -> str:
    assert response.status_code == 400, response.status_code
    page = response.content.decode()
    assert "Nothing was saved." in page
    return page


def test_the_emulator_is_reached_only_because_the_allow_list_names_its_address(
    bob_client, bob, emulator, settings
):
    settings.EXCHANGE_ALLOWED_HOSTS = []  # what a site that lists nothing gets: public addresses only
    page = error_of(bob_client.post(SAVE, box_post(emulator)))
    assert UNREACHABLE in page
    assert ews_requests(emulator) == []  # refused before anything left ShiftDesk
    settings.EXCHANGE_ALLOWED_HOSTS = ["127.0.0.1"]  # what tests/conftest.py and dev.py set
    assert bob_client.post(SAVE, box_post(emulator)).status_code == 302
    assert CalendarConnection.objects.filter(user=bob).exists()


@pytest.fixture
def listener():
    """A TCP port on 127.0.0.1 that records whether anyone connected (accepts nothing by itself)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()


def connected(sock) -> bool:
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


@pytest.mark.parametrize(
    "server",
    [
        "127.0.0.1:{port}",  # loopback
        "localhost:{port}",  # a name resolving to loopback
        "[::ffff:127.0.0.1]:{port}",  # loopback written as IPv4-mapped IPv6
        "0.0.0.0:{port}",  # unspecified (Linux connects it to loopback)
    ],
)
def test_loopback_is_refused_without_connecting_unless_listed(
    bob_client, bob, emulator, settings, listener, server
):
    settings.EXCHANGE_ALLOWED_HOSTS = []
    port = listener.getsockname()[1]
    page = error_of(bob_client.post(SAVE, box_post(emulator, server=server.format(port=port))))
    assert UNREACHABLE in page
    assert not connected(listener)


@pytest.mark.parametrize(
    "address",
    ["10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "224.0.0.1", "240.0.0.1",
     "255.255.255.255", "::1", "fe80::1", "fc00::1", "ff02::1", "::"],
)  # fmt: skip
def test_non_public_addresses_are_refused_and_listed_ones_allowed(address):
    import ipaddress

    from shiftdesk.exchange.network import Policy

    ip = ipaddress.ip_address(address)
    assert not Policy().address_allowed(ip)
    assert Policy.from_entries([address]).address_allowed(ip)
    network = ipaddress.ip_network(f"{address}/{ip.max_prefixlen - 8}", strict=False)
    assert Policy.from_entries([str(network)]).address_allowed(ip)
    assert Policy().address_allowed(ipaddress.ip_address("93.184.216.34"))  # a public address is fine


def test_names_in_the_list_restrict_the_servers_users_may_enter():
    from shiftdesk.exchange.network import Policy

    policy = Policy.from_entries(["mail.example.org", "*.contoso.com", "10.0.0.0/8"])
    assert policy.name_allowed("mail.example.org") and policy.name_allowed("MAIL.example.org.")
    assert policy.name_allowed("ews.contoso.com") and not policy.name_allowed("contoso.com")
    assert not policy.name_allowed("evil.example.org") and not policy.name_allowed("evilcontoso.com")
    assert policy.name_allowed("10.0.0.5") and not policy.name_allowed("192.168.0.5")
    assert Policy.from_entries(["10.0.0.0/8"]).name_allowed("anything.example.net")  # no names: any name


def test_a_name_resolving_to_a_public_and_a_private_address_is_refused(monkeypatch):
    from shiftdesk.exchange.network import AddressRefused, Policy, checked_address

    def two_answers(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in ("93.184.216.34", "10.0.0.7")
        ]

    monkeypatch.setattr(socket, "getaddrinfo", two_answers)
    with pytest.raises(AddressRefused):
        checked_address("mixed.example.org", 443, Policy())


class Resolver:
    """DNS cannot be controlled here (closed network), so this stands in for it: `name` resolves to 127.0.0.1
    the first time and to an unreachable private address afterwards (a rebinding DNS server)."""

    def __init__(self, name: str):
        self.name = name
        self.calls = 0
        self.real = socket.getaddrinfo

    def __call__(self, host, port, *args, **kwargs):
        if host != self.name:
            return self.real(host, port, *args, **kwargs)
        self.calls += 1
        ip = "127.0.0.1" if self.calls == 1 else "10.66.66.66"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]


def test_the_connection_goes_to_the_checked_address_and_tls_is_verified_for_the_name(
    db, emulator, settings, monkeypatch
):
    from shiftdesk.exchange.client import ExchangeError, preflight

    settings.EXCHANGE_CONNECT_TIMEOUT_SECONDS = 1
    resolver = Resolver("localhost")  # the emulator's certificate is for localhost
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    endpoint = f"https://localhost:{emulator.port}/EWS/Exchange.asmx"
    assert preflight(endpoint) in ("NTLM", "basic")
    # Resolved once, by the check; urllib3 connected to that address (the second answer was never asked for).
    assert resolver.calls == 1
    assert ews_requests(emulator)[-1]["path"] == "/EWS/Exchange.asmx"
    # The next connection resolves again, and is checked again: the rebound private address is refused.
    with pytest.raises(ExchangeError) as refused:
        preflight(endpoint)
    assert refused.value.message == UNREACHABLE
    # TLS is verified for the name typed, not the address: a name the certificate does not cover fails.
    monkeypatch.setattr(socket, "getaddrinfo", Resolver("ews.example.org"))
    with pytest.raises(ExchangeError) as wrong_name:
        preflight(f"https://ews.example.org:{emulator.port}/EWS/Exchange.asmx")
    assert wrong_name.value.message == UNREACHABLE


@pytest.fixture
def plain_tcp_server():
    """An open port that is not TLS: answers plain HTTP and closes."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    stop = threading.Event()

    def serve():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join(5)
    sock.close()


def test_every_unreachable_server_gets_the_same_answer_quickly(
    bob_client, bob, emulator, settings, listener, plain_tcp_server
):
    import certifi

    settings.EXCHANGE_CONNECT_TIMEOUT_SECONDS = 0.5
    settings.HTTP_TIMEOUT_SECONDS = 30
    silent = listener.getsockname()[1]  # accepts TCP (the kernel's backlog) but never speaks TLS
    cases = {
        "closed port": {"server": "127.0.0.1:1"},
        "open port without TLS": {"server": f"127.0.0.1:{plain_tcp_server}"},
        "silent port": {"server": f"127.0.0.1:{silent}"},
        "HTTPS service that is not EWS": {"server": f"{emulator.base_url}/nothing-here"},
        "private address": {"server": "10.1.2.3"},
    }
    answers = {}
    for case, overrides in cases.items():
        started = time.monotonic()
        page = error_of(bob_client.post(SAVE, box_post(emulator, **overrides)))
        assert time.monotonic() - started < 5, case  # the connect timeout, not HTTP_TIMEOUT_SECONDS
        answers[case] = said(page)
    settings.EXCHANGE_CA_BUNDLE = certifi.where()  # the emulator's certificate is not trusted
    answers["untrusted certificate"] = said(error_of(bob_client.post(SAVE, box_post(emulator))))
    assert answers == dict.fromkeys(answers, f"Nothing was saved. {UNREACHABLE}")


def test_connection_tests_are_rate_limited_per_user(bob_client, bob, charlie, emulator, settings):
    from django.test import Client

    settings.EXCHANGE_CHECKS_PER_WINDOW = 2
    settings.EXCHANGE_CHECK_WINDOW_SECONDS = 600
    for _ in range(2):
        assert bob_client.post(SAVE, box_post(emulator, password="Wrong-pw-1")).status_code == 400
    before = len(ews_requests(emulator))
    response = bob_client.post(SAVE, box_post(emulator))
    assert response.status_code == 429
    assert "Too many connection tests" in response.content.decode()
    assert len(ews_requests(emulator)) == before  # no request left ShiftDesk
    other = Client()
    other.force_login(charlie)
    assert "Too many" not in other.post(SAVE, box_post(emulator, password="x")).content.decode()  # per user
    with time_machine.travel(timezone.now() + timedelta(seconds=601)):
        assert bob_client.post(SAVE, box_post(emulator)).status_code == 302


def test_the_admin_lists_allowed_servers_in_admin_integrations(alice, bob, emulator, settings):
    from django.test import Client

    from shiftdesk.exchange.models import ExchangeSettings

    alice_client, bob_client = Client(), Client()
    alice_client.force_login(alice)
    bob_client.force_login(bob)

    settings.EXCHANGE_ALLOWED_HOSTS = []
    page = alice_client.get("/admin/integrations/").content.decode()
    assert "Allowed Exchange servers" in page
    response = alice_client.post(ADMIN_SAVE, {"enabled": "1", "allowed_hosts": "mail.example.org\n127.0.0.1"})
    assert response.status_code == 302
    assert ExchangeSettings.load().allowed_hosts == "mail.example.org\n127.0.0.1"
    assert "mail.example.org" in alice_client.get("/admin/integrations/").content.decode()
    # The name entry restricts names; the address entry opens 127.0.0.1, so the emulator is reachable by address.
    assert bob_client.post(SAVE, box_post(emulator)).status_code == 302
    alice_client.post(ADMIN_SAVE, {"enabled": "1", "allowed_hosts": "mail.example.org"})
    page = error_of(bob_client.post(SAVE, box_post(emulator)))
    assert "does not connect to 127.0.0.1" in page and "Allowed servers: mail.example.org" in page


def test_a_bad_allow_list_entry_is_refused_in_words(alice_client):
    from shiftdesk.exchange.models import ExchangeSettings

    response = alice_client.post(
        ADMIN_SAVE, {"enabled": "1", "allowed_hosts": "10.0.0.0/99\nbad host!"}, follow=True
    )
    page = response.content.decode()
    assert "10.0.0.0/99 is not an IP address or network." in page
    assert ExchangeSettings.load().allowed_hosts == ""


def test_exchange_allowed_hosts_is_read_from_the_environment():
    # Only the settings module is loaded (no django.setup(): the apps play no part in reading the variable).
    code = "from django.conf import settings; print(settings.EXCHANGE_ALLOWED_HOSTS)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"DJANGO_SETTINGS_MODULE": "shiftdesk.settings", "DEBUG": "true", "PYTHONPATH": ".",
             "EXCHANGE_ALLOWED_HOSTS": "mail.example.org, 10.0.0.0/8", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert done.stdout.strip() == "['mail.example.org', '10.0.0.0/8']"


def test_a_saved_connection_is_checked_again_on_every_use(bob_client, bob, emulator, settings, connect):
    """The allow-list is not only checked on Save: sync and calendar listing go through the same adapter, so a
    server taken off the list (or a name re-pointed at a private address) is not reached any more."""
    from shiftdesk.exchange.boxes import mailbox_calendars
    from shiftdesk.exchange.client import ExchangeError

    connection = connect(bob_client)
    assert mailbox_calendars(connection)  # allowed: read live from the emulator
    settings.EXCHANGE_ALLOWED_HOSTS = []
    before = len(ews_requests(emulator))
    with pytest.raises(ExchangeError) as refused:
        mailbox_calendars(connection)
    assert refused.value.kind == "unreachable"
    assert len(ews_requests(emulator)) == before


def test_exchangelib_worker_threads_use_the_policy_read_by_their_caller(db, settings):
    """The sync engine runs exchangelib in asyncio.to_thread's threads; they get the allow-list read by the
    caller (copied with the context), rather than each opening a database connection to read it."""
    import asyncio

    from shiftdesk.exchange.actions import do_set_exchange_enabled
    from shiftdesk.exchange.network import policy_in_use, use_current_policy

    settings.EXCHANGE_ALLOWED_HOSTS = []
    do_set_exchange_enabled(True, by=None, allowed_hosts="10.0.0.0/8")
    read = use_current_policy()
    do_set_exchange_enabled(True, by=None, allowed_hosts="")  # changed after the caller read it

    async def in_a_worker_thread():
        return await asyncio.to_thread(policy_in_use)

    assert asyncio.run(in_a_worker_thread()) == read
    assert use_current_policy().networks == ()  # the next caller reads the change
