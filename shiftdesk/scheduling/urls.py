"""Scheduling routes. `dashboard`, `schedule_list`, `time_off_list`, `admin_schedules` are linked from base.html."""

from django.urls import path

from shiftdesk.scheduling.views import dashboard, grid, manage, shifts, time_off

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("schedules/", grid.schedule_list, name="schedule_list"),
    path("schedules/new/", manage.schedule_create, name="schedule_create"),
    path("schedules/<int:schedule_id>/", grid.schedule_week, name="schedule_week"),
    path("schedules/<int:schedule_id>/settings/", manage.schedule_edit, name="schedule_edit"),
    path("schedules/<int:schedule_id>/roster/", manage.schedule_roster, name="schedule_roster"),
    path("schedules/<int:schedule_id>/shifts/new/", shifts.shift_create, name="shift_create"),
    path("schedules/<int:schedule_id>/shifts/weekly/", shifts.shift_repeat, name="shift_repeat"),
    path("shifts/<int:shift_id>/", shifts.shift_edit, name="shift_edit"),
    path("shifts/<int:shift_id>/delete/", shifts.shift_delete, name="shift_delete"),
    path("shifts/<int:shift_id>/assign/", grid.shift_assign, name="shift_assign"),
    path("shifts/<int:shift_id>/unassign/", grid.shift_unassign, name="shift_unassign"),
    path("time-off/", time_off.time_off_list, name="time_off_list"),
    path("time-off/<int:time_off_id>/decide/", time_off.time_off_decide, name="time_off_decide"),
    path("time-off/<int:time_off_id>/withdraw/", time_off.time_off_cancel, name="time_off_cancel"),
    path("admin/schedules/", manage.admin_schedules, name="admin_schedules"),
    path("admin/positions/", manage.position_list, name="position_list"),
    path("admin/positions/<int:position_id>/", manage.position_edit, name="position_edit"),
]
