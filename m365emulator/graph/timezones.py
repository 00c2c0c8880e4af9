"""Windows <-> IANA time zone names and Graph's dateTimeTimeZone formatting (7-digit fractions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .exceptions import GraphError, timezone_not_supported

# Windows zone name -> IANA (the CLDR "001" territory mapping) for the zones people commonly use.
WINDOWS_TO_IANA: dict[str, str] = {
    "UTC": "UTC",
    "Coordinated Universal Time": "UTC",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "W. Europe Standard Time": "Europe/Berlin",
    "Romance Standard Time": "Europe/Paris",
    "Central Europe Standard Time": "Europe/Budapest",
    "Central European Standard Time": "Europe/Warsaw",
    "E. Europe Standard Time": "Europe/Chisinau",
    "FLE Standard Time": "Europe/Kiev",
    "GTB Standard Time": "Europe/Bucharest",
    "Turkey Standard Time": "Europe/Istanbul",
    "Russian Standard Time": "Europe/Moscow",
    "Israel Standard Time": "Asia/Jerusalem",
    "Egypt Standard Time": "Africa/Cairo",
    "South Africa Standard Time": "Africa/Johannesburg",
    "W. Central Africa Standard Time": "Africa/Lagos",
    "E. Africa Standard Time": "Africa/Nairobi",
    "Morocco Standard Time": "Africa/Casablanca",
    "Arab Standard Time": "Asia/Riyadh",
    "Arabian Standard Time": "Asia/Dubai",
    "Iran Standard Time": "Asia/Tehran",
    "Pakistan Standard Time": "Asia/Karachi",
    "India Standard Time": "Asia/Calcutta",
    "Nepal Standard Time": "Asia/Katmandu",
    "Bangladesh Standard Time": "Asia/Dhaka",
    "SE Asia Standard Time": "Asia/Bangkok",
    "China Standard Time": "Asia/Shanghai",
    "Singapore Standard Time": "Asia/Singapore",
    "Taipei Standard Time": "Asia/Taipei",
    "W. Australia Standard Time": "Australia/Perth",
    "Tokyo Standard Time": "Asia/Tokyo",
    "Korea Standard Time": "Asia/Seoul",
    "Cen. Australia Standard Time": "Australia/Adelaide",
    "AUS Central Standard Time": "Australia/Darwin",
    "E. Australia Standard Time": "Australia/Brisbane",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "Tasmania Standard Time": "Australia/Hobart",
    "New Zealand Standard Time": "Pacific/Auckland",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "Alaskan Standard Time": "America/Anchorage",
    "Pacific Standard Time": "America/Los_Angeles",
    "US Mountain Standard Time": "America/Phoenix",
    "Mountain Standard Time": "America/Denver",
    "Central Standard Time": "America/Chicago",
    "Central Standard Time (Mexico)": "America/Mexico_City",
    "Canada Central Standard Time": "America/Regina",
    "Central America Standard Time": "America/Guatemala",
    "Eastern Standard Time": "America/New_York",
    "SA Pacific Standard Time": "America/Bogota",
    "Atlantic Standard Time": "America/Halifax",
    "Newfoundland Standard Time": "America/St_Johns",
    "E. South America Standard Time": "America/Sao_Paulo",
    "Argentina Standard Time": "America/Buenos_Aires",
    "Pacific SA Standard Time": "America/Santiago",
    "Venezuela Standard Time": "America/Caracas",
}
# IANA -> Windows, including the aliases zoneinfo knows under newer names.
IANA_TO_WINDOWS: dict[str, str] = {
    iana: win for win, iana in WINDOWS_TO_IANA.items() if win != "Coordinated Universal Time"
}
IANA_TO_WINDOWS.update(
    {
        "Etc/UTC": "UTC",
        "Etc/GMT": "UTC",
        "GMT": "UTC",
        "Europe/Dublin": "GMT Standard Time",
        "Europe/Lisbon": "GMT Standard Time",
        "Europe/Amsterdam": "W. Europe Standard Time",
        "Europe/Rome": "W. Europe Standard Time",
        "Europe/Stockholm": "W. Europe Standard Time",
        "Europe/Vienna": "W. Europe Standard Time",
        "Europe/Zurich": "W. Europe Standard Time",
        "Europe/Oslo": "W. Europe Standard Time",
        "Europe/Brussels": "Romance Standard Time",
        "Europe/Madrid": "Romance Standard Time",
        "Europe/Copenhagen": "Romance Standard Time",
        "Europe/Prague": "Central Europe Standard Time",
        "Europe/Helsinki": "FLE Standard Time",
        "Europe/Kyiv": "FLE Standard Time",
        "Europe/Athens": "GTB Standard Time",
        "Asia/Kolkata": "India Standard Time",
        "Asia/Kathmandu": "Nepal Standard Time",
        "Asia/Hong_Kong": "China Standard Time",
        "America/Toronto": "Eastern Standard Time",
        "America/Vancouver": "Pacific Standard Time",
        "America/Argentina/Buenos_Aires": "Argentina Standard Time",
    }
)


@lru_cache(maxsize=512)
def _zone(name: str) -> tzinfo | None:
    if name in ("UTC", "Etc/UTC", "Coordinated Universal Time", "tzone://Microsoft/Utc"):
        return UTC
    iana = WINDOWS_TO_IANA.get(name, name)
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone(name: str) -> tzinfo:
    """The tzinfo for a Windows or IANA zone name; unknown names get Graph's TimeZoneNotSupportedException."""
    tz = _zone(name) if isinstance(name, str) and name else None
    if tz is None:
        raise timezone_not_supported(name if isinstance(name, str) else "")
    return tz


