"""The week grid by keyboard alone, in Chromium with key presses: the skip link, assigning by typing a name
into the combobox, unassigning with Undo, and focus staying in the shift's cell after each in-place update."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.a11y.support import assert_accessible


def focused(page) -> str:
    return page.evaluate(
        "() => { const e = document.activeElement; return `${e.tagName.toLowerCase()}#${e.id}.${e.className} "
        "${(e.getAttribute('aria-label') || e.innerText || '').trim()}` }"
    )


def focus_is_inside(page, selector: str) -> bool:
    return page.evaluate(f"() => !!document.activeElement.closest({selector!r})")


def tab_until(page, predicate_js: str, limit: int = 80) -> int:
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate(predicate_js):
            return presses
    raise AssertionError(f"not reached in {limit} Tabs; focus on {focused(page)}")


@pytest.fixture
def empty_week_shift(demo):
    """A Reference Desk shift alone in its week, three weeks out, two staff needed, nobody on it."""
    from shiftdesk.scheduling.models import Shift

    start = demo.shift.start + timedelta(weeks=3)
    Shift.objects.filter(schedule=demo.schedule, start__gte=start - timedelta(days=7)).delete()
    return Shift.objects.create(
        schedule=demo.schedule,
        position=demo.shift.position,
        start=start,
        end=start + timedelta(hours=2),
        staff_needed=2,
    )


def admin_on_the_shifts_week(demo, demo_login, live_server, shift):
    """A page logged in as the demo admin, on the week grid of the shift's week."""
    page = demo_login(demo.admin)
    week = reverse("schedule_week", args=[demo.schedule.pk]) + f"?week={shift.start.date().isoformat()}"
    page.goto(live_server.url + week)
    return page


def test_the_skip_link_is_the_first_tab_and_jumps_to_the_content(demo, demo_login):
    page = demo_login(demo.staff)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert focus_is_inside(page, "main")


def test_assign_by_name_and_unassign_with_undo_by_keyboard_alone(
    demo, demo_login, live_server, empty_week_shift
):
    from shiftdesk.scheduling.models import Assignment

    shift = empty_week_shift
    cell = f"#s{shift.pk}"
    page = admin_on_the_shifts_week(demo, demo_login, live_server, shift)

    # Skip link, then Tabs to the shift's assign box.
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    tabs = tab_until(page, "document.activeElement.name === 'staff'")
    assert tabs <= 12, f"{tabs} Tabs from the skip link to the first assign box"
    box = page.locator(f"#a{shift.pk}")
    expect(box).to_be_focused()

    # The combobox: type part of a name, arrow to the suggestion, Enter takes it, Enter assigns.
    page.keyboard.type("garc")
    expect(box).to_have_attribute("aria-expanded", "true")
    listbox = page.get_by_role("listbox")
    expect(listbox.get_by_role("option")).to_have_count(1)
    expect(listbox.get_by_role("option").first).to_contain_text("Maria Garcia")
    assert_accessible(page, "the grid with the combobox open")
    page.keyboard.press("ArrowDown")
    expect(box).to_have_attribute(
        "aria-activedescendant", listbox.get_by_role("option").first.get_attribute("id")
    )
    page.keyboard.press("Enter")
    expect(box).to_have_value("Maria Garcia")
    expect(box).to_have_attribute("aria-expanded", "false")
    url_before = page.url
    page.keyboard.press("Enter")
    expect(page.locator(cell).locator("ul.people")).to_contain_text("Maria Garcia")
    assert page.url == url_before  # updated in place, no reload
    expect(page.locator("#grid-status")).to_have_text("Assigned Maria Garcia to Reference Desk.")
    expect(page.locator(f"#a{shift.pk}")).to_be_focused()  # still open (2 needed): focus stays on the box
    assert Assignment.objects.filter(shift=shift, user=demo.staff).exists()

    # By email into the same box: the shift fills, so focus moves to the person just assigned.
    page.keyboard.type(demo.schedule_admin.email)
    page.keyboard.press("Escape")  # close the suggestions; Enter then submits what was typed
    page.keyboard.press("Enter")
    expect(page.locator(cell).locator("ul.people")).to_contain_text("James Smith")
    unassign_james = page.get_by_role("button", name="Unassign James Smith")
    expect(unassign_james).to_be_focused()
    assert focus_is_inside(page, cell)

    # Unassign by keyboard, then Undo: focus goes to Undo, then back to the person.
    page.keyboard.press("Enter")
    undo = page.locator(cell).get_by_role("button", name="Undo: assign James Smith again")
    expect(undo).to_be_focused()
    assert_accessible(page, "the grid with an Undo in a cell")
    expect(page.locator("#grid-status")).to_contain_text("Unassigned James Smith from Reference Desk.")
    assert not Assignment.objects.filter(shift=shift, user=demo.schedule_admin).exists()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Unassign James Smith")).to_be_focused()
    assert Assignment.objects.filter(shift=shift, user=demo.schedule_admin).exists()


def test_a_name_not_on_the_roster_is_said_next_to_the_box(demo, demo_login, live_server, empty_week_shift):
    shift = empty_week_shift
    page = admin_on_the_shifts_week(demo, demo_login, live_server, shift)
    box = page.locator(f"#a{shift.pk}")
    box.focus()
    page.keyboard.type("Nobody Here")
    page.keyboard.press("Enter")
    error = page.locator(f"#e{shift.pk}")
    expect(error).to_contain_text("Choose someone on the Reference Desk roster.")
    expect(box).to_be_focused()
    expect(box).to_have_attribute("aria-describedby", f"e{shift.pk}")
    expect(box).to_have_value("Nobody Here")
    assert_accessible(page, "the grid with an error in a cell")


def test_a_refused_in_place_update_is_said(demo, demo_login, live_server, empty_week_shift):
    """The shift was deleted by someone else after the page loaded: the server answers 404 and htmx swaps
    nothing, so the page says the change did not save instead of staying silent."""
    shift = empty_week_shift
    page = admin_on_the_shifts_week(demo, demo_login, live_server, shift)
    box = page.locator(f"#a{shift.pk}")
    box.focus()
    page.keyboard.type("Maria Garcia")
    shift.delete()
    page.keyboard.press("Enter")
    status = page.locator("#grid-status")
    expect(status).to_have_text(
        "That did not save: the page may be out of date. Reload the page and try again."
    )
    expect(status).to_be_visible()


def test_an_in_place_update_that_never_reached_shiftdesk_is_said(
    demo, demo_login, live_server, empty_week_shift
):
    """The network failed (no answer at all): htmx swaps nothing, so the page says the change did not save."""
    shift = empty_week_shift
    page = admin_on_the_shifts_week(demo, demo_login, live_server, shift)
    page.route(f"**/shifts/{shift.pk}/assign/", lambda route: route.abort("internetdisconnected"))
    box = page.locator(f"#a{shift.pk}")
    box.focus()
    page.keyboard.type("Maria Garcia")
    page.keyboard.press("Enter")
    status = page.locator("#grid-status")
    expect(status).to_have_text(
        "That did not save: ShiftDesk could not be reached. Check the connection and try again."
    )
    expect(status).to_be_visible()
    expect(box).to_be_focused()
    expect(box).to_have_value("Maria Garcia")
