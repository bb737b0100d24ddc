"""Feature and field keys: `example/video`, `audio/english`, and the names derived from them."""

from __future__ import annotations

import re

_FIRST_PART = re.compile(r"[a-z_][a-z0-9_-]*")
_LATER_PART = re.compile(r"[a-z0-9_][a-z0-9_-]*")


def key_problem(key: str) -> str | None:
    """Why `key` is not a valid feature or field key, or None when it is valid."""
    if not key:
        return "a key cannot be empty"
    for index, part in enumerate(key.split("/")):
        if not part:
            return f"key {key!r} has an empty part"
        pattern = _FIRST_PART if index == 0 else _LATER_PART
        if not pattern.fullmatch(part):
            allowed = "[a-z_][a-z0-9_-]*" if index == 0 else "[a-z0-9_][a-z0-9_-]*"
            return f"key {key!r}: part {part!r} must match {allowed}"
        if "__" in part:
            return f"key {key!r}: part {part!r} must not contain '__'"
    return None


def fq_field(feature: str, field: str) -> str:
    """The fully qualified field name, `example/video.audio`."""
    return f"{feature}.{field}"


def table_name(feature: str) -> str:
    """The store table of a feature: its parts joined with `__`."""
    return feature.replace("/", "__")


HISTORY_SUFFIX = "__history"


def history_table_name(feature: str) -> str:
    """The append-only history table of a feature, next to its table of current rows."""
    return table_name(feature) + HISTORY_SUFFIX


def column_stem(field: str) -> str:
    """A field key as a column-name fragment (`audio/english` -> `audio__english`)."""
    return field.replace("/", "__").replace("-", "_")
