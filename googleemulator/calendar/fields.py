"""The `fields` system parameter (partial responses): `fields=items(id,etag,status),nextSyncToken` keeps only
those parts of the JSON answer. Syntax: comma-separated names, `a/b` for a nested field, `a(b,c)` for a
sub-selection (applied to each element of a list). Names absent from the answer are simply absent."""

from __future__ import annotations

from googleemulator.calendar import exceptions as ge


def parse(text: str) -> dict:
    tree, rest = _parse_list(text.replace(" ", ""), 0)
    if rest != len(text.replace(" ", "")) or not tree:
        raise ge.ApiError(400, "invalidParameter", f"Invalid field selection {text}", location="fields")
    return tree


def _parse_list(text: str, i: int) -> tuple[dict, int]:
    tree: dict = {}
    while i < len(text):
        start = i
        while i < len(text) and text[i] not in ",()/":
            i += 1
        name = text[start:i]
        if not name:
            raise ge.ApiError(400, "invalidParameter", f"Invalid field selection {text}", location="fields")
        node = tree.setdefault(name, {})
        if i < len(text) and text[i] == "/":
            sub, i = _parse_path(text, i + 1)
            _merge(node, sub)
        elif i < len(text) and text[i] == "(":
            sub, i = _parse_list(text, i + 1)
            if i >= len(text) or text[i] != ")":
                raise ge.ApiError(
                    400, "invalidParameter", f"Invalid field selection {text}", location="fields"
                )
            i += 1
            _merge(node, sub)
        if i < len(text) and text[i] == ",":
            i += 1
            continue
        break
    return tree, i


def _parse_path(text: str, i: int) -> tuple[dict, int]:
    start = i
    while i < len(text) and text[i] not in ",()/":
        i += 1
    name = text[start:i]
    if not name:
        raise ge.ApiError(400, "invalidParameter", f"Invalid field selection {text}", location="fields")
    node: dict = {}
    if i < len(text) and text[i] == "/":
        node, i = _parse_path(text, i + 1)
    elif i < len(text) and text[i] == "(":
        node, i = _parse_list(text, i + 1)
        if i >= len(text) or text[i] != ")":
            raise ge.ApiError(400, "invalidParameter", f"Invalid field selection {text}", location="fields")
        i += 1
    return {name: node}, i


def _merge(into: dict, other: dict) -> None:
    for key, value in other.items():
        _merge(into.setdefault(key, {}), value)


def project(value, tree: dict):
    """`value` cut down to `tree` (an empty subtree keeps the whole value)."""
    if not tree:
        return value
    if isinstance(value, list):
        return [project(v, tree) for v in value]
    if not isinstance(value, dict):
        return value
    return {k: project(value[k], sub) for k, sub in tree.items() if k in value}
