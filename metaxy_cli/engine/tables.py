"""What every sample operation does to the store's tables: create and extend them, take a write
id and log the write, and the small SQL pieces they share."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from metaxy_cli.definitions.errors import StoreError
from metaxy_cli.sql import layout

if TYPE_CHECKING:
    from sqlglot import exp

    from metaxy_cli.sql.resolved import ResolvedFeature
    from metaxy_cli.store.base import Store


def require_upstream(store: Store, feature: ResolvedFeature) -> None:
    """A required upstream without a table cannot give expected samples: say which one."""
    for dep in feature.required:
        if not store.table_exists(dep.feature.table):
            raise StoreError(f"upstream feature {dep.key} has no data in store {store.name!r} (write it first)")


def missing_upstream(store: Store, feature: ResolvedFeature) -> str | None:
    """The first required upstream feature without a table, or None."""
    return next((dep.key for dep in feature.required if not store.table_exists(dep.feature.table)), None)


def prepare_tables(store: Store, feature: ResolvedFeature) -> None:
    """Create the feature's tables (and absent optional upstream ones) and the write log, add
    columns declared since. Required upstream tables get the columns their current definition
    has and their rows lack (NULL): a field added upstream has no version in rows written before
    it (read as '', provenance.data_version), a write id column missing from tables written
    before write ids sends those rows down the hashing path."""
    features = [feature] + [dep.feature for dep in feature.optional]
    features += [dep.feature for dep in feature.required if store.table_exists(dep.feature.table)]
    with store.transaction():
        for each in [feature, *(dep.feature for dep in feature.upstream)]:  # each once
            check_column_types(store, each)
        store.ensure_table(layout.WRITES, layout.WRITES_COLUMNS)
        if store.tracks_changes:
            store.prepare_checkpoints()
        for each in features:
            store.prepare_feature(each)


def check_column_types(store: Store, feature: ResolvedFeature) -> None:
    """Every id and declared column already stored has the type the YAML declares: a changed
    type would mix values of two types under one name (and hash them differently)."""
    stored = store.column_types(feature.table)
    if not stored:
        return
    for name, portable in feature.id_columns + feature.declared_columns:
        kind = stored.get(store.identifier(name))
        if kind is not None and not store.profile.stores_as(kind, portable):
            expected = store.profile.column_type(portable).sql(store.profile.name)
            raise StoreError(
                f"feature {feature.key}: column {name!r} is stored as {kind} in store {store.name!r} but the YAML "
                f"declares it {portable} ({expected}): declare its stored type again, or give the new type a new column name"
            )


def fast_path_possible(store: Store, feature: ResolvedFeature, *, restricted: bool = False, listing: bool = False) -> bool:
    """The `fast_path` of a comparison: False when one lookup (compare.fast_path_bounds) shows
    that no stored row can skip its hashing (after a change of the feature's definition, or a
    rewrite of all of an upstream feature, until the feature is written again). No lookup where
    compare.joined decides alone: a comparison `restricted` to the touched ids (few rows), a
    root's `listing` and an aggregation (the check is left out there anyway)."""
    from metaxy_cli.sql.compare import fast_path_bounds, fast_path_can_pass

    if restricted or listing or feature.is_aggregation:
        return True
    return fast_path_can_pass(tuple(store.fetch_all(store.to_sql(fast_path_bounds(feature)))[0]))


def next_write_id(store: Store) -> int:
    """The id of the write being made; call inside its transaction (sql/writes.py)."""
    return store.next_write_id()


def log_write_of(
    store: Store, feature: ResolvedFeature, operation: str, rows: int, written_at: datetime, write_id: int,
    *, definition: str | None = None,
) -> None:  # fmt: skip
    """Record the write in the log, in the same transaction as its rows and after them: on an
    engine without transactions the log row is what makes the rows visible (store/base.py)."""
    from metaxy_cli.sql.writes import log_write

    entry = log_write(feature, store.profile, write_id=write_id, operation=operation, rows=rows, written_at=written_at, definition=definition)
    store.log_write(entry)


def names(columns: Iterable[tuple[str, str]]) -> list[str]:
    return [name for name, _ in columns]


def ids_in(feature: ResolvedFeature, source: str | exp.Select) -> exp.In:
    """`(ids) IN (SELECT ids FROM source)` (or IN a query of the ids), for statements over a table
    with the id columns.

    An IN list, not a correlated EXISTS: engines that index the current table's ids (SQLite)
    then probe that index once per source row instead of scanning the source per stored row
    (20k rows into 20k: 25 s -> well under a second); hash-joining engines plan both the same.
    """
    from sqlglot import exp

    columns = [exp.column(name, quoted=True) for name in feature.id_names]
    target = columns[0] if len(columns) == 1 else exp.Tuple(expressions=columns)
    if isinstance(source, str):
        source = exp.select(*(column.copy() for column in columns)).from_(exp.to_table(source, quoted=True))
    return exp.In(this=target, query=source.subquery())


def drop_temporary(store: Store, *tables: str) -> None:
    for table in tables:
        store.drop_temporary(table)


def id_text(feature: ResolvedFeature, row: tuple) -> str:
    return ", ".join(f"{column}={value!r}" for column, value in zip(feature.id_names, row))
