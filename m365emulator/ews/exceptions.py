"""EWS's documented error codes and messages: per-item ResponseMessage errors and whole-request SOAP faults.

Codes and texts follow Exchange's (messages.xsd ResponseCodeType and what Exchange 2016 answers). ErrorServerBusy
is a SOAP fault (HTTP 500) whose detail carries the back-off hint as <t:Value Name="BackOffMilliseconds">,
which is where exchangelib reads it.
"""

from __future__ import annotations

MESSAGES = {
    "ErrorItemNotFound": "The specified object was not found in the store., The process failed to get the "
    "correct properties.",
    "ErrorFolderNotFound": "The specified folder could not be found in the store.",
    "ErrorAccessDenied": "Access is denied. Check credentials and try again.",
    "ErrorServerBusy": "The server cannot service this request right now. Try again later.",
    "ErrorNonExistentMailbox": "The SMTP address has no mailbox associated with it.",
    "ErrorInvalidChangeKey": "The change key is invalid.",
    "ErrorIrresolvableConflict": "The send or update operation could not be performed because the change key "
    "passed in the request does not match the current change key for the item.",
    "ErrorInvalidIdMalformed": "Id is malformed.",
    "ErrorInvalidRequest": "The request is invalid.",
    "ErrorInvalidOperation": "The operation is not valid.",
    "ErrorSchemaValidation": "The request failed schema validation.",
    "ErrorCalendarEndDateIsEarlierThanStartDate": "EndDate is earlier than StartDate",
    "ErrorInvalidPropertyRequest": "The property request is invalid.",
    "ErrorInvalidRestriction": "The restriction is invalid.",
    "ErrorCalendarViewRangeTooBig": "The calendar view range is too big.",
    "ErrorInvalidPropertySet": "Property cannot be set.",
    "ErrorInvalidOperationForDistinguishedFolder": "Distinguished folders cannot be deleted.",
}


class EWSError(Exception):
    """One ResponseMessage of a request failed (ResponseClass="Error"); the other messages may succeed."""

    def __init__(self, code: str, message: str | None = None) -> None:
        self.code = code
        self.message = message or MESSAGES.get(code, code)
        super().__init__(f"{code}: {self.message}")


class EWSFault(Exception):
    """The whole request failed: a SOAP Fault with HTTP 500, e.g. ErrorServerBusy or a schema violation."""

    def __init__(
        self, code: str, message: str | None = None, *, back_off_ms: int | None = None, status: int = 500
    ) -> None:
        self.code = code
        self.message = message or MESSAGES.get(code, code)
        self.back_off_ms = back_off_ms
        self.status = status
        super().__init__(f"{code}: {self.message}")


def item_not_found() -> EWSError:
    return EWSError("ErrorItemNotFound")


def folder_not_found() -> EWSError:
    return EWSError("ErrorFolderNotFound")


def access_denied() -> EWSError:
    return EWSError("ErrorAccessDenied")


def non_existent_mailbox() -> EWSError:
    return EWSError("ErrorNonExistentMailbox")


def server_busy(back_off_ms: int) -> EWSFault:
    return EWSFault("ErrorServerBusy", back_off_ms=back_off_ms)


def schema_violation(detail: str) -> EWSFault:
    return EWSFault("ErrorSchemaValidation", f"The request failed schema validation: {detail}")
