"""Legacy Password Authentication: Outlook/Exchange calendar sync through EWS (exchangelib)."""
