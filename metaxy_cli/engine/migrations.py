"""Applying migrations (spec section 6): reconcile stored samples without recomputing them.

Pending files are applied in id order, each in one transaction: renames first (tables and
history move to the new key), then, per feature in topological order, the stored rows whose
migrated fields match their old definition are appended again with the new provenance and the
same data versions (sql/reconcile.py), and last the migration's row in `metaxy_migrations`.
Reconciliation is a pure function of what is stored: a sample already reconciled no longer
matches its old definition, so applying again, or completing an apply that was killed on a store
without transactions (ClickHouse publishes each feature by its own write-log row), changes
nothing that was done.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from metaxy_cli.definitions.errors import MigrationError
from metaxy_cli.definitions.migration import Migration, load_migrations, split_field
from metaxy_cli.engine.changes import invalidate
from metaxy_cli.engine.tables import drop_temporary, ids_in, log_write_of, names, next_write_id, prepare_tables
from metaxy_cli.sql import layout

if TYPE_CHECKING:
    from sqlglot import exp

    from metaxy_cli.definitions.migration import FeatureMigration
    from metaxy_cli.definitions.project import Project
    from metaxy_cli.sql.provenance import Relation
    from metaxy_cli.sql.reconcile import Upstream
    from metaxy_cli.sql.resolved import ResolvedFeature
    from metaxy_cli.store.base import Store

RECONCILING = "metaxy_reconciling"  # the rows a migration appends to one feature (temporary)


@dataclass(frozen=True)
class FieldCount:
    feature: str
    field: str
    reconciled: int  # samples whose stored provenance matched the old definition
    stored: int  # samples of the feature: the others stay as they are (stale, or never computed)

    @property
    def unchanged(self) -> int:
        return self.stored - self.reconciled


@dataclass
class MigrationResult:
    id: str
    label: str
    applied: bool  # False on a dry run
    renames: tuple[tuple[str, str], ...] = ()
    fields: list[FieldCount] = field(default_factory=list)
    rows: int = 0  # rows appended

    def as_dict(self) -> dict:
        return {
            "id": self.id, "file": self.label, "applied": self.applied, "rows": self.rows,
            "renames": [{"from": a, "to": b} for a, b in self.renames],
            "fields": [
                {"feature": c.feature, "field": c.field, "reconciled": c.reconciled, "unchanged": c.unchanged}
                for c in self.fields
            ],
        }  # fmt: skip


@dataclass(frozen=True)
class AppliedMigration:
    id: str
    checksum: str
    applied_at: object


@dataclass(frozen=True)
class MigrationStatus:
    applied: list[AppliedMigration]
    pending: list[Migration]


def project_migrations(project: Project) -> list[Migration]:
    """The project's migration files (`migrations.folder` in metaxy.yaml), in id order."""
    return load_migrations(project.root / project.migrations_folder)


def migration_status(project: Project, store: Store) -> MigrationStatus:
    """Applied (from the store) and pending (files not applied yet) migrations. A file changed
    after it was applied is refused: the store no longer matches what it says."""
    files = project_migrations(project)
    applied = _applied(store)
    by_id = {row.id: row for row in applied}
    for migration in files:
        row = by_id.get(migration.id)
        if row is not None and row.checksum != migration.checksum:
            raise MigrationError(
                f"{migration.label}: migration {migration.id} was applied to store {store.name!r} and has been edited "
                "since: restore the applied content, and write the change as a new migration"
            )
    return MigrationStatus(applied, [m for m in files if m.id not in by_id])


def _applied(store: Store) -> list[AppliedMigration]:
    from sqlglot import exp

    if not store.table_exists(layout.MIGRATIONS):
        return []
    query = exp.select("migration_id", "checksum", "applied_at").from_(exp.to_table(layout.MIGRATIONS, quoted=True))
    rows = sorted(store.fetch_all(store.to_sql(query)), key=lambda row: str(row[0]))
    seen: dict[str, AppliedMigration] = {}
    for migration_id, checksum, applied_at in rows:
        seen.setdefault(migration_id, AppliedMigration(migration_id, checksum, applied_at))
    return list(seen.values())


