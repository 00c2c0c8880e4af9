"""Schedules, positions, shifts, assignments, time off and availability: the scheduler itself."""
