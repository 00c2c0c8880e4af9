"""EWS operations: parse one SOAP request, call the shared mailbox state (store.py over graph.models), write
the response. One function per operation, each answering one ResponseMessage per requested id/item so that
one missing item fails alone, as Exchange does.

Served: ConvertId (exchangelib's version probe), GetFolder, FindFolder, CreateItem, GetItem, UpdateItem,
DeleteItem, MoveItem, FindItem (CalendarView, IndexedPageItemView, simple Restrictions). Anything else is
answered with ErrorInvalidRequest, as a server that does not know the operation.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405
from collections.abc import Callable
from datetime import timedelta

from m365emulator.directory import User
from m365emulator.graph.models import Event, Mailbox

from . import exceptions as exc
from . import store
from .items import BodyBuilder, field_uri_key, parse_instant, write_item
from .soap import T, error, m, operation_response, sub, success, t

MAX_VIEW = timedelta(days=1830)  # Exchange's CalendarView limit is about five years


class Context:
    def __init__(self, state: object, user: User, header: ET.Element | None) -> None:
        self.state = state
        self.user = user
        self.header = header
        self.mailbox: Mailbox = state.graph.ensure_mailbox(user)  # type: ignore[attr-defined]

    def check_mailbox(self, ref: ET.Element | None) -> None:
        """A <t:Mailbox> in a DistinguishedFolderId: only the caller's own mailbox is open to them."""
        if ref is None:
            return
        address = (ref.findtext(t("EmailAddress")) or "").strip().lower()
        if not address:
            return
        own = {self.user.user_principal_name.lower(), (self.user.mail or "").lower()}
        if address in own:
            return
        other = self.state.directory.user_by_login(address)  # type: ignore[attr-defined]
        if other is None:
            raise exc.non_existent_mailbox()
        raise exc.access_denied()  # no delegate or impersonation rights in the emulator

    def folder(self, ref: ET.Element) -> store.Folder:
        if ref.tag == t("DistinguishedFolderId"):
            self.check_mailbox(ref.find(t("Mailbox")))
            return store.distinguished_folder(self.mailbox, ref.get("Id", ""))
        if ref.tag == t("FolderId"):
            return store.folder_by_id(self.mailbox, ref.get("Id", ""))
        raise exc.schema_violation(f"unexpected folder reference {ref.tag}")


def _shape(op: ET.Element, shape_tag: str) -> tuple[bool, list[str]]:
    """(IdOnly?, extended property ids asked for) from ItemShape/FolderShape."""
    shape = op.find(m(shape_tag))
    if shape is None:
        raise exc.schema_violation(f"{shape_tag} is required")
    base = shape.findtext(t("BaseShape"), "Default")
    extra = shape.find(t("AdditionalProperties"))
    uris = list(extra) if extra is not None else []
    extended = [field_uri_key(u) for u in uris if u.tag == t("ExtendedFieldURI")]
    id_only = base == "IdOnly" and not [u for u in uris if u.tag == t("FieldURI")]
    return id_only, extended


def _each(
    messages: ET.Element, name: str, refs: list[ET.Element], handle: Callable[[ET.Element, ET.Element], None]
):
    for ref in refs:
        try:
            msg_holder = ET.Element("holder")
            handle(ref, msg_holder)
        except exc.EWSError as err:
            error(messages, name, err)
        else:
            msg = success(messages, name)
            for child in msg_holder:
                msg.append(child)


# ---- version probe -----------------------------------------------------------------------------------------
def convert_id(ctx: Context, op: ET.Element) -> ET.Element:
    response, messages = operation_response("ConvertId")
    source = op.find(m("SourceIds"))
    for _ in list(source) if source is not None else []:
        error(messages, "ConvertId", exc.EWSError("ErrorInvalidIdMalformed"))
    return response


# ---- folders -----------------------------------------------------------------------------------------------
def _write_folder(parent: ET.Element, ctx: Context, folder: store.Folder) -> None:
    el = sub(parent, t("CalendarFolder" if folder.is_calendar else "Folder"))
    sub(el, t("FolderId"), Id=folder.id, ChangeKey=folder.change_key)
    if folder.parent_id:
        parent_key = store.folder_by_id(ctx.mailbox, folder.parent_id).change_key
        sub(el, t("ParentFolderId"), Id=folder.parent_id, ChangeKey=parent_key)
    if folder.is_calendar:
        sub(el, t("FolderClass"), "IPF.Appointment")
    elif folder.distinguished == store.TOP:
        sub(el, t("FolderClass"), "IPF.Note")
    sub(el, t("DisplayName"), folder.name)
    count = len(ctx.mailbox.events_in(folder.calendar.id)) if folder.calendar else 0
    sub(el, t("TotalCount"), count)
    sub(el, t("ChildFolderCount"), store.child_count(ctx.mailbox, folder))
    rights = sub(el, t("EffectiveRights"))
    for right, value in (("CreateAssociated", "true"), ("CreateContents", "true"), ("CreateHierarchy", "true"),
                         ("Delete", "true"), ("Modify", "true"), ("Read", "true")):  # fmt: skip
        sub(rights, t(right), value)