def apply_migrations(
    project: Project, store: Store, *, dry_run: bool = False, progress: Callable[[str], None] = lambda _: None,
    applied_at: datetime | None = None,
) -> list[MigrationResult]:  # fmt: skip
    """Apply (or, `dry_run`, count) every pending migration in id order; returns one result per
    pending migration (none when everything is applied)."""
    from metaxy_cli.sql.resolved import resolve

    features = resolve(project)
    status = migration_status(project, store)
    results = []
    planned = _Relations(store, features)  # a dry run counts each migration after the ones before it
    for migration in status.pending:
        _check(migration, features)
        progress(f"{migration.id}: {'counting' if dry_run else 'applying'}")
        if dry_run:
            results.append(_count(store, migration, planned))
        else:
            results.append(_apply(store, migration, features, applied_at or datetime.now(UTC).replace(tzinfo=None), progress))
    return results


def _check(migration: Migration, features: dict[str, ResolvedFeature]) -> None:
    """Every migrated feature and field exists now, with identity lineage to what it reads."""
    for change in migration.features:
        feature = features.get(change.key)
        if feature is None:
            raise MigrationError(f"{migration.label}: feature {change.key} is not in the project")
        if not feature.spec.lineage.is_identity:
            raise MigrationError(f"{migration.label}: {change.key} has {feature.spec.lineage.kind} lineage: migrating it is not supported yet")
        for f in change.fields:
            if f.key not in feature.fields:
                raise MigrationError(f"{migration.label}: {change.key} has no field {f.key!r}")
    for old, new in migration.renames:
        if new not in features:
            raise MigrationError(f"{migration.label}: renamed feature {new} is not in the project")


def _ordered(migration: Migration, features: dict[str, ResolvedFeature]) -> list[FeatureMigration]:
    order = {key: index for index, key in enumerate(features)}
    return sorted(migration.features, key=lambda change: order[change.key])


def _renamed_fields(migration: Migration) -> dict[str, str]:
    return {f.old.name: f.new.name for change in migration.features for f in change.fields if f.old.name != f.new.name}


class _Relations:
    """Where each feature's current rows are read from: its table, unless a dry run or a plan
    says otherwise (a renamed feature still under its old key; a feature's rows as an earlier
    pending migration leaves them)."""

    def __init__(self, store: Store, features: dict[str, ResolvedFeature]):
        self.store = store
        self.features = features
        self.moved: dict[str, str] = {}  # new key -> old key whose table holds its rows
        self.virtual: dict[str, Relation] = {}  # key -> a query of its rows (all table columns)

    def keep(self, key: str, reconciled: exp.Select) -> None:
        """Read the feature's rows as `reconciled` leaves them from now on."""
        from sqlglot import exp

        columns = [exp.column(name, quoted=True) for name, _ in self.features[key].table_columns]
        self.virtual[key] = exp.select(*columns).from_(reconciled.subquery("r"))

    def of(self, key: str, extra: tuple[str, ...] = ()) -> tuple[Relation, set[str]] | None:
        """(relation, logical columns it has) of the feature `key`; None when it has no rows."""
        feature = self.features[key]
        if key in self.virtual:
            return self.virtual[key], {name for name, _ in feature.table_columns}
        table = layout.current_table(self.moved.get(key, key))
        found = _logical_columns(self.store, table, feature, extra)
        return (table, found) if found is not None else None


def _upstream(migration: Migration, change: FeatureMigration, relations: _Relations) -> Upstream:
    """The current rows of every feature the old and new definitions read."""
    from metaxy_cli.sql.reconcile import Upstream

    renames = dict(migration.renames)
    fields = _renamed_fields(migration)
    locator = Upstream({}, {}, renames, fields)
    found: dict[str, Relation] = {}
    columns: dict[str, set[str]] = {}
    for f in change.fields:
        for name in (*(f.old.parents or ()), *(f.new.parents or ())):
            key, _ = locator.locate(name)
            if key in found or key not in relations.features:
                continue
            located = relations.of(key)
            if located is not None:
                found[key], columns[key] = located
    return Upstream(found, columns, renames, fields)


