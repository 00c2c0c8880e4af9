"""/outlook/...: an Outlook-like week view of a mailbox's calendars, where a person can also act as the user."""
