"""Typed failures of the Microsoft identity platform and Graph, shared by auth.py, graph.py and provider.py.

Every error says whether it is `permanent` (retrying the same step cannot help: stop the connection and show
the reason) and, when Microsoft said so, `retry_after` seconds. Messages are written for people and never
contain a secret, a token or a code: they may be stored in `CalendarConnection.last_error` and shown.
"""

from __future__ import annotations


class MicrosoftError(Exception):
    """Base of every failure talking to Microsoft. Catch this to catch them all."""

    permanent: bool = False

    def __init__(
        self,
        message: str,
        *,
        permanent: bool | None = None,
        retry_after: float | None = None,
        code: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        if permanent is not None:
            self.permanent = permanent
        self.retry_after = retry_after
        # An AADSTS code ("AADSTS7000215") or a Graph error code ("ErrorItemNotFound"); never secret.
        self.code = code

    def __str__(self) -> str:
        return self.message


# --- identity platform (login.microsoftonline.com) ------------------------------------------------------------
class IdentityError(MicrosoftError):
    """The identity platform answered with an OAuth error (an AADSTS code), e.g. a rejected client secret."""

    def __init__(
        self, message: str, *, error: str = "", code: str = "", permanent: bool | None = None
    ) -> None:
        super().__init__(message, permanent=permanent, code=code)
        self.error = error  # the OAuth error name: invalid_client, invalid_grant, ...


class AppCredentialsRejected(IdentityError):
    """The app's own credentials were refused (AADSTS7000215 wrong secret, 7000222 expired, 700016 unknown
    app...): every user is affected until an admin fixes Admin > Integrations. Not the connection's fault: do
    not mark the connection; pause and show the admin."""

    permanent = True


class IdentityUnavailable(MicrosoftError):
    """The identity platform could not be reached, timed out, or answered 5xx/429. Try again later."""

    permanent = False


class ReauthorizationRequired(MicrosoftError):
    """The user's grant is gone (revoked, expired, password changed): only the user can fix it, by
    authorizing again. The connection has already been marked "needs reauthorization"."""

    permanent = True


class IntegrationDisabled(MicrosoftError):
    """Azure AD OAuth 2 is not set up or an admin set it to Disabled. Syncing pauses (events stay) and resumes
    when it is enabled again; this is not a fault of the connection, so do not mark the connection."""

    permanent = True


# --- Microsoft Graph (graph.microsoft.com) --------------------------------------------------------------------
class GraphError(MicrosoftError):
    """Graph answered with an error. `status` is the HTTP status (0 when no response arrived)."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str = "",
        permanent: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, permanent=permanent, retry_after=retry_after, code=code)
        self.status = status


class GraphUnavailable(GraphError):
    """Network failure, timeout, or 500/502/503/504: transient; back off (honour retry_after if set)."""

    permanent = False


class GraphThrottled(GraphError):
    """429 (or 503 with Retry-After): wait `retry_after` seconds for this mailbox, then continue."""

    permanent = False


class GraphAuthenticationError(GraphError):
    """401: the access token was refused (expired or revoked). Get a new token once; if the refresh fails,
    auth.acquire_access_token raises ReauthorizationRequired."""

    permanent = False


class GraphAccessDenied(GraphError):
    """403: the app or user lacks permission (consent withdrawn, mailbox not licensed). Permanent."""

    permanent = True


class GraphNotFound(GraphError):
    """404: the calendar, event or mailbox does not exist (deleted in Outlook). Permanent for that item."""

    permanent = True


class GraphConflict(GraphError):
    """409/412: a stale change key (If-Match) or a conflicting write. Re-read and decide again."""

    permanent = False


class GraphBadRequest(GraphError):
    """400 and other 4xx: the request itself is wrong; sending it again cannot help."""

    permanent = True
