"""A graph snapshot: a project's full definitions as one canonical JSON document (spec section 5).

Stores keep one per project version they have seen (`metaxy history`), so `diff`, `plan` and
`migrate new` can compare with what production was computed with, without the old YAML. The
document is a valid metaxy.yaml with every feature inline (JSON is YAML), so a snapshot is loaded
by the same loader, with the same checks, as the files it was taken from; store settings are
left out (they may hold credentials and are not part of any version).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from metaxy_cli.definitions.model import FeatureSpec, FieldSpec
from metaxy_cli.definitions.project import Project
from metaxy_cli.definitions.sources import PROJECT_FILE

PREFIX = "snapshot:"
LATEST = "LATEST"


def is_snapshot_ref(revision: str | None) -> bool:
    """`snapshot:LATEST` or `snapshot:<version prefix>`, where a git revision is accepted."""
    return revision is not None and revision.startswith(PREFIX)


def snapshot_document(project: Project) -> dict[str, Any]:
    """The definitions of `project` as a metaxy.yaml document with every feature inline."""
    document: dict[str, Any] = {"project": project.name}
    if project.cost_unit:
        document["cost_unit"] = project.cost_unit
    document["features"] = [_feature(spec) for spec in project.features.values()]
    return document


def snapshot_text(project: Project) -> str:
    """The canonical text of a snapshot: the same definitions give the same text."""
    return json.dumps(snapshot_document(project), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def load_snapshot(text: str, label: str) -> Project:
    """The project a stored snapshot describes; `label` names it in errors (`snapshot:1a2b3c4d`)."""
    from metaxy_cli.definitions.loader import load_from_source

    return load_from_source(_SnapshotSource(text, label), PROJECT_FILE)


def _feature(spec: FeatureSpec) -> dict[str, Any]:
    raw: dict[str, Any] = {"key": spec.key, "id_columns": list(spec.id_columns)}
    if spec.columns:
        raw["columns"] = {
            column.name: ({"type": column.type, "description": column.description} if column.description else column.type)
            for column in spec.columns
        }
    if spec.deps:
        raw["deps"] = [{"feature": dep.feature, "optional": dep.optional} for dep in spec.deps]
    if not spec.lineage.is_identity:
        raw["lineage"] = {"kind": spec.lineage.kind, "on": list(spec.lineage.on)}
    raw["fields"] = [_field(field) for field in spec.fields]
    for name in ("description", "owner", "cost"):
        if getattr(spec, name) is not None:
            raw[name] = getattr(spec, name)
    if spec.tags:
        raw["tags"] = list(spec.tags)
    return raw


def _field(field: FieldSpec) -> dict[str, Any]:
    raw: dict[str, Any] = {"key": field.key, "code_version": field.code_version}
    if isinstance(field.deps, str):
        raw["deps"] = field.deps
    elif field.deps is not None:
        raw["deps"] = [
            {"feature": dep.feature, "fields": list(dep.fields) if dep.fields is not None else "*"} for dep in field.deps
        ]
    if field.source is not None:
        raw["source"] = list(field.source)
    for name in ("data_version", "description", "cost"):
        if getattr(field, name) is not None:
            raw[name] = getattr(field, name)
    return raw


class _SnapshotSource:
    """A definition source holding one file, the snapshot's metaxy.yaml."""

    def __init__(self, text: str, label: str):
        self.text = text
        self.name = label
        self.root = Path(".")

    def read_text(self, relpath: str) -> str:
        if relpath != PROJECT_FILE:
            raise FileNotFoundError(relpath)
        return self.text

    def glob(self, pattern: str) -> list[str]:
        return []

    def label(self, relpath: str) -> str:
        return self.name