def is_known(name: str) -> bool:
    return isinstance(name, str) and bool(name) and _zone(name) is not None


def parse_local(value: object, field: str) -> datetime:
    """Parse a dateTimeTimeZone.dateTime (no offset, up to 7 fraction digits) into a naive datetime."""
    if not isinstance(value, str) or not value:
        raise GraphError(400, "ErrorInvalidRequest", f"Your request can't be completed. {field} is missing.")
    text = value.strip().removesuffix("Z")
    if "." in text:
        head, frac = text.split(".", 1)
        text = f"{head}.{frac[:6]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise GraphError(
            400,
            "ErrorInvalidRequest",
            f"Cannot convert the literal '{value}' to the expected type 'Edm.DateTime'.",
        ) from None
    return (
        parsed.replace(tzinfo=None) if parsed.tzinfo is None else parsed.astimezone(UTC).replace(tzinfo=None)
    )


def to_utc(local: datetime, tz_name: str) -> datetime:
    return local.replace(tzinfo=zone(tz_name)).astimezone(UTC)


def format_local(instant: datetime, tz_name: str) -> str:
    """Graph's dateTime text: wall-clock time in the zone with a 7-digit fraction."""
    local = instant.astimezone(zone(tz_name))
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond:06d}0"


def format_utc_stamp(instant: datetime) -> str:
    """createdDateTime-style UTC stamp with 7 fraction digits and Z."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond:06d}0Z"


def windows_name(name: str) -> str:
    """The Windows name for a zone when we know one (Outlook reports original zones by Windows name)."""
    if name in WINDOWS_TO_IANA:
        return name
    return IANA_TO_WINDOWS.get(name, name)


def parse_query_instant(value: str) -> datetime | None:
    """calendarView's startDateTime/endDateTime: ISO 8601 with optional offset; no offset means UTC."""
    text = value.strip().replace(" ", "+") if value else ""
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    if "." in text:
        head, rest = text.split(".", 1)
        digits = "".join(ch for ch in rest if ch.isdigit())
        tail = rest[len(digits) :]
        text = f"{head}.{digits[:6]}{tail}" if digits else f"{head}{tail}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def day_start(d: datetime) -> datetime:
    return d.replace(hour=0, minute=0, second=0, microsecond=0)


ONE_DAY = timedelta(days=1)
