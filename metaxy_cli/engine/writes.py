"""Writing samples: a batch checked, versioned in SQL and appended in one transaction (spec 3, 5)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from metaxy_cli.definitions.errors import DataError
from metaxy_cli.engine.changes import after_write
from metaxy_cli.engine.tables import (
    drop_temporary,
    id_text,
    ids_in,
    log_write_of,
    names,
    next_write_id,
    prepare_tables,
    require_upstream,
)
from metaxy_cli.sql import layout

if TYPE_CHECKING:
    from sqlglot import exp

    from metaxy_cli.sql.resolved import ResolvedFeature
    from metaxy_cli.store.base import Store

SHOWN = 3
STAGED = "metaxy_staged"  # a non-root write's full rows, computed once (temporary)
MERGED = "metaxy_merged"  # a partial batch completed from the stored rows (temporary)


@dataclass(frozen=True)
class WriteResult:
    """`rows` written; `outdated` samples not written because their upstream changed after the
    increment they were computed from (a few named in `outdated_samples`): they stay stale."""

    feature: str
    rows: int
    store: str
    outdated: int = 0
    outdated_samples: tuple[str, ...] = ()


def write_samples(
    store: Store, feature: ResolvedFeature, data: Any, *, written_at: datetime | None, partial: bool,
    progress: Callable[[str], None], within: Callable[[], object] | None = None,
) -> WriteResult:  # fmt: skip
    """Append samples (a file path, `-`, Arrow, pandas, polars or a list of dicts) in one transaction.

    Provenance and data versions are computed here; metaxy_* input columns are ignored, except
    that a batch carrying its increment's `metaxy_provenance` is checked against it: a sample
    whose upstream changed since (the expected provenance differs) is not written, since it was
    computed from outdated inputs, and stays stale (`WriteResult.outdated`). Any problem
    (columns, types, duplicate ids, ids without upstream rows) raises before anything is
    committed, so the store is left exactly as it was. Every declared column must be given,
    unless `partial`: then the missing ones keep the values of the samples' stored rows.
    `within` runs inside the write's transaction (the engine records a graph snapshot there).
    """
    from metaxy_cli.store.batch import BATCH, carries_provenance, load_batch

    key = feature.key
    require_upstream(store, feature)
    written_at = written_at or datetime.now(UTC).replace(tzinfo=None)
    progress(f"{key}: reading samples")
    # Staged before the transaction: a bad batch is diagnosed on a connection still usable.
    rows, absent = load_batch(store, feature, data, keep_provenance=not feature.is_root, partial=partial)
    outdated: tuple[int, tuple[str, ...]] = (0, ())
    try:
        with store.transaction():
            prepare_tables(store, feature)
            if within is not None:
                within()
            write_id = next_write_id(store)
            carry = layout.PROVENANCE if not feature.is_root and carries_provenance(store) else None
            source = _merged(store, feature, absent, carry) if absent else BATCH
            stored = feature.table if was_migrated(store, feature) else None
            if not feature.is_root or stored is not None:
                # Rows computed once into STAGED (before the rows they replace move to history):
                # orphans and outdated samples are found there.
                _stage_rows(store, feature, source, write_id, written_at, carry, stored)
                if not feature.is_root:
                    _refuse_orphans(store, feature)
                if carry is not None:
                    outdated = _drop_outdated(store, feature)
                    rows -= outdated[0]
                source = STAGED
            if feature.is_expansion:
                _replace_children(store, feature, written_at, write_id)
            progress(f"{key}: writing {rows} samples")
            store.supersede(feature, ids_in(feature, source))
            store.append(feature, _rows(store, feature, source, write_id, written_at))
            log_write_of(store, feature, "write", rows, written_at, write_id)
            after_write(store, feature, write_id, rows)
    finally:
        drop_temporary(store, BATCH, MERGED, STAGED)
    return WriteResult(key, rows, store.name, *outdated)


def _merged(store: Store, feature: ResolvedFeature, absent: tuple[str, ...], carry: str | None) -> str:
    """A partial batch with its missing columns taken from the samples' current rows (NULL for
    new samples), staged as MERGED; returns its name."""
    from sqlglot import exp

    from metaxy_cli.sql.provenance import ids_equal
    from metaxy_cli.store.batch import BATCH

    def column(name: str) -> exp.Expression:
        return exp.column(name, table="s" if name in absent else "b", quoted=True)

    names = [*feature.id_names, *feature.declared_names, *([carry] if carry else [])]
    on = ids_equal(feature.id_names, "b", "s")
    query = (
        exp.select(*(exp.alias_(column(name), name, quoted=True) for name in names))
        .from_(exp.to_table(BATCH, quoted=True).as_("b"))
        .join(exp.to_table(feature.table, quoted=True).as_("s"), on=on, join_type="LEFT")
    )
    store.create_temporary_as(MERGED, query)
    return MERGED


def _rows(store: Store, feature: ResolvedFeature, source: str, write_id: int, written_at: datetime) -> exp.Select:
    """The stored rows: computed from a root's batch here, or read back from STAGED."""
    from sqlglot import exp

    from metaxy_cli.sql.query import write_query

    if source == STAGED:
        columns = [exp.column(name, quoted=True) for name in names(feature.table_columns)]
        return exp.select(*columns).from_(exp.to_table(STAGED, quoted=True))
    return write_query(feature, store.profile, source, written_at=written_at, write_id=write_id)


