"""Migration files (spec section 6): reviewable YAML that says, per field, the definition stored
samples were computed with and the one they are reconciled to, without recomputing.

A file is self-contained: each migrated field carries its OLD and NEW definition (fully
qualified name, code_version, and parent fields or, for a root, source columns with their
types): exactly what its provenance hashes (sql/provenance.py), so applying it needs neither the
old YAML nor git. This module reads, checks and writes the files; building one from two projects
and applying it live in the engine.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metaxy_cli.definitions.errors import ConfigError, Location, Problem
from metaxy_cli.definitions.schemas import MIGRATION_SCHEMA, validate
from metaxy_cli.definitions.sources import decode_text, display_path
from metaxy_cli.definitions.versions import digest, field_prefix_text
from metaxy_cli.definitions.yaml_io import PositionIndex, YamlSyntaxError, load_fast

SUFFIXES = (".yaml", ".yml")
HEADER = (
    "# yaml-language-server: $schema=https://metaxy.dev/schemas/migration.schema.json\n"
    "# A metaxy migration: stored samples whose provenance matches a field's OLD definition get the\n"
    "# provenance of its NEW one and keep their data versions (nothing is recomputed). Review it like\n"
    "# code: every field below must produce the same outputs under both definitions.\n"
)


@dataclass(frozen=True)
class FieldDefinition:
    """What a field's provenance is computed from."""

    name: str  # fully qualified, feature.field
    code_version: str
    parents: tuple[str, ...] | None = None  # fully qualified, sorted (non-root)
    source: tuple[tuple[str, str], ...] | None = None  # (column, portable type), sorted (root)

    @property
    def feature(self) -> str:
        return split_field(self.name)[0]

    @property
    def field(self) -> str:
        return split_field(self.name)[1]

    @property
    def prefix(self) -> str:
        return field_prefix_text(self.name, self.code_version)

    def as_dict(self) -> dict[str, Any]:
        raw: dict[str, Any] = {"name": self.name, "code_version": self.code_version}
        if self.parents is not None:
            raw["parents"] = list(self.parents)
        if self.source is not None:
            raw["source"] = dict(self.source)
        return raw


@dataclass(frozen=True)
class FieldMigration:
    key: str  # the field as the new definition names it
    old: FieldDefinition
    new: FieldDefinition


@dataclass(frozen=True)
class FeatureMigration:
    key: str
    fields: tuple[FieldMigration, ...]


@dataclass(frozen=True)
class Migration:
    id: str
    description: str
    renames: tuple[tuple[str, str], ...]  # (old feature key, new feature key)
    features: tuple[FeatureMigration, ...]
    checksum: str  # of the content, not the bytes: comments and layout may change
    label: str  # the file, as messages name it
    origin: str | None = None

    def as_document(self) -> dict[str, Any]:
        return migration_document(self.id, self.description, self.renames, self.features, origin=self.origin)


def split_field(name: str) -> tuple[str, str]:
    """`example/video.audio` -> (`example/video`, `audio`): feature keys never contain a dot."""
    feature, _, field = name.partition(".")
    return feature, field