def _logical_columns(store: Store, table: str, feature: ResolvedFeature, extra: tuple[str, ...] = ()) -> set[str] | None:
    """The logical names of the feature's columns (and `extra`) that `table` has; None without it."""
    stored = store.list_columns(table)
    if stored is None:
        return None
    present = set(stored)
    candidates = [name for name, _ in feature.history_columns] + list(extra)
    return {name for name in candidates if store.identifier(name) in present}


def _reconciled(
    migration: Migration, change: FeatureMigration, relations: _Relations, *, write_id: int | None,
    written_at: datetime,
) -> exp.Select | None:  # fmt: skip
    """The feature's rows after the migration (sql/reconcile.py); None when it has no rows."""
    from metaxy_cli.sql.reconcile import reconciled_query

    feature = relations.features[change.key]
    old_columns: list[str] = []
    for f in change.fields:
        old_field = split_field(f.old.name)[1]
        old_columns += [layout.provenance_column(old_field), layout.data_version_column(old_field)]
    located = relations.of(change.key, tuple(old_columns))
    if located is None:
        return None
    stored, available = located
    _check_sources(migration, change, available)
    return reconciled_query(
        feature, change, relations.store.profile, stored=stored, stored_columns=available,
        upstream=_upstream(migration, change, relations), write_id=write_id, written_at=written_at,
    )


def _check_sources(migration: Migration, change: FeatureMigration, available: set[str]) -> None:
    for f in change.fields:
        for definition in (f.old, f.new):
            missing = [column for column, _ in definition.source or () if column not in available]
            if missing:
                raise MigrationError(f"{migration.label}: {definition.name} reads column(s) {', '.join(missing)} that {change.key} does not store")


def _counts(
    store: Store, query: exp.Select, change: FeatureMigration, stored: int | None = None
) -> tuple[list[FieldCount], int]:
    """Per migrated field, the rows of `query` reconciled on it, of `stored` rows (default: the
    rows of `query`); and the rows to append."""
    from metaxy_cli.sql.reconcile import counts_query

    keys = [f.key for f in change.fields]
    row = store.fetch_all(store.to_sql(counts_query(query, keys)))[0]
    total = int(row[len(keys)] or 0) if stored is None else stored
    counts = [FieldCount(change.key, key, int(value or 0), total) for key, value in zip(keys, row)]
    return counts, int(row[len(keys) + 1] or 0)


def _count(store: Store, migration: Migration, relations: _Relations) -> MigrationResult:
    """A dry run: what applying would reconcile, read without writing anything; `relations`
    then hold the rows as this migration leaves them, for the next one's count."""
    result = MigrationResult(migration.id, migration.label, False, migration.renames)
    _plan_renames(store, migration, relations)
    for change in _ordered(migration, relations.features):
        query = _reconciled(migration, change, relations, write_id=None, written_at=_NO_TIME)
        if query is None:
            result.fields += [FieldCount(change.key, f.key, 0, 0) for f in change.fields]
            continue
        counts, rows = _counts(store, query, change)
        result.fields += counts
        result.rows += rows
        relations.keep(change.key, query)
    return result


def _plan_renames(store: Store, migration: Migration, relations: _Relations) -> None:
    """A rename not applied yet: the new key reads the old key's rows."""
    for old, new in migration.renames:
        if new not in relations.virtual and not _has_rows(store, relations.features[new]):
            relations.moved[new] = relations.moved.get(old, old)


_NO_TIME = datetime(2000, 1, 1)  # rows that are counted or planned, never stored


def pending_relations(project: Project, store: Store) -> dict[str, Relation]:
    """{feature key: its current rows as the pending migrations will leave them}, for the
    features they change: the whole-graph plan reads these in place of the tables, so a pull
    request that includes a migration shows the recomputation that remains (spec section 6)."""
    from metaxy_cli.sql.resolved import resolve

    features = resolve(project)
    relations = _Relations(store, features)
    for migration in migration_status(project, store).pending:
        _check(migration, features)
        _plan_renames(store, migration, relations)
        for change in _ordered(migration, features):
            query = _reconciled(migration, change, relations, write_id=None, written_at=_NO_TIME)
            if query is not None:
                relations.keep(change.key, query)
    found: dict[str, Relation] = dict(relations.virtual)
    for new, old in relations.moved.items():
        found.setdefault(new, layout.current_table(old))
    return found


