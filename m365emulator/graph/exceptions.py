"""Graph's real error codes and messages, raised by models and handlers and rendered as Graph error bodies."""

from __future__ import annotations


class GraphError(Exception):
    """An error Graph answers with: HTTP status, `error.code`, `error.message`, optional extra headers."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def item_not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def id_malformed() -> GraphError:
    return GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")


def access_denied() -> GraphError:
    return GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")


def directory_denied() -> GraphError:
    return GraphError(
        403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
    )


def irresolvable_conflict() -> GraphError:
    return GraphError(
        412,
        "ErrorIrresolvableConflict",
        "The send or update operation could not be performed because the change key passed in the "
        "request does not match the current change key for the item.",
    )


def invalid_request(message: str) -> GraphError:
    return GraphError(400, "ErrorInvalidRequest", message)


def bad_request(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def unknown_property(name: str, type_name: str = "microsoft.graph.event") -> GraphError:
    return GraphError(
        400,
        "RequestBodyRead",
        f"The property '{name}' does not exist on type '{type_name}'. Make sure to only use property names "
        "that are defined by the type or mark the type as open type.",
    )


def timezone_not_supported(name: str) -> GraphError:
    return GraphError(
        400,
        "TimeZoneNotSupportedException",
        f"A valid TimeZone value must be specified. The following TimeZone value is not supported: '{name}'.",
    )


def invalid_user(name: str) -> GraphError:
    return GraphError(404, "ErrorInvalidUser", f"The requested user '{name}' is invalid.")


def unauthenticated(message: str) -> GraphError:
    return GraphError(
        401,
        "InvalidAuthenticationToken",
        message,
        {
            "WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/'
            'oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'
        },
    )


def throttled(limit: str, retry_after: int) -> GraphError:
    return GraphError(
        429,
        "ApplicationThrottled",
        f"Application is over its {limit} limit.",
        {"Retry-After": str(retry_after)},
    )


def sync_state_not_found() -> GraphError:
    return GraphError(
        410, "SyncStateNotFound", "The sync state generation is not found; generation=0;[highest=0]."
    )


def segment_not_found(segment: str) -> GraphError:
    return bad_request(f"Resource not found for the segment '{segment}'.")
