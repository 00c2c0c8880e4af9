"""The few errors of the Google side; messages are for people and never hold a token or a secret."""

from __future__ import annotations


class GoogleError(Exception):
    def __init__(self, message: str, *, code: str = "", permanent: bool = True, status: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.permanent = permanent
        self.status = status

    def __str__(self) -> str:
        return self.message


class GoogleUnavailable(GoogleError):
    """Google could not be reached, or answered 5xx / 429: try again later."""

    def __init__(self, message: str = "Google could not be reached. Try again in a few minutes.") -> None:
        super().__init__(message, permanent=False)


class IntegrationDisabled(GoogleError):
    """Google OAuth 2 is not set up or Disabled in Admin > Integrations."""


class ReauthorizationRequired(GoogleError):
    """The user's grant is dead (revoked, expired): only Authorize with Google Account again helps."""
