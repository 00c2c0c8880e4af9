"""Microsoft Graph v1.0 calendars surface of the emulator (routes in urls.py, state in models.py)."""
