"""googleemulator: a local stand-in for Google's OAuth 2.0 / OpenID Connect endpoints and the Google
Calendar API v3, faithful enough that Google's own Python clients (google-auth, google-auth-oauthlib,
google-api-python-client) work against it unmodified. Served under /google by `m365emulator serve` (same
origin, same CA); imports nothing of Django or ShiftDesk. See README.md."""

PREFIX = "/google"  # where m365emulator's server mounts the Google side
CONTROL_PREFIX = "/_emulator/google"