def _has_rows(store: Store, feature: ResolvedFeature) -> bool:
    return bool(_rows_of(store, feature.table) or _rows_of(store, feature.history_table))


def _apply(
    store: Store, migration: Migration, features: dict[str, ResolvedFeature], applied_at: datetime,
    progress: Callable[[str], None],
) -> MigrationResult:  # fmt: skip
    from sqlglot import exp

    from metaxy_cli.sql.reconcile import RECONCILED

    result = MigrationResult(migration.id, migration.label, True, migration.renames)
    try:
        with store.transaction():
            invalidate(store)  # a rename moves whole tables, without newer write ids
            for old, new in migration.renames:
                _rename(store, migration, old, features[new])
            for change in _ordered(migration, features):
                feature = features[change.key]
                if not store.table_exists(feature.table):
                    result.fields += [FieldCount(change.key, f.key, 0, 0) for f in change.fields]
                    continue
                prepare_tables(store, feature)
                write_id = next_write_id(store)
                query = _reconciled(migration, change, _Relations(store, features), write_id=write_id, written_at=applied_at)
                assert query is not None  # the table exists
                progress(f"{migration.id}: {change.key}: reconciling")
                # One pass over the stored rows: the reconciled ones are staged with their
                # per-field flags, and counted there.
                staged = exp.select("*").from_(query.subquery("r")).where(exp.column(RECONCILED))
                store.create_temporary_as(RECONCILING, staged)
                reconciling = exp.select("*").from_(exp.to_table(RECONCILING, quoted=True))
                counts, rows = _counts(store, reconciling, change, stored=_rows_of(store, feature.table))
                result.fields += counts
                if not rows:
                    continue
                columns = [exp.column(name, quoted=True) for name in names(feature.table_columns)]
                store.supersede(feature, ids_in(feature, RECONCILING))
                store.append(feature, exp.select(*(c.copy() for c in columns)).from_(exp.to_table(RECONCILING, quoted=True)))
                log_write_of(store, feature, layout.MIGRATE, rows, applied_at, write_id, definition=f"migration:{migration.id}")
                drop_temporary(store, RECONCILING)
                result.rows += rows
            _record(store, migration, result, applied_at)
    finally:
        drop_temporary(store, RECONCILING)
    return result


def _rename(store: Store, migration: Migration, old: str, feature: ResolvedFeature) -> None:
    """Move a renamed feature's tables to the new key (already moved: nothing to do)."""
    if not store.table_exists(layout.current_table(old)):
        return
    if store.table_exists(feature.table):
        if _has_rows(store, feature):
            raise MigrationError(f"{migration.label}: cannot rename {old} to {feature.key}: {feature.key} already has data in store {store.name!r}")
        store.drop_feature(feature)  # made empty by a status or increment before the migration
    store.rename_feature(old, feature)


def _rows_of(store: Store, table: str) -> int:
    from metaxy_cli.sql.changes import count_rows

    if not store.table_exists(table):
        return 0
    return int(store.fetch_all(store.to_sql(count_rows(table)))[0][0])


def _record(store: Store, migration: Migration, result: MigrationResult, applied_at: datetime) -> None:
    from sqlglot import exp

    summary: dict[str, dict[str, int]] = {}
    for count in result.fields:
        summary.setdefault(count.feature, {})[count.field] = count.reconciled
    store.ensure_table(layout.MIGRATIONS, layout.MIGRATIONS_COLUMNS)
    values = [
        exp.Literal.string(migration.id),
        exp.Literal.string(migration.checksum),
        store.profile.timestamp_literal(applied_at),
        exp.Literal.string(json.dumps(summary, sort_keys=True)),
    ]
    columns = [name for name, _ in layout.MIGRATIONS_COLUMNS]
    store.run(exp.insert(exp.select(*values), exp.to_table(layout.MIGRATIONS, quoted=True), columns=columns))
