"""Dependencies point one way (style.md habit 3). This walks every module's imports and enforces it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# (package whose modules are checked, prefixes they must never import)
RULES = [
    ("m365emulator", ("django", "shiftdesk")),
    ("googleemulator", ("django", "shiftdesk")),
    (
        "shiftdesk/scheduling",
        ("shiftdesk.calendarsync", "shiftdesk.microsoft", "shiftdesk.exchange", "shiftdesk.google"),
    ),
    ("shiftdesk/calendarsync", ("shiftdesk.microsoft", "shiftdesk.exchange", "shiftdesk.google")),
    ("shiftdesk/google", ("shiftdesk.microsoft", "shiftdesk.exchange")),
    (
        "shiftdesk/lib",
        (
            "shiftdesk.accounts",
            "shiftdesk.scheduling",
            "shiftdesk.calendarsync",
            "shiftdesk.microsoft",
            "shiftdesk.google",
        ),
    ),
    ("shiftdesk", ("m365emulator", "googleemulator")),
]


def imported_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for name in imported_names(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


@pytest.mark.parametrize(("package", "forbidden"), RULES, ids=[r[0] for r in RULES])
def test_it_keeps_dependencies_pointing_one_way(package, forbidden):
    assert violations(package, forbidden) == []


def test_it_would_catch_a_violation(tmp_path, monkeypatch):
    # The rule walker itself must be able to fail.
    bad = tmp_path / "pkg"
    bad.mkdir()
    (bad / "mod.py").write_text("from shiftdesk.microsoft import models\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert violations("pkg", ("shiftdesk.microsoft",)) == ["pkg/mod.py imports shiftdesk.microsoft"]
