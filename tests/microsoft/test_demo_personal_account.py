"""Point 8 of issue 13 in the demo: the demo's emulator world has a personal Microsoft account (…@outlook.com on
the `consumers` tenant), the pre-registered app admits it (the account type ShiftDesk recommends), and it
authorizes, named by its userPrincipalName since Graph's /me gives it no mail address."""

from __future__ import annotations

import io
import json
from collections import defaultdict

from django.core.management import call_command
from django.test import Client

from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.microsoft.models import AzureADSettings
from tests.microsoft.conftest import authorize

CONSUMERS = "9188040d-6c67-4c5b-b112-36a304b66dad"


def test_the_demo_world_has_a_personal_account_that_can_authorize(
    emulator, transactional_db, settings, tmp_path
):
    from shiftdesk.accounts.models import User
    from shiftdesk.scheduling.demo import DEMO_STAFF, DEMO_STAFF_PASSWORD

    settings.VAR_DIR = tmp_path
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo_emulator", emulator=emulator.base_url, preregister=True, stdout=io.StringIO())
    logins = json.loads((tmp_path / "demo-logins.json").read_text())
    personal = logins["personal_account"]
    assert personal.endswith("@outlook.com")
    users = {u["user_principal_name"]: u for u in emulator.control.get("/state").json()["directory"]["users"]}
    assert users[personal]["tenant_id"] == CONSUMERS
    azure = AzureADSettings.load()
    assert azure.account_type == "multi_personal" and azure.tenant_segment == "common"

    staff = Client()
    staff.force_login(User.objects.get(email=DEMO_STAFF[0].email))
    assert DEMO_STAFF_PASSWORD  # the staff member logs in to ShiftDesk; the mailbox is the personal account
    response, _ = authorize(staff, emulator, personal, logins["mailbox_password"])
    assert response.status_code == 302
    connection = CalendarConnection.objects.get(user__email=DEMO_STAFF[0].email)
    assert connection.account_email == personal and len(connection.account_id) == 16

    # The launcher's banner (dev.py demo) prints this login with the others.
    import dev

    banner = dev.DEMO_BANNER.format_map(defaultdict(str, logins))
    assert f"Personal account        {personal} / {logins['mailbox_password']}" in banner


def test_the_azure_box_says_which_account_type_to_pick(alice_client):
    page = alice_client.get("/admin/integrations/").content.decode()
    assert "pick Accounts in any organizational directory and personal Microsoft accounts" in page