def get_folder(ctx: Context, op: ET.Element) -> ET.Element:
    response, messages = operation_response("GetFolder")
    ids = op.find(m("FolderIds"))
    refs = list(ids) if ids is not None else []

    def handle(ref: ET.Element, holder: ET.Element) -> None:
        folder = ctx.folder(ref)
        _write_folder(sub(holder, m("Folders")), ctx, folder)

    _each(messages, "GetFolder", refs, handle)
    return response


def find_folder(ctx: Context, op: ET.Element) -> ET.Element:
    response, messages = operation_response("FindFolder")
    deep = op.get("Traversal", "Shallow") == "Deep"
    parents = op.find(m("ParentFolderIds"))
    paging = op.find(m("IndexedPageFolderView"))

    def handle(ref: ET.Element, holder: ET.Element) -> None:
        found = store.child_folders(ctx.mailbox, ctx.folder(ref), deep)
        page, offset, last = _page(found, paging)
        root = sub(holder, m("RootFolder"), IndexedPagingOffset=offset + len(page),
                   TotalItemsInView=len(found), IncludesLastItemInRange=str(last).lower())  # fmt: skip
        folders = sub(root, t("Folders"))
        for folder in page:
            _write_folder(folders, ctx, folder)

    _each(messages, "FindFolder", list(parents) if parents is not None else [], handle)
    return response


def _page(found: list, paging: ET.Element | None) -> tuple[list, int, bool]:
    if paging is None:
        return found, 0, True
    offset = int(paging.get("Offset", "0"))
    if paging.get("BasePoint", "Beginning") == "End":
        offset = max(0, len(found) - offset - int(paging.get("MaxEntriesReturned", len(found))))
    limit = int(paging.get("MaxEntriesReturned", str(len(found) or 1)))
    page = found[offset : offset + limit]
    return page, offset, offset + len(page) >= len(found)


# ---- items -------------------------------------------------------------------------------------------------
def create_item(ctx: Context, op: ET.Element) -> ET.Element:
    response, messages = operation_response("CreateItem")
    target = op.find(m("SavedItemFolderId"))
    items = op.find(m("Items"))

    def handle(item: ET.Element, holder: ET.Element) -> None:
        if item.tag != t("CalendarItem"):
            raise exc.EWSError("ErrorInvalidItemForOperation", "Only calendar items can be created here.")
        folder = (
            ctx.folder(target[0]) if target is not None and len(target) else
            store.distinguished_folder(ctx.mailbox, store.CALENDAR)
        )  # fmt: skip
        builder = BodyBuilder()
        builder.read(item)
        event = store.create_event(ctx.mailbox, store.calendar_of(folder), builder.result())
        write_item(sub(holder, m("Items")), ctx.mailbox, event, id_only=True, with_body=False, extended=[])

    _each(messages, "CreateItem", list(items) if items is not None else [], handle)
    return response


def get_item(ctx: Context, op: ET.Element) -> ET.Element:
    response, messages = operation_response("GetItem")
    id_only, extended = _shape(op, "ItemShape")
    ids = op.find(m("ItemIds"))

    def handle(ref: ET.Element, holder: ET.Element) -> None:
        event = store.find_event(ctx.mailbox, ref.get("Id", ""))
        write_item(
            sub(holder, m("Items")), ctx.mailbox, event, id_only=id_only, with_body=True, extended=extended
        )

    _each(messages, "GetItem", list(ids) if ids is not None else [], handle)
    return response


def update_item(ctx: Context, op: ET.Element) -> ET.Element:
    response, messages = operation_response("UpdateItem")
    resolution = op.get("ConflictResolution", "AutoResolve")
    changes = op.find(m("ItemChanges"))

    def handle(change: ET.Element, holder: ET.Element) -> None:
        ref = change.find(t("ItemId"))
        if ref is None:
            raise exc.schema_violation("ItemChange needs an ItemId")
        event = store.find_event(ctx.mailbox, ref.get("Id", ""))
        builder = BodyBuilder(event)
        updates = change.find(t("Updates"))
        for update in list(updates) if updates is not None else []:
            uri = update[0] if len(update) else None
            if uri is None:
                raise exc.schema_violation("an update needs a field path")
            if update.tag == t("DeleteItemField"):
                builder.delete(field_uri_key(uri))
                continue
            value = update.find(t("CalendarItem"))
            if value is None:
                raise exc.EWSError("ErrorInvalidItemForOperation", "Only calendar items can be updated here.")
            builder.read(value)
        updated = store.update_event(ctx.mailbox, event, ref.get("ChangeKey"), builder.result(), resolution)
        items = sub(holder, m("Items"))
        write_item(items, ctx.mailbox, updated, id_only=True, with_body=False, extended=[])
        sub(sub(holder, m("ConflictResults")), t("Count"), 0)

    _each(messages, "UpdateItem", list(changes) if changes is not None else [], handle)
    return response


