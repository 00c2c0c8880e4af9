"""The engine's shape, enforced: its modules depend only downward, no private helper crosses a module, and
only linkstate.py changes a link's state (issue 12, "Structure that shows the flow" and "One place owns a
link's state")."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "shiftdesk" / "calendarsync"
# Bottom to top (docs/sync-engine.md). A module may import only modules of a lower layer.
LAYERS = [
    {"models"},
    {"providers.base"},
    {"providers", "pacing", "render", "linkstate"},
    {"desired"},
    {"lease", "network"},
    {"plan"},
    {"recording"},
    {"step"},
    {"verify", "retiring"},
    {"engine"},
    {"worker"},
]
LAYER = {name: n for n, names in enumerate(LAYERS) for name in names}


def calendarsync_imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module imported, names imported) for every import of a calendarsync module, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "shiftdesk.calendarsync":
                found += [(alias.name, []) for alias in node.names]
            elif node.module.startswith("shiftdesk.calendarsync."):
                found.append(
                    (node.module.removeprefix("shiftdesk.calendarsync."), [a.name for a in node.names])
                )
        elif isinstance(node, ast.Import):
            found += [
                (alias.name.removeprefix("shiftdesk.calendarsync."), [])
                for alias in node.names
                if alias.name.startswith("shiftdesk.calendarsync.")
            ]
    return found


@pytest.mark.parametrize("module", sorted(LAYER))
def test_the_engine_modules_depend_only_downward(module):
    path = PACKAGE / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = PACKAGE / module.replace(".", "/") / "__init__.py"
    for imported, _ in calendarsync_imports(path):
        if imported in LAYER:
            assert LAYER[imported] < LAYER[module] or imported == module, f"{module} imports {imported}"


def test_no_private_helper_is_imported_across_modules():
    paths = [*PACKAGE.rglob("*.py"), *(PACKAGE.parent / "microsoft").glob("provider*.py")]
    for path in paths:
        for imported, names in calendarsync_imports(path):
            private = [n for n in names if n.startswith("_") and n != "__future__"]
            assert not private, f"{path.name} imports {private} from {imported}"


LINK_FIELDS = (
    "remote_event_id|remote_calendar_id|change_key|content_hash|create_attempted|generation|attempts|"
    "next_attempt_at|last_error|deleted_in_outlook\\w*|moved_in_outlook\\w*|tracked|dirty|mark_seq|state_seq|"
    "shift_end|synced_at|export_job\\w*"
)


def test_only_linkstate_changes_a_link():
    assignment = re.compile(rf"\blinks?\.({LINK_FIELDS})\s*(=|\+=)[^=]")
    bulk_write = re.compile(r"(EventLink\.objects|\blinks?\b)[^\n]*\.update\(")
    offenders = []
    for path in (PACKAGE.parent).rglob("*.py"):
        if path.name == "linkstate.py" or "migrations" in path.parts:
            continue
        text = path.read_text()
        offenders += [f"{path.name}: {m.group(0)}" for m in assignment.finditer(text)]
        offenders += [f"{path.name}: {m.group(0)}" for m in bulk_write.finditer(text)]
    assert offenders == []
