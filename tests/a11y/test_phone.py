"""Phones (Chromium at 375 x 812): the navigation folds behind a real Menu button, the dashboard is a list of
upcoming shifts, and the week grid shows a day at a time with touch targets of at least 24 x 24 px."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.a11y.support import PHONE, assert_accessible, sideways_overflow, small_targets, sticking_out


def test_the_navigation_folds_behind_a_menu_button(demo, demo_login, live_server):
    page = demo_login(demo.admin, PHONE)
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    assert menu.evaluate("el => el.tagName") == "BUTTON"
    controls = menu.get_attribute("aria-controls")
    email = page.get_by_role("link", name=demo.admin.email)
    expect(email).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(page.locator(f"#{controls}")).to_be_visible()
    for name in ("Dashboard", "Schedules", "Time Off", demo.admin.email):
        link = page.get_by_role("link", name=name, exact=True)
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], name
        assert box["height"] >= 24, f"{name} is {box['height']} px tall"
    # The Admin menu opens inside the folded navigation, its links on screen.
    page.locator("summary", has_text="Admin").click()
    integrations = page.get_by_role("link", name="Integrations", exact=True)
    expect(integrations).to_be_visible()
    box = integrations.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] and box["height"] >= 24
    assert_accessible(page, "the phone menu with Admin open")  # its links' contrast on the orange bar
    page.get_by_role("button", name="Log out").scroll_into_view_if_needed()
    expect(page.get_by_role("button", name="Log out")).to_be_in_viewport()
    # The bar stays orange under its links: its background covers the whole width.
    bar = page.locator(".navbar").bounding_box()
    assert bar["width"] == PHONE["width"]
    # Escape closes it and puts focus back on the button.
    email.focus()
    page.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()
    # The FAQ's entry point: the email link opens Manage Account.
    menu.click()
    email.click()
    expect(page.get_by_role("heading", name="Manage Account")).to_be_visible()
    assert sideways_overflow(page) == 0


def test_the_navigation_has_no_menu_button_on_a_desktop(demo, demo_login):
    page = demo_login(demo.admin)
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.get_by_role("link", name=demo.admin.email)).to_be_visible()
    page.locator("summary", has_text="Admin").click()  # the dropdown, open
    expect(page.get_by_role("link", name="Integrations", exact=True)).to_be_visible()
    assert_accessible(page, "the desktop Admin menu, open")


def test_the_dashboard_reads_as_a_list_of_upcoming_shifts(demo, demo_login):
    page = demo_login(demo.staff, PHONE)
    shifts = page.get_by_role("list").filter(has=page.locator("time")).first
    items = shifts.get_by_role("listitem")
    assert items.count() >= 1
    first = items.first
    expect(first.locator("time")).to_be_visible()
    assert first.bounding_box()["width"] <= PHONE["width"]
    upcoming = page.locator("section.box", has=page.get_by_role("heading", name="My Upcoming Shifts"))
    expect(upcoming.locator("ol > li").first).to_be_visible()
    assert upcoming.locator("table").count() == 0  # a list, not a table that scrolls sideways
    assert sideways_overflow(page) == 0


def test_the_week_grid_shows_a_day_at_a_time_with_big_enough_targets(demo, demo_login, live_server):
    from django.urls import reverse

    from shiftdesk.accounts.models import User
    from shiftdesk.availability.models import FreeBusyState

    # Everyone has a free/busy record, so the grid's "busy times" section is on the page too.
    FreeBusyState.objects.bulk_create([FreeBusyState(user=user) for user in User.objects.all()])
    page = demo_login(demo.admin, PHONE)
    page.goto(live_server.url + reverse("schedule_week", args=[demo.schedule.pk]))
    days = page.get_by_role("group", name="Day to show").get_by_role("button")
    assert days.count() == 7
    pressed = page.locator("[data-show-day][aria-pressed=true]")
    expect(pressed).to_have_count(1)
    assert sideways_overflow(page) == 0
    visible_columns = page.locator(".week-grid thead th:visible")
    expect(visible_columns).to_have_count(2)  # the shift column and one day
    # Walk every day at 375 px and at WCAG 1.4.10's 320 px: one column each, nothing sideways, every target in
    # the grid at least 24 x 24. (At 320 px a day with an open slot once scrolled 15 px sideways: the Assign
    # box's text input is as wide as its 20 characters unless told otherwise.)
    for width, i in [(width, i) for width in (375, 320) for i in range(7)]:
        page.set_viewport_size({**PHONE, "width": width})
        days.nth(i).click()
        expect(days.nth(i)).to_have_attribute("aria-pressed", "true")
        expect(visible_columns).to_have_count(2)
        assert page.locator(".week-grid thead th:visible").nth(1).inner_text() == days.nth(i).inner_text()
        # The busy times below the grid follow the same day (seven narrow columns broke names mid-word).
        busy_days = page.locator(".busy-grid thead th:visible")
        expect(busy_days).to_have_count(2)
        assert busy_days.nth(1).inner_text() == days.nth(i).inner_text()
        assert sideways_overflow(page) == 0, f"day {i} at {width} px: {sticking_out(page)}"
        problems = small_targets(
            page, ".week-grid a, .week-grid button, .week-grid input, .day-picker button"
        )
        assert not problems, f"day {i} at {width} px: targets under 24 x 24 px: {problems}"
    assert page.locator(".week-grid .shift:visible").count() > 0
    assert page.locator(".week-grid .shift.open .assign input").count() > 0  # the walk met an Assign box


def test_the_assign_combobox_fits_on_a_phone(demo, demo_login, live_server):
    from django.urls import reverse

    from shiftdesk.scheduling.models import Shift, Site

    tz = Site.load().tzinfo
    page = demo_login(demo.admin, PHONE)
    open_shift = next(
        s
        for s in Shift.objects.filter(schedule=demo.schedule).order_by("start")
        if s.assignments.count() < s.staff_needed
    )
    local = open_shift.start.astimezone(tz)
    page.goto(live_server.url + reverse("schedule_week", args=[demo.schedule.pk]) + f"?week={local.date()}")
    page.locator(f'[data-show-day="{(local.weekday() + 1) % 7}"]').click()  # weeks start on Sunday
    box = page.locator(f"#a{open_shift.pk}")
    box.click()
    page.keyboard.type("a")
    listbox = page.get_by_role("listbox")
    expect(listbox).to_be_visible()
    assert listbox.get_by_role("option").count() >= 1
    assert sideways_overflow(page) == 0
    edge = listbox.bounding_box()
    assert edge["x"] >= 0 and edge["x"] + edge["width"] <= PHONE["width"]
    assert not small_targets(page, "[role=option]")


STACKED_CELLS_JS = """(table) => Array.from(table.querySelectorAll('tbody td'))
  .filter(td => td.offsetParent !== null && td.innerText.trim())
  .map(td => [Math.round(td.getBoundingClientRect().width), getComputedStyle(td, '::before').content, td.innerText.trim().slice(0, 30)])
