"""The identity platform's real errors: AADSTS codes, OAuth error names and Microsoft's wording.

`AadError.body()` renders the JSON the /token endpoint answers with; the authorize pages render the same
error on Microsoft's HTML error page or as redirect parameters.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass


@dataclass
class AadError(Exception):
    code: int
    error: str
    message: str
    status: int = 400
    suberror: str | None = None
    subcode: str | None = None  # error_subcode on redirects (e.g. "cancel")

    def __post_init__(self) -> None:
        super().__init__(f"AADSTS{self.code}: {self.message}")
        self.trace_id = str(uuid.uuid4())
        self.timestamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")

    def description(self, correlation_id: str) -> str:
        # Microsoft separates the trailer with CRLF inside the JSON string.
        return (
            f"AADSTS{self.code}: {self.message}\r\nTrace ID: {self.trace_id}\r\n"
            f"Correlation ID: {correlation_id}\r\nTimestamp: {self.timestamp}"
        )

    def body(self, correlation_id: str) -> dict:
        body = {
            "error": self.error,
            "error_description": self.description(correlation_id),
            "error_codes": [self.code],
            "timestamp": self.timestamp,
            "trace_id": self.trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
        }
        if self.suberror:
            body["suberror"] = self.suberror
        return body


# --- client and request ------------------------------------------------------------------------------
def missing_parameter(name: str) -> AadError:
    return AadError(
        900144, "invalid_request", f"The request body must contain the following parameter: '{name}'."
    )


def malformed_request(detail: str = "Request is malformed or invalid.") -> AadError:
    return AadError(9002313, "invalid_request", f"Invalid request. {detail}")


def tenant_not_found(tenant: str) -> AadError:
    return AadError(
        90002,
        "invalid_tenant",
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into "
        "the correct cloud. Check with your subscription administrator, this may happen if there are no active "
        "subscriptions for the tenant.",
    )


def app_not_found(client_id: str, directory_name: str) -> AadError:
    return AadError(
        700016,
        "unauthorized_client",
        f"Application with identifier '{client_id}' was not found in the directory '{directory_name}'. This can "
        "happen if the application has not been installed by the administrator of the tenant or consented to by "
        "any user in the tenant. You may have sent your authentication request to the wrong tenant.",
    )


def not_multi_tenant(client_id: str, app_name: str) -> AadError:
    return AadError(
        50194,
        "invalid_request",
        f"Application '{client_id}'({app_name}) is not configured as a multi-tenant application. Usage of the "
        "/common endpoint is not supported for such applications created after '10/15/2018'. Use a "
        "tenant-specific endpoint or configure the application to be multi-tenant.",
    )


def redirect_mismatch(redirect_uri: str, client_id: str) -> AadError:
    return AadError(
        50011,
        "invalid_request",
        f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured "
        f"for the application '{client_id}'. Make sure the redirect URI sent in the request matches one added to "
        "your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more "
        "about how to fix this.",
    )


def invalid_scope(scope: str) -> AadError:
    return AadError(
        70011,
        "invalid_scope",
        f"The provided value for the input parameter 'scope' is not valid. The scope '{scope}' is not valid.",
    )


def unsupported_response_type(value: str) -> AadError:
    return AadError(
        700054 if value else 900144,
        "unsupported_response_type",
        f"response_type '{value}' is not enabled for the application."
        if value
        else "The request body must contain the following parameter: 'response_type'.",
    )


def unsupported_grant_type(value: str) -> AadError:
    return AadError(
        70003, "unsupported_grant_type", f"The app requested an unsupported grant type '{value}'."
    )


# --- client authentication ------------------------------------------------------------------------------
def invalid_secret(client_id: str) -> AadError:
    return AadError(
        7000215,
        "invalid_client",
        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
        f"value, not the client secret ID, for a secret added to app '{client_id}'.",
        status=401,
    )


def expired_secret(client_id: str) -> AadError:
    return AadError(
        7000222,
        "invalid_client",
        f"The provided client secret keys for app '{client_id}' are expired. Visit the Azure portal to create new "
        "keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added "
        "security: https://aka.ms/certCreds.",
        status=401,
    )


def credential_missing() -> AadError:
    return AadError(
        7000218,
        "invalid_client",
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        status=401,
    )


def bad_assertion(reason: str) -> AadError:
    return AadError(700027, "invalid_client", f"Client assertion failed signature validation. {reason}", 401)


def assertion_time(reason: str) -> AadError:
    return AadError(
        700024, "invalid_client", f"Client assertion is not within its valid time range. {reason}", 401
    )


# --- grants ----------------------------------------------------------------------------------------------
def code_redeemed() -> AadError:
    return AadError(
        54005,
        "invalid_grant",
        "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing "
        "refresh token.",
    )


def code_expired() -> AadError:
    return AadError(
        70008,
        "invalid_grant",
        "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive "
        "authorization request for this user and resource.",
    )


def grant_malformed() -> AadError:
    return AadError(9002313, "invalid_grant", "Invalid request. Request is malformed or invalid.")


def grant_invalid() -> AadError:
    return AadError(
        70000,
        "invalid_grant",
        "The request was denied because one or more scopes requested are unauthorized or expired. The user must "
        "first sign in and grant the client application access to the requested scope.",
    )


def refresh_inactive(issued: str) -> AadError:
    return AadError(
        700082,
        "invalid_grant",
        f"The refresh token has expired due to inactivity. The token was issued on {issued} and was inactive for "
        "90.00:00:00.",
    )


def grant_revoked(issued: str, valid_from: str) -> AadError:
    return AadError(
        50173,
        "invalid_grant",
        "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have "
        f"changed or reset their password. The grant was issued on '{issued}' and the TokensValidFrom date (before "
        f"which tokens are not valid) for this user is '{valid_from}'.",
    )


def pkce_mismatch() -> AadError:
    return AadError(
        501481,
        "invalid_grant",
        "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
    )


def reply_address_mismatch() -> AadError:
    return AadError(
        500112,
        "invalid_grant",
        "The reply address does not match the reply address provided when requesting Authorization code.",
    )


def consent_required(client_id: str, app_name: str) -> AadError:
    return AadError(
        65001,
        "invalid_grant",
        f"The user or administrator has not consented to use the application with ID '{client_id}' named "
        f"'{app_name}'. Send an interactive authorization request for this user and resource.",
        suberror="consent_required",
    )


# --- interactive ----------------------------------------------------------------------------------------
def user_declined() -> AadError:
    return AadError(65004, "access_denied", "User declined to consent to access the app.", subcode="cancel")


def approval_return_declined() -> AadError:
    """Variant admin_approval_return=access_denied: "Return to the application" from "Need admin approval" comes
    back like a decline, without the error_subcode=cancel a pressed Cancel carries."""
    return AadError(65004, "access_denied", "User declined to consent to access the app.")


def admin_approval_needed() -> AadError:
    return AadError(90094, "consent_required", "The grant requires admin permission.")


def login_required() -> AadError:
    return AadError(50058, "login_required", "A silent sign-in request was sent but no user is signed in.")


def interaction_required_consent(client_id: str, app_name: str) -> AadError:
    err = consent_required(client_id, app_name)
    err.error = "consent_required"
    return err


def user_not_in_tenant(login: str, idp: str, tenant_name: str, client_id: str, app_name: str) -> AadError:
    return AadError(
        50020,
        "invalid_request",
        f"User account '{login}' from identity provider '{idp}' does not exist in tenant '{tenant_name}' and cannot "
        f"access the application '{client_id}'({app_name}) in that tenant. The account needs to be added as an "
        "external user in the tenant first. Sign out and sign in again with a different Azure Active Directory "
        "user account.",
    )


def bad_password() -> AadError:
    return AadError(
        50126, "invalid_grant", "Error validating credentials due to invalid username or password."
    )


def unknown_user(login: str, tenant_name: str) -> AadError:
    return AadError(
        50034,
        "invalid_grant",
        f"The user account {login} does not exist in the {tenant_name} directory. To sign into this application, "
        "the account must be added to the directory.",
    )


def user_disabled() -> AadError:
    return AadError(50057, "invalid_grant", "The user account is disabled.")
