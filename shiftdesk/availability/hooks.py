"""Where availability plugs into other apps' pages and checks, without those apps importing it: the
"busy in Outlook" conflict source, the Outlook Free/Busy box on Calendar Sync, the site settings box on
Admin > Integrations, and the week grid's busy shading."""

from __future__ import annotations

from shiftdesk.lib import panels


def register() -> None:
    """Called once from AvailabilityConfig.ready()."""
    from shiftdesk.availability import boxes, busy, shading
    from shiftdesk.scheduling.conflicts import register_conflict_source
    from shiftdesk.scheduling.grid import register_grid_section

    register_conflict_source("outlook_busy", busy.outlook_conflicts)
    register_grid_section("auto_assign", shading.auto_assign_button, managers_only=True)
    # Only to those who schedule: the box on Calendar Sync promises staff their subjects go to "the admins who
    # schedule you", not to everyone on the roster.
    register_grid_section("outlook_busy", shading.busy_section, managers_only=True)
    panels.register_panel(
        panels.CALENDAR_SYNC,
        "outlook_freebusy",
        "availability/freebusy_box.html",
        boxes.freebusy_box,
        order=30,
    )
    panels.register_panel(
        panels.ADMIN_INTEGRATIONS,
        "outlook_freebusy_settings",
        "availability/settings_box.html",
        boxes.settings_box,
        order=30,
    )
