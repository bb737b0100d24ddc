"""`metaxy migrate new`: a migration file drafted from two versions of the definitions.

For each chosen field, the OLD definition is read from the base (a git revision or a stored
snapshot) and the NEW one from the working tree, both as resolved for hashing (sql/resolved.py),
so the file holds exactly what the provenance of each side is computed from. Changes that no
reconciliation can make true are refused with their reason: a removed field (its outputs are
gone), changed id columns (samples are other samples), a root that gained upstream features.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from metaxy_cli.definitions.errors import MigrationError
from metaxy_cli.definitions.keys import fq_field
from metaxy_cli.definitions.migration import FeatureMigration, FieldDefinition, FieldMigration, migration_document

if TYPE_CHECKING:
    from metaxy_cli.definitions.project import Project
    from metaxy_cli.sql.resolved import ResolvedFeature


@dataclass(frozen=True)
class Draft:
    document: dict[str, Any]
    skipped: tuple[str, ...]  # changed features left out of --all-changed, each with its reason


def draft_migration(
    old: Project, new: Project, *, name: str, targets: list[str], all_changed: bool,
    renames: list[tuple[str, str]], origin: str, created: datetime,
) -> Draft:  # fmt: skip
    """The migration document; `targets` are feature keys or `key.field`; `renames` pairs of
    old and new feature keys (or fully qualified field names, for a field renamed in place)."""
    from metaxy_cli.sql.resolved import resolve

    before, after = resolve(old), resolve(new)
    feature_renames, field_renames = _split_renames(renames, before, after)
    wanted = _targets(targets, after, feature_renames) if not all_changed else None
    chosen: list[FeatureMigration] = []
    skipped: list[str] = []
    for key, feature in after.items():
        old_key = next((o for o, n in feature_renames.items() if n == key), key)
        if wanted is not None and key not in wanted:
            continue
        fields = wanted.get(key) if wanted is not None else None
        try:
            migrated = _feature(feature, before.get(old_key), fields, feature_renames, field_renames)
        except MigrationError as error:
            if wanted is not None:
                raise
            skipped.append(str(error))
            continue
        if migrated:
            chosen.append(FeatureMigration(key, tuple(migrated)))
        elif wanted is not None and key not in feature_renames.values():
            raise MigrationError(f"{key}: no field changed between the two definitions: nothing to migrate")
    if not chosen and not feature_renames:
        raise MigrationError("no changed field to migrate" + (f" ({'; '.join(skipped)})" if skipped else ""))
    migration_id = f"{created:%Y%m%dT%H%M%S}-{_slug(name)}"
    document = migration_document(
        migration_id, name, tuple(feature_renames.items()), tuple(chosen), origin=origin
    )
    return Draft(document, tuple(skipped))


def _split_renames(
    renames: list[tuple[str, str]], before: dict, after: dict
) -> tuple[dict[str, str], dict[str, str]]:
    features: dict[str, str] = {}
    fields: dict[str, str] = {}
    for old, new in renames:
        if ("." in old) != ("." in new):
            raise MigrationError(f"rename {old} -> {new}: rename a feature to a feature, or a field to a field (feature.field)")
        if "." in old:
            fields[old] = new
            continue
        if old not in before:
            raise MigrationError(f"rename {old} -> {new}: {old} is not a feature of the base definitions")
        if new not in after:
            raise MigrationError(f"rename {old} -> {new}: {new} is not a feature of the working tree")
        if new in before:
            raise MigrationError(f"rename {old} -> {new}: {new} already exists in the base definitions (a rename onto an existing key)")
        features[old] = new
    return features, fields


def _targets(targets: list[str], after: dict, feature_renames: dict[str, str]) -> dict[str, set[str] | None]:
    """{feature key: chosen field keys, or None for every changed field}; renamed features are
    always included (every provenance of theirs names the feature)."""
    wanted: dict[str, set[str] | None] = {new: None for new in feature_renames.values()}
    for target in targets:
        key, _, field = target.partition(".")
        if key not in after:
            raise MigrationError(f"--feature {target}: no feature {key!r} in the working tree")
        if field:
            if field not in after[key].fields:
                raise MigrationError(f"--feature {target}: {key} has no field {field!r}")
            current = wanted.get(key, set())
            if current is not None:
                wanted[key] = current | {field}
        else:
            wanted[key] = None
    return wanted


def _feature(
    feature: ResolvedFeature, previous: ResolvedFeature | None, fields: set[str] | None,
    feature_renames: dict[str, str], field_renames: dict[str, str],
) -> list[FieldMigration]:  # fmt: skip
    key = feature.key
    if previous is None:
        raise MigrationError(f"{key}: not in the base definitions, so nothing stored to reconcile (a new feature is computed, not migrated)")
    if previous.id_names != feature.id_names:
        raise MigrationError(f"{key}: id columns changed ({', '.join(previous.id_names)} -> {', '.join(feature.id_names)}): stored samples are other samples")
    if not (feature.spec.lineage.is_identity and previous.spec.lineage.is_identity):
        raise MigrationError(f"{key}: migrations of features with expansion or aggregation lineage are not supported yet: recompute it")
    if previous.is_root != feature.is_root:
        raise MigrationError(f"{key}: {'became a root' if feature.is_root else 'gained upstream features'}: its provenance has other inputs")
    renamed_from = {new.partition(".")[2]: old.partition(".")[2] for old, new in field_renames.items() if new.startswith(key + ".")}
    kept = {renamed_from.get(f, f) for f in feature.fields}
    removed = sorted(set(previous.fields) - kept)
    if removed:
        raise MigrationError(f"{key}: field(s) {', '.join(removed)} removed: their outputs are gone, recompute instead")
    result = []
    for f in feature.fields:
        if fields is not None and f not in fields:
            continue
        old_field = renamed_from.get(f, f)
        if old_field not in previous.fields:
            if fields is not None:
                raise MigrationError(f"{key}.{f}: a new field, never computed: it is computed, not migrated")
            continue
        old_definition = _definition(previous, old_field)
        new_definition = _definition(feature, f)
        if old_definition == new_definition:
            if fields is not None and f in fields:
                raise MigrationError(f"{key}.{f}: unchanged between the two definitions: nothing to migrate")
            continue
        _check_sources(feature, old_definition)
        result.append(FieldMigration(f, old_definition, new_definition))
    return result


def _definition(feature: ResolvedFeature, field: str) -> FieldDefinition:
    code_version = feature.spec.field(field).code_version
    name = fq_field(feature.key, field)
    if feature.is_root:
        return FieldDefinition(name, code_version, source=tuple(feature.root_sources[field]))
    parents = tuple(sorted(fq_field(*ref) for ref in feature.field_parents[field]))
    return FieldDefinition(name, code_version, parents=parents)


def _check_sources(feature: ResolvedFeature, old: FieldDefinition) -> None:
    """An old root source column must still be a column of the feature (it is read from the
    stored rows), with the same type."""
    types = feature.column_types
    for column, kind in old.source or ():
        if column not in types:
            raise MigrationError(f"{old.name}: source column {column!r} is no longer declared: declare it again to reconcile")
        if types[column] != kind:
            raise MigrationError(f"{old.name}: source column {column!r} changed type ({kind} -> {types[column]})")


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip("-.")
    return slug[:60] or "migration"