def migration_document(
    migration_id: str, description: str, renames: tuple[tuple[str, str], ...],
    features: tuple[FeatureMigration, ...], *, origin: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    document: dict[str, Any] = {"id": migration_id, "description": description}
    if origin:
        document["from"] = origin
    if renames:
        document["renames"] = [{"from": old, "to": new} for old, new in renames]
    document["features"] = [
        {"key": feature.key, "fields": [{"key": f.key, "old": f.old.as_dict(), "new": f.new.as_dict()} for f in feature.fields]}
        for feature in features
    ]
    return document


def checksum(document: dict[str, Any]) -> str:
    """What an applied migration is remembered by: its content (id, renames, definitions)."""
    content = {key: value for key, value in document.items() if key not in ("description", "from")}
    return digest("migration", content)


def dump_migration(document: dict[str, Any]) -> str:
    """The YAML text of a migration file, with a header saying what it does."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.default_flow_style = None
    yaml.width = 120
    yaml.indent(mapping=2, sequence=4, offset=2)
    buffer = io.StringIO()
    yaml.dump(_plain(document), buffer)
    return HEADER + buffer.getvalue()


def _plain(value: Any) -> Any:
    """Flow style for the leaves (lists of names, source mappings), block style for the rest."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, dict):
        mapping = CommentedMap((k, _plain(v)) for k, v in value.items())
        if value and all(isinstance(v, str) for v in value.values()) and set(value) - {"id", "description", "from", "key"}:
            mapping.fa.set_flow_style()
        return mapping
    if isinstance(value, list):
        items = CommentedSeq(_plain(v) for v in value)
        if all(isinstance(v, str) for v in value):
            items.fa.set_flow_style()
        return items
    return value


def load_migrations(folder: Path) -> list[Migration]:
    """Every migration file of `folder`, in id order; all problems reported at once, each
    `file:line:col: message`. A missing folder holds no migration."""
    if not folder.is_dir():
        return []
    problems: list[Problem] = []
    found: list[Migration] = []
    seen: dict[str, str] = {}
    for path in sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file()):
        label = display_path(path)
        try:
            migration = parse_migration(path.read_bytes(), label)
        except ConfigError as error:
            problems += error.problems
            continue
        if migration.id in seen:
            index = PositionIndex(path.read_text(encoding="utf-8"), label)
            problems.append(Problem(index.locate(("id",)), f"duplicate migration id {migration.id!r} (also in {seen[migration.id]})"))
            continue
        seen[migration.id] = label
        found.append(migration)
    if problems:
        raise ConfigError(problems)
    return sorted(found, key=lambda m: m.id)


def parse_migration(data: bytes, label: str) -> Migration:
    """One migration file's bytes, checked against schemas/migration.schema.json and for
    consistency (each field named once, old and new of the same kind)."""
    text = decode_text(data, label)
    try:
        document = load_fast(text, label)
    except YamlSyntaxError as error:
        raise ConfigError([error.problem]) from None
    if not isinstance(document, dict):
        raise ConfigError([Problem(Location(label, 1, 1), "expected a YAML mapping with 'id:' and 'features:' at the top level")])
    issues = [(issue.path, issue.message, issue.at_key) for issue in validate(document, MIGRATION_SCHEMA)]
    if not issues:
        issues = _consistency(document)
    if issues:
        index = PositionIndex(text, label)
        raise ConfigError([Problem(index.locate(path, at_key=at_key), message) for path, message, at_key in issues])
    return _build(document, label)


def _consistency(document: dict[str, Any]) -> list[tuple[tuple, str, bool]]:
    issues: list[tuple[tuple, str, bool]] = []
    keys: set[str] = set()
    for i, feature in enumerate(document["features"]):
        if feature["key"] in keys:
            issues.append((("features", i, "key"), f"feature {feature['key']} is listed twice", False))
        keys.add(feature["key"])
        names: set[str] = set()
        for j, field in enumerate(feature["fields"]):
            where = ("features", i, "fields", j)
            if field["key"] in names:
                issues.append((where + ("key",), f"field {field['key']} of {feature['key']} is listed twice", False))
            names.add(field["key"])
            if ("source" in field["old"]) != ("source" in field["new"]):
                issues.append((where, "old and new must both give `parents` (a non-root field) or both `source` (a root field)", False))
            expected = f"{feature['key']}.{field['key']}"
            if field["new"]["name"] != expected:
                issues.append((where + ("new", "name"), f"the new name must be {expected} (feature key and field key)", False))
    targets: set[str] = set()
    for i, rename in enumerate(document.get("renames") or []):
        if rename["from"] == rename["to"] or rename["to"] in targets:
            issues.append((("renames", i), f"rename of {rename['from']} to {rename['to']} is not a rename of one feature to a new key", False))
        targets.add(rename["to"])
    return issues


def _definition(raw: dict[str, Any]) -> FieldDefinition:
    parents = tuple(sorted(raw["parents"])) if "parents" in raw else None
    source = tuple(sorted(raw["source"].items())) if "source" in raw else None
    return FieldDefinition(raw["name"], raw["code_version"], parents, source)


def _build(document: dict[str, Any], label: str) -> Migration:
    features = tuple(
        FeatureMigration(
            feature["key"],
            tuple(FieldMigration(f["key"], _definition(f["old"]), _definition(f["new"])) for f in feature["fields"]),
        )
        for feature in document["features"]
    )
    renames = tuple((r["from"], r["to"]) for r in document.get("renames") or [])
    return Migration(
        id=document["id"],
        description=document.get("description", ""),
        renames=renames,
        features=features,
        checksum=checksum(document),
        label=label,
        origin=document.get("from"),
    )
