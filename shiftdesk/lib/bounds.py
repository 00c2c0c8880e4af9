"""The sane range of what people may type: dates between 2000 and 2100, and ids that are plain ASCII numbers
a database column can hold. Forms and query parameters use these so odd input is an error in words (or the
default), never a 500 (issue 11: year 9999 overflowed date arithmetic, "²".isdigit() is True but int("²")
fails, a 21-digit id overflows the database's integer)."""

from __future__ import annotations

import datetime as dt

from django import forms

EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2100, 12, 31)
DATE_RANGE_MESSAGE = f"Enter a date between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}."
MAX_ID = 2**63 - 1  # a BigAutoField's largest value


def in_range(day: dt.date) -> bool:
    return EARLIEST <= day <= LATEST


def parse_day(text: str | None, default: dt.date | None) -> tuple[dt.date | None, bool]:
    """A YYYY-MM-DD query parameter: (the date, True), or (default, False) when it is missing, not a date, or
    outside the sane range."""
    if not text:
        return default, True
    try:
        day = dt.date.fromisoformat(text[:10]) if len(text) <= 10 else None
    except ValueError:
        day = None
    if day is None or not in_range(day):
        return default, False
    return day, True


def parse_id(text: str | None) -> int | None:
    """A primary key from a form or query value: ASCII digits only, at most a BigAutoField's range."""
    text = (text or "").strip()
    if not text or not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


class BoundedDateField(forms.DateField):
    """A DateField that accepts only dates in [EARLIEST, LATEST], with a message that says so."""

    def validate(self, value):
        super().validate(value)
        if value is not None and not in_range(value):
            raise forms.ValidationError(DATE_RANGE_MESSAGE, code="date_out_of_range")

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.update({"min": EARLIEST.isoformat(), "max": LATEST.isoformat()})
        return attrs


class BoundedModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """A ModelMultipleChoiceField over integer keys that refuses a key outside the column's range as an invalid
    choice: Django passes it to a `pk__in` query, where SQLite raises OverflowError (a 500) on 21 digits."""

    def _check_values(self, value):
        if isinstance(value, list | tuple):
            for key in value:
                if parse_id(str(key)) is None:
                    raise forms.ValidationError(
                        self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": key}
                    )
        return super()._check_values(value)


def search_text(text: str | None) -> str:
    """A free-text search box's value: trimmed, without NUL characters (PostgreSQL text cannot hold them, so a
    query with one would fail; no name or address contains one), and at most 200 characters."""
    return (text or "").replace("\x00", "").strip()[:200]