def _stage_rows(
    store: Store, feature: ResolvedFeature, batch: str, write_id: int, written_at: datetime, carry: str | None,
    stored: str | None,
) -> None:  # fmt: skip
    from metaxy_cli.sql.query import write_query

    query = write_query(feature, store.profile, batch, written_at=written_at, write_id=write_id, carry=carry, stored=stored)
    store.create_temporary_as(STAGED, query)


def was_migrated(store: Store, feature: ResolvedFeature) -> bool:
    """Whether a migration reconciled rows of the feature: only then can a stored data version
    differ from its provenance without an override, and a write must keep the versions of the
    fields it does not change (sql/query.write_query)."""
    from sqlglot import exp

    condition = exp.and_(
        exp.EQ(this=exp.column("feature"), expression=exp.Literal.string(feature.key)),
        exp.EQ(this=exp.column("operation"), expression=exp.Literal.string(layout.MIGRATE)),
    )
    query = exp.select(exp.Count(this=exp.Star())).from_(layout.WRITES).where(condition)
    return bool(store.fetch_all(store.to_sql(query))[0][0])


def _replace_children(store: Store, feature: ResolvedFeature, written_at: datetime, write_id: int) -> None:
    """Writing children of a parent replaces that parent's children (spec section 7): the stored
    children of the batch's parents that the batch leaves out are tombstoned, in the write's own
    transaction and with its write id, through the store's hooks (a log-structured store appends
    the tombstones to its log, published with the rows by the same write-log entry)."""
    from sqlglot import exp

    from metaxy_cli.sql.writes import write_id_literal

    staged = exp.to_table(STAGED, quoted=True)
    parents = [exp.column(name, quoted=True) for name in feature.unit_names]
    of_parents = exp.In(
        this=parents[0] if len(parents) == 1 else exp.Tuple(expressions=parents),
        query=exp.select(*(p.copy() for p in parents)).from_(staged).subquery(),
    )
    condition = exp.and_(of_parents, exp.not_(ids_in(feature, STAGED)))
    table = exp.to_table(feature.table, quoted=True)
    count = store.fetch_all(store.to_sql(exp.select(exp.Count(this=exp.Star())).from_(table).where(condition.copy())))[0][0]
    if not count:
        return
    stamp = store.profile.timestamp_literal(written_at)
    columns = [*feature.id_names, layout.WRITTEN_AT, layout.WRITE_ID, layout.DELETED]
    values = [exp.column(name, quoted=True) for name in feature.id_names]
    values += [stamp, write_id_literal(write_id, store.profile), exp.true()]
    store.tombstone(feature, columns, exp.select(*values).from_(table.copy()).where(condition.copy()))
    store.supersede(feature, condition)


def _refuse_orphans(store: Store, feature: ResolvedFeature) -> None:
    """Batch samples without (required) upstream rows cannot get a provenance (NULL in STAGED):
    name them."""
    from sqlglot import exp

    from metaxy_cli.sql.provenance import is_null

    missing = is_null(exp.column(layout.PROVENANCE, quoted=True))
    count, shown = _count_and_show(store, feature, missing)
    if count:
        upstream = ", ".join(dep.key for dep in feature.required)
        raise DataError(f"{feature.key}: {count} sample(s) have no upstream rows in {upstream} (samples: {'; '.join(shown)})")


def _drop_outdated(store: Store, feature: ResolvedFeature) -> tuple[int, tuple[str, ...]]:
    """Remove from STAGED the samples whose carried increment provenance differs from the one
    their upstream rows give now; returns their count and a few of their ids."""
    from sqlglot import exp

    from metaxy_cli.sql.provenance import is_null

    carried = exp.column(layout.CARRIED, quoted=True)
    changed = exp.and_(
        exp.not_(is_null(carried)),
        exp.NEQ(this=carried.copy(), expression=exp.column(layout.PROVENANCE, quoted=True)),
    )
    count, shown = _count_and_show(store, feature, changed)
    if count:
        store.run(store.profile.delete(exp.to_table(STAGED, quoted=True), changed))
    return count, shown


def _count_and_show(store: Store, feature: ResolvedFeature, condition: exp.Expression) -> tuple[int, tuple[str, ...]]:
    """How many STAGED rows match `condition`, and the ids of the first few."""
    from sqlglot import exp

    table = exp.to_table(STAGED, quoted=True)
    count = store.fetch_all(store.to_sql(exp.select(exp.Count(this=exp.Star())).from_(table).where(condition.copy())))[0][0]
    if not count:
        return 0, ()
    ids = [exp.column(name, quoted=True) for name in feature.id_names]
    query = exp.select(*ids).from_(table.copy()).where(condition.copy()).order_by(*(i.copy() for i in ids)).limit(SHOWN)
    return count, tuple(id_text(feature, row) for row in store.fetch_all(store.to_sql(query)))
