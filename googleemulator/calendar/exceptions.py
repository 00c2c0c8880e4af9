"""The Calendar API's real errors, in Google's JSON error format
(https://developers.google.com/calendar/api/guides/errors):
`{"error": {"code", "message", "errors": [{"domain", "reason", "message", "locationType"?, "location"?}],
"status"}}`."""

from __future__ import annotations

STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    410: "NOT_FOUND",  # Google answers 410 with no gRPC status of its own; the payload carries the reason
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class ApiError(Exception):
    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        domain: str = "global",
        location: str | None = None,
        location_type: str | None = None,
        status: str | None = None,
        top_message: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.domain = code, reason, message, domain
        self.location, self.location_type = location, location_type
        self.status = status or STATUS.get(code, "UNKNOWN")
        self.top_message = top_message or message
        self.headers = headers or {}

    def body(self) -> dict:
        item = {"domain": self.domain, "reason": self.reason, "message": self.message}
        if self.location:
            item["locationType"] = self.location_type or "parameter"
            item["location"] = self.location
        error: dict = {"code": self.code, "message": self.top_message, "errors": [item]}
        if self.status:
            error["status"] = self.status
        return {"error": error}


def unauthenticated() -> ApiError:
    return ApiError(
        401,
        "authError",
        "Invalid Credentials",
        location="Authorization",
        location_type="header",
        top_message="Request had invalid authentication credentials. Expected OAuth 2 access token, login "
        "cookie or other valid authentication credential. See "
        "https://developers.google.com/identity/sign-in/web/devconsole-project.",
        headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'},
    )


def insufficient_scopes() -> ApiError:
    return ApiError(
        403,
        "insufficientPermissions",
        "Insufficient Permission",
        top_message="Request had insufficient authentication scopes.",
        headers={
            "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="insufficient_scope"'
        },
    )


def access_not_configured(project_number: str) -> ApiError:
    message = (
        f"Google Calendar API has not been used in project {project_number} before or it is disabled. "
        "Enable it by visiting https://console.developers.google.com/apis/api/calendar-json.googleapis.com/"
        f"overview?project={project_number} then retry. If you enabled this API recently, wait a few "
        "minutes for the action to propagate to our systems and retry."
    )
    return ApiError(403, "accessNotConfigured", message, domain="usageLimits")


def not_found() -> ApiError:
    return ApiError(404, "notFound", "Not Found")


def deleted() -> ApiError:
    return ApiError(410, "deleted", "Resource has been deleted")


def duplicate() -> ApiError:
    return ApiError(409, "duplicate", "The requested identifier already exists.")


def full_sync_required() -> ApiError:
    return ApiError(
        410,
        "fullSyncRequired",
        "Sync token is no longer valid, a full sync is required.",
        location="syncToken",
        location_type="parameter",
    )


def condition_not_met() -> ApiError:
    return ApiError(
        412, "conditionNotMet", "Precondition Failed", location="If-Match", location_type="header"
    )


def invalid(message: str, location: str | None = None) -> ApiError:
    return ApiError(
        400, "invalid", message, location=location, location_type="parameter" if location else None
    )


def required(message: str, location: str | None = None) -> ApiError:
    return ApiError(
        400, "required", message, location=location, location_type="parameter" if location else None
    )


def time_range_empty(location: str = "timeMax") -> ApiError:
    return ApiError(
        400, "timeRangeEmpty", "The specified time range is empty.", domain="calendar", location=location
    )


def forbidden(message: str = "Forbidden") -> ApiError:
    return ApiError(403, "forbidden", message)


def rate_limit(kind: str, code: int = 403) -> ApiError:
    """kind: rateLimitExceeded (the project's) | userRateLimitExceeded (one user's); 429 is the newer form."""
    message = "Rate Limit Exceeded" if kind == "rateLimitExceeded" else "User Rate Limit Exceeded"
    return ApiError(
        code, kind, message, domain="usageLimits", status="RESOURCE_EXHAUSTED" if code == 429 else None
    )


def backend_error(code: int = 500) -> ApiError:
    return ApiError(code, "backendError", "Backend Error")
