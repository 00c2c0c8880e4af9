"""Availability from Outlook: staff's busy times, the "busy in Outlook" conflict, and auto-assign."""