def delete_item(ctx: Context, op: ET.Element) -> ET.Element:
    response, messages = operation_response("DeleteItem")
    ids = op.find(m("ItemIds"))

    def handle(ref: ET.Element, holder: ET.Element) -> None:
        event = store.find_event(ctx.mailbox, ref.get("Id", ""))
        # Exchange ignores a stale ChangeKey on delete (AffectedTaskOccurrences aside): deletes always win.
        store.delete_event(ctx.mailbox, event)

    _each(messages, "DeleteItem", list(ids) if ids is not None else [], handle)
    return response


def move_item(ctx: Context, op: ET.Element) -> ET.Element:
    response, messages = operation_response("MoveItem")
    target_ref = op.find(m("ToFolderId"))
    ids = op.find(m("ItemIds"))

    def handle(ref: ET.Element, holder: ET.Element) -> None:
        if target_ref is None or not len(target_ref):
            raise exc.schema_violation("MoveItem needs ToFolderId")
        target = store.calendar_of(ctx.folder(target_ref[0]))
        event = store.find_event(ctx.mailbox, ref.get("Id", ""))
        moved = store.move_event(ctx.mailbox, event, target) if event.calendar_id != target.id else event
        write_item(sub(holder, m("Items")), ctx.mailbox, moved, id_only=True, with_body=False, extended=[])

    _each(messages, "MoveItem", list(ids) if ids is not None else [], handle)
    return response


def find_item(ctx: Context, op: ET.Element) -> ET.Element:
    response, messages = operation_response("FindItem")
    id_only, extended = _shape(op, "ItemShape")
    view = op.find(m("CalendarView"))
    paging = op.find(m("IndexedPageItemView"))
    restriction = op.find(m("Restriction"))
    parents = op.find(m("ParentFolderIds"))

    def handle(ref: ET.Element, holder: ET.Element) -> None:
        cal = store.calendar_of(ctx.folder(ref))
        if view is not None:
            start, end = parse_instant(view.get("StartDate")), parse_instant(view.get("EndDate"))
            if end < start:
                raise exc.EWSError("ErrorCalendarEndDateIsEarlierThanStartDate")
            if end - start > MAX_VIEW:
                raise exc.EWSError("ErrorCalendarViewRangeTooBig")
            found = store.view(ctx.mailbox, cal, start, end)
        else:
            found = store.items_in(ctx.mailbox, cal)
        if restriction is not None and len(restriction):
            found = [e for e in found if _matches(restriction[0], e)]
        if view is not None:
            limit = int(view.get("MaxEntriesReturned", "0") or 0)
            if limit and len(found) > limit:
                # Exchange refuses rather than truncates a CalendarView that holds more than asked for.
                raise exc.EWSError("ErrorCalendarViewRangeTooBig", "The calendar view holds more items than "
                                   "MaxEntriesReturned.")  # fmt: skip
            page, offset, last = found, 0, True
        else:
            page, offset, last = _page(found, paging)
        root = sub(holder, m("RootFolder"), IndexedPagingOffset=offset + len(page),
                   TotalItemsInView=len(found), IncludesLastItemInRange=str(last).lower())  # fmt: skip
        items = sub(root, t("Items"))
        for event in page:
            write_item(items, ctx.mailbox, event, id_only=id_only, with_body=False, extended=extended)

    _each(messages, "FindItem", list(parents) if parents is not None else [], handle)
    return response


def _matches(node: ET.Element, event: Event) -> bool:
    """A small Restriction evaluator: And / Or / Not / Exists / IsEqualTo on extended properties and Subject."""
    name = node.tag.removeprefix(f"{{{T}}}")
    if name in ("And", "Or"):
        results = [_matches(child, event) for child in node]
        return all(results) if name == "And" else any(results)
    if name == "Not":
        return not _matches(node[0], event)
    key = field_uri_key(node[0])
    actual = _value(key, event)
    if name == "Exists":
        return actual is not None
    if name == "IsEqualTo":
        constant = node.find(f"{t('FieldURIOrConstant')}/{t('Constant')}")
        if constant is None:
            raise exc.EWSError("ErrorInvalidRestriction")
        return actual is not None and actual == constant.get("Value")
    raise exc.EWSError("ErrorInvalidRestriction", f"The restriction {name} is not supported by the emulator.")


def _value(key: str, event: Event) -> str | None:
    if key == "item:Subject":
        return event.subject
    if key == "calendar:Location":
        return (event.location or {}).get("displayName", "")
    found = event.extended.get(" ".join(key.split()).lower())
    return found[1] if found else None


OPERATIONS: dict[str, Callable[[Context, ET.Element], ET.Element]] = {
    "ConvertId": convert_id,
    "GetFolder": get_folder,
    "FindFolder": find_folder,
    "CreateItem": create_item,
    "GetItem": get_item,
    "UpdateItem": update_item,
    "DeleteItem": delete_item,
    "MoveItem": move_item,
    "FindItem": find_item,
}
