"""Google Calendar through Google OAuth 2: the admin's Google OAuth 2 box, each user's Google Authorization."""
