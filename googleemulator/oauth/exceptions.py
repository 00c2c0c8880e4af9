"""Google's OAuth 2.0 errors: JSON errors of the token / revoke / userinfo endpoints
(`{"error", "error_description"}`) and the "Error 400: redirect_uri_mismatch"-style error pages of the
authorization endpoint (https://developers.google.com/identity/protocols/oauth2/web-server#authorization-errors)."""

from __future__ import annotations


class TokenError(Exception):
    """An error of the token endpoint (RFC 6749 §5.2 as Google words it)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


def client_not_found() -> TokenError:
    return TokenError("invalid_client", "The OAuth client was not found.", 401)


def wrong_secret() -> TokenError:
    return TokenError("invalid_client", "Unauthorized", 401)


def bad_code() -> TokenError:
    return TokenError("invalid_grant", "Malformed auth code.")


def used_or_expired_code() -> TokenError:
    return TokenError("invalid_grant", "Bad Request")


def expired_or_revoked() -> TokenError:
    return TokenError("invalid_grant", "Token has been expired or revoked.")


class PageError(Exception):
    """An error the authorization endpoint shows on Google's error page and never sends to the app: the
    client or its redirect URI cannot be trusted, or the app may not be used by this account."""

    def __init__(self, status: int, error: str, headline: str, explanation: str, details: str = "") -> None:
        super().__init__(f"Error {status}: {error}")
        self.status, self.error, self.headline, self.explanation, self.details = (
            status,
            error,
            headline,
            explanation,
            details,
        )


def page_invalid_client() -> PageError:
    return PageError(
        401,
        "invalid_client",
        "Access blocked: Authorization Error",
        "The OAuth client was not found.",
    )


def page_redirect_uri_mismatch(app_name: str, redirect_uri: str) -> PageError:
    return PageError(
        400,
        "redirect_uri_mismatch",
        "Access blocked: This app's request is invalid",
        f"You can't sign in because {app_name} sent an invalid request. You can try again later, or contact "
        "the developer about this issue. If you are a developer of this app, see error details. "
        "You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy. If you're "
        "the app developer, register the redirect URI in the Google Cloud Console.",
        f"redirect_uri={redirect_uri}",
    )


def page_invalid_request(message: str) -> PageError:
    return PageError(400, "invalid_request", "Access blocked: Authorization Error", message)


def page_invalid_scope(scopes: list[str]) -> PageError:
    return PageError(
        400,
        "invalid_scope",
        "Access blocked: Authorization Error",
        f"Some requested scopes were invalid. {{invalid=[{', '.join(scopes)}]}}",
    )


def page_access_denied_testing(app_name: str) -> PageError:
    return PageError(
        403,
        "access_denied",
        f"Access blocked: {app_name} has not completed the Google verification process",
        f"{app_name} has not completed the Google verification process. The app is currently being tested, "
        "and can only be accessed by developer-approved testers. If you think you should have access, "
        "contact the developer.",
    )


def page_org_internal(app_name: str) -> PageError:
    return PageError(
        403,
        "org_internal",
        f"Access blocked: {app_name} can only be used within its organization",
        f"{app_name} can only be used within its organization. This app is restricted to users in its "
        "Google Workspace organization.",
    )