"""


def test_record_tables_read_as_labelled_lines(demo, demo_login, live_server):
    """Integration Status has ten columns and the admin's Time Off list six: squeezed into 375 px they broke
    names and headings letter by letter (Integration Status was 12,000 px tall). On a phone each row is a block
    of lines, each line named by its column."""
    from django.urls import reverse

    page = demo_login(demo.admin, PHONE)
    for url, columns in (
        (
            reverse("integration_status"),
            {"Account", "Connection", "Provider", "Calendar account", "Exchange Errors"},
        ),
        (reverse("time_off_list"), {"Staff", "When", "Repeats", "Reason", "Status"}),
    ):
        page.goto(live_server.url + url)
        cells = page.locator("main table.stacked").first.evaluate(STACKED_CELLS_JS)
        assert cells, url
        narrow = [c for c in cells if c[0] < PHONE["width"] / 2]
        assert not narrow, f"{url}: cells squeezed into columns: {narrow[:5]}"
        labels = {c[1].strip('"').removesuffix(": ") for c in cells if c[1] != "none"}
        assert columns <= labels, (url, columns - labels)
        assert sideways_overflow(page) == 0
    # On a desktop the same tables are tables.
    desktop = demo_login(demo.admin)
    desktop.goto(live_server.url + reverse("integration_status"))
    assert (
        desktop.locator("main table.stacked td").first.evaluate("e => getComputedStyle(e).display")
        == "table-cell"
    )
