"""The FAQ walk by keyboard alone, in Chromium with key presses only (no clicks, no fill()): the admin saves
Admin > Integrations > Azure AD OAuth 2; a staff member authorizes with Microsoft (the emulator's sign-in and
consent pages), saves the calendars, runs the Export and asks for time off; the admin approves it. Assigning
and unassigning on the grid by keyboard is tests/a11y/test_keyboard_grid.py. Every page is also checked by
axe-core on the way."""

from __future__ import annotations

from playwright.sync_api import expect

from m365emulator.testing import STANDARD_SECRET, standard_world
from tests.a11y.support import assert_accessible
from tests.browser import oauth_support
from tests.conftest import PASSWORD

emulator_server = oauth_support.emulator_server
oauth_chromium = oauth_support.oauth_chromium
emulator = oauth_support.emulator
new_page = oauth_support.new_page

MEGAN = ("megan@contoso.onmicrosoft.com", "Megan-pw1")


def tab_to(page, locator, limit: int = 120, *, backwards: bool = False) -> int:
    """Press Tab (or Shift+Tab) until `locator` has the focus; returns how many presses it took."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        if locator.evaluate("e => e === document.activeElement"):
            return presses
    active = page.evaluate("document.activeElement.outerHTML.slice(0, 200)")
    raise AssertionError(f"{locator} not reached in {limit} presses; focus is on {active}")


def keyboard_log_in(page, live_server, user) -> None:
    page.goto(live_server.url + "/login/")
    expect(page.locator("#id_username")).to_be_focused()  # autofocus
    page.keyboard.type(user.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url + "/")


def test_the_faq_walk_by_keyboard_alone(new_page, live_server, emulator, transactional_db, alice, bob):
    world = standard_world()
    world["apps"][0]["redirect_uris"] = [live_server.url + "/microsoft/oauth2/callback/"]
    app_id = emulator.seed(world)["apps"][0]["client_id"]

    # Admin > Integrations: the Admin menu, then the Azure AD OAuth 2 box, by keyboard.
    admin = new_page()
    keyboard_log_in(admin, live_server, alice)
    tab_to(admin, admin.locator("summary", has_text="Admin"))
    admin.keyboard.press("Enter")
    tab_to(admin, admin.get_by_role("link", name="Integrations"))
    admin.keyboard.press("Enter")
    admin.wait_for_url("**/admin/integrations/")
    assert_accessible(admin, "Admin > Integrations")
    box = admin.locator("#azure-ad-oauth2")
    tab_to(admin, box.get_by_label("Application ID"))
    admin.keyboard.type(app_id)
    tab_to(admin, box.get_by_label("Client Secret: Value"))
    admin.keyboard.type(STANDARD_SECRET)
    expires = box.get_by_label("Client Secret: Expires")
    tab_to(admin, expires)
    assert expires.input_value()  # prefilled with the portal's default
    account_type = box.get_by_label("Supported Account Type")
    tab_to(admin, account_type)
    while account_type.input_value() != "multi_personal":
        admin.keyboard.press("ArrowDown")
    enabled = box.get_by_label("Enable Calendar Sync with Azure AD OAuth 2")
    tab_to(admin, enabled)
    admin.keyboard.type("Enabled")
    expect(enabled).to_have_value("enabled")
    tab_to(admin, box.get_by_role("button", name="Save Settings"))
    admin.keyboard.press("Enter")
    expect(admin.get_by_role("status").first).to_contain_text("Settings saved")

    # Step 3: the user authorizes from Manage Account > Calendar Sync, through Microsoft's pages.
    user = new_page()
    keyboard_log_in(user, live_server, bob)
    tab_to(user, user.get_by_role("link", name=bob.email))
    user.keyboard.press("Enter")
    tab_to(user, user.get_by_role("link", name="Calendar Sync (Outlook/Exchange)"))
    user.keyboard.press("Enter")
    user.wait_for_url("**/account/calendar-sync/")
    assert_accessible(user, "Calendar Sync before authorizing")
    tab_to(user, user.get_by_role("button", name="Authorize with Microsoft Account"))
    user.keyboard.press("Enter")
    expect(user.get_by_label("Email, phone, or Skype")).to_be_focused()  # the sign-in page's initial focus
    assert_accessible(user, "Microsoft sign-in")
    user.keyboard.type(MEGAN[0])
    user.keyboard.press("Tab")
    user.keyboard.type(MEGAN[1])
    user.keyboard.press("Enter")
    accept = user.get_by_role("button", name="Accept")
    expect(accept).to_be_visible()
    assert_accessible(user, "Microsoft consent")
    tab_to(user, accept)
    user.keyboard.press("Enter")
    user.wait_for_url(live_server.url + "/account/calendar-sync/")
    expect(user.get_by_role("status").first).to_contain_text("is connected")

    # Calendars: pick the Calendar to Check Free/Busy Status and Save Calendars.
    oauth_box = user.locator("#oauth2-authorization")
    freebusy = oauth_box.get_by_label("Calendar to Check Free/Busy Status")
    tab_to(user, freebusy)
    user.keyboard.type("Calendar")
    expect(freebusy.locator("option:checked")).to_have_text("Calendar")
    tab_to(user, oauth_box.get_by_role("button", name="Save Calendars"))
    user.keyboard.press("Enter")
    expect(user.get_by_role("status").first).to_contain_text("Calendars saved")
    assert_accessible(user, "Calendar Sync after Save Calendars")
    # Right after the first Save Calendars the Free/Busy box says one thing about the calendar.
    expect(user.locator("#outlook-freebusy")).not_to_contain_text("is saved yet")

    # Export: choose "Export all shifts" and Run the Export.
    export = user.locator("#calendar-sync-export")
    option = export.get_by_label("Export Option")
    tab_to(user, option)
    user.keyboard.type("Export all")
    expect(option.locator("option:checked")).to_have_text("Export all shifts")
    tab_to(user, export.get_by_role("button", name="Run the Export"))
    user.keyboard.press("Enter")
    expect(user.get_by_role("status").first).to_contain_text("Your export has started")

    # Time off: from the navigation, fill the form and ask.
    user.keyboard.press("Home")
    tab_to(
        user, user.get_by_role("navigation", name="Main").get_by_role("link", name="Time Off"), backwards=True
    )
    user.keyboard.press("Enter")
    user.wait_for_url("**/time-off/")
    assert_accessible(user, "Time Off")
    tab_to(user, user.locator("#id_start_date"))
    user.keyboard.type("12252030")
    tab_to(user, user.locator("#id_end_date"))
    user.keyboard.type("12262030")
    tab_to(user, user.locator("#id_reason"))
    user.keyboard.type("Holiday trip")
    tab_to(user, user.get_by_role("button", name="Ask for time off"))
    user.keyboard.press("Enter")
    expect(user.locator("main")).to_contain_text("Holiday trip")

    # The admin approves it by keyboard.
    admin.keyboard.press("Home")
    admin.goto(live_server.url + "/time-off/")
    approve = admin.get_by_role("button", name="Approve").first
    tab_to(admin, approve)
    admin.keyboard.press("Enter")
    from shiftdesk.scheduling.models import TimeOff

    expect(admin.locator("main")).to_contain_text("Approved")
    assert TimeOff.objects.get(user=bob).status == TimeOff.Status.APPROVED
