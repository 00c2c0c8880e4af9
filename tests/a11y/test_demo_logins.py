"""Distinct demo logins: the emulator's Microsoft 365 admin (portal, admin consent) is not ShiftDesk's admin,
so nobody types one person's password for the other's address. Runs the demo's own seed commands against the
HTTPS emulator and reads the logins file the launcher's banner prints."""

from __future__ import annotations

import io
import json

from django.core.management import call_command

from tests.browser import oauth_support

emulator_server = oauth_support.emulator_server


def test_the_demo_has_one_address_per_login(emulator_server, transactional_db, settings, tmp_path):
    from shiftdesk.scheduling.demo import ADMIN_EMAIL, DEMO_STAFF

    emulator_server.reset()
    settings.MICROSOFT_CA_BUNDLE = emulator_server.ca_file
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo_emulator", emulator=emulator_server.base_url, stdout=io.StringIO())
    logins = json.loads((tmp_path / "demo-logins.json").read_text())

    # Each address has exactly one password across ShiftDesk and the emulator.
    passwords = {}
    for who in ("admin", "staff", "tenant_admin"):
        passwords.setdefault(logins[f"{who}_email"], set()).add(logins[f"{who}_password"])
    assert logins["tenant_admin_email"] != logins["admin_email"] == ADMIN_EMAIL
    assert logins["staff_email"] == DEMO_STAFF[0].email
    assert all(len(p) == 1 for p in passwords.values()), passwords

    # In the emulator the Microsoft 365 admin is the tenant's administrator; ShiftDesk's admin is a mailbox.
    state = emulator_server.control.get("/state").json()
    users = {u["user_principal_name"]: u for u in state["directory"]["users"]}
    assert users[logins["tenant_admin_email"]]["is_admin"] is True
    assert users[ADMIN_EMAIL]["is_admin"] is False
