"""Private, revocable iCal feeds of each user's assigned shifts (RFC 5545 via icalendar)."""
