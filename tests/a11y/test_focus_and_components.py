"""A focus ring of our own that is visible on every background (3:1 against what is behind it), and form
fields whose borders pass 3:1 (WCAG 1.4.11 non-text contrast; axe-core checks text contrast only)."""

from __future__ import annotations

from django.urls import reverse
from playwright.sync_api import expect

from tests.a11y.support import contrast


def test_every_focusable_element_shows_our_focus_ring(demo, demo_login, live_server):
    page = demo_login(demo.admin)
    for url in (
        reverse("dashboard"),
        reverse("schedule_week", args=[demo.schedule.pk]),
        reverse("admin_integrations"),
    ):
        page.goto(live_server.url + url)
        seen = 0
        for _ in range(25):
            page.keyboard.press("Tab")
            focused = page.locator(":focus")
            if focused.count() == 0:
                continue
            style = focused.evaluate(
                "e => [getComputedStyle(e).outlineStyle, parseFloat(getComputedStyle(e).outlineWidth)]"
            )
            label = focused.evaluate("e => e.outerHTML.slice(0, 80)")
            assert style[0] == "solid" and style[1] >= 3, f"{url}: {label} has outline {style}"
            ratio = contrast(focused, "outlineColor")
            assert ratio >= 3, f"{url}: the focus ring of {label} has {ratio:.2f}:1 against its background"
            seen += 1
        assert seen >= 20


def test_form_field_borders_pass_three_to_one(demo, demo_login, live_server):
    page = demo_login(demo.admin)
    for url in (
        reverse("admin_integrations"),
        reverse("time_off_list"),
        reverse("shift_create", args=[demo.schedule.pk]),
    ):
        page.goto(live_server.url + url)
        fields = page.locator(
            "main input:visible:not([type=hidden]):not([type=checkbox]):not([type=radio]), main select:visible, main textarea:visible"
        )
        assert fields.count() > 0
        for i in range(fields.count()):
            field = fields.nth(i)
            ratio = contrast(field, "borderTopColor")
            name = field.get_attribute("name")
            assert ratio >= 3, f"{url}: the border of {name} has {ratio:.2f}:1 against its background"


def test_a_copy_button_says_it_copied_in_a_live_region(demo, demo_login, live_server):
    """WCAG 4.1.3: "Copied" reaches screen readers through a live region (polite, as a status), not only as
    the button's new text (which most screen readers do not read out for the button that has the focus)."""
    page = demo_login(demo.admin)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(live_server.url + reverse("admin_integrations"))
    status = page.locator("#copy-status")
    expect(status).to_have_attribute("aria-live", "polite")
    expect(status).to_have_text("")
    box = page.locator("#azure-ad-oauth2")
    box.get_by_role("button", name="Copy").click()
    expect(status).to_have_text("Redirect URL copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == box.get_by_label("Redirect URL").input_value()
