"""Writing samples: a batch checked, versioned in SQL and appended in one transaction (spec 3, 5)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from metaxy_cli.definitions.errors import DataError
from metaxy_cli.engine import carried
from metaxy_cli.engine.changes import after_write, small_batch
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
    from metaxy_cli.store.batch import CheckedBatch

SHOWN = 3
STAGED = "metaxy_staged"  # a non-root write's full rows, computed once (Store.stage_rows)
MERGED = "metaxy_merged"  # a partial batch completed from the stored rows (temporary)
OUTDATED = "metaxy_outdated"  # staged flag: computed from inputs that changed since (not stored)


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
    computed from outdated inputs, and stays stale (`WriteResult.outdated`); a batch carrying its
    whole increment, while nothing it was computed from changed, stores its per-field provenance
    as computed (engine/carried.py). Any problem
    (columns, types, duplicate ids, ids without upstream rows) raises before anything is
    committed, so the store is left exactly as it was. Every declared column must be given,
    unless `partial`: then the missing ones keep the values of the samples' stored rows.
    `within` runs inside the write's transaction (the engine records a graph snapshot there).
    """
    from metaxy_cli.store.batch import BATCH, computes_rows_locally, load_batch

    key = feature.key
    require_upstream(store, feature)
    written_at = written_at or datetime.now(UTC).replace(tzinfo=None)
    progress(f"{key}: reading samples")
    if feature.is_root and computes_rows_locally(store):
        return _write_root_computed_locally(store, feature, data, written_at=written_at, partial=partial, progress=progress, within=within)
    # Staged before the transaction: a bad batch is diagnosed on a connection still usable.
    rows, absent = load_batch(store, feature, data, keep_provenance=not feature.is_root, partial=partial)
    try:
        with store.transaction():
            write_id = _begin(store, feature, within)
            result = _write_staged(store, feature, rows, absent, written_at=written_at, write_id=write_id, progress=progress)
            _end(store, feature, result.rows, written_at, write_id)
    finally:
        drop_temporary(store, BATCH, MERGED, STAGED)
    return result


def _begin(store: Store, feature: ResolvedFeature, within: Callable[[], object] | None) -> int:
    """A write's first steps in its transaction; returns its write id."""
    prepare_tables(store, feature)
    if within is not None:
        within()
    return next_write_id(store)


def _end(store: Store, feature: ResolvedFeature, rows: int, written_at: datetime, write_id: int) -> None:
    """A write's last steps in its transaction: the write-log row, then the checkpoint."""
    log_write_of(store, feature, "write", rows, written_at, write_id)
    after_write(store, feature, write_id, rows)


def _write_staged(
    store: Store, feature: ResolvedFeature, rows: int, absent: tuple[str, ...], *, written_at: datetime,
    write_id: int, progress: Callable[[str], None],
) -> WriteResult:  # fmt: skip
    """Write the batch staged in the store as BATCH (in the write's transaction)."""
    from metaxy_cli.sql.query import write_query
    from metaxy_cli.store.batch import BATCH, staged_columns

    outdated: tuple[int, tuple[str, ...]] = (0, ())
    columns = [] if feature.is_root else staged_columns(store)
    carry = layout.PROVENANCE if layout.PROVENANCE in columns else None
    source = _merged(store, feature, absent, carry) if absent else BATCH
    stored = feature.table if was_migrated(store, feature) else None
    staged = None
    # The whole increment, still current: its provenance is stored as computed, nothing outdated.
    trusted = carry is not None and not absent and stored is None and carried.trusted(store, feature, BATCH, columns)
    carry = None if trusted else carry
    if not feature.is_root or stored is not None:
        # Rows computed once (before the rows they replace move to history): orphans and
        # outdated samples are found there.
        narrow = small_batch(store, feature, rows)
        query = write_query(
            feature, store.profile, source, written_at=written_at, write_id=write_id, carry=carry, stored=stored,
            trusted=trusted, narrow=narrow,
        )  # fmt: skip
        extra = [(OUTDATED, "boolean")] if carry is not None else []
        staged = store.stage_rows(feature, _flag_outdated(feature, query) if extra else query, STAGED, extra=extra)
        if not feature.is_root:
            _refuse_orphans(store, feature, staged)
        if carry is not None:
            outdated = _drop_outdated(store, feature, staged)
            rows -= outdated[0]
        source = staged
    if feature.is_expansion:
        _replace_children(store, feature, written_at, write_id, source)
    progress(f"{feature.key}: writing {rows} samples")
    store.supersede(feature, ids_in(feature, source))
    if staged is None:
        store.append(feature, write_query(feature, store.profile, source, written_at=written_at, write_id=write_id))
    else:
        store.adopt_staged(feature, staged)
    return WriteResult(feature.key, rows, store.name, *outdated)


def _write_root_computed_locally(
    store: Store, feature: ResolvedFeature, data: Any, *, written_at: datetime, partial: bool,
    progress: Callable[[str], None], within: Callable[[], object] | None,
) -> WriteResult:  # fmt: skip
    """A root write to a store that is not DuckDB: the batch checked in DuckDB, its rows computed
    by one write query on the way into the store (_append_computed), which loads them once (the
    ids too, when it holds rows they may replace). A partial batch, or a feature a migration
    reconciled (its stored versions are needed), is staged in the store and written there."""
    from metaxy_cli.store.batch import BATCH, checked_batch

    with checked_batch(store, feature, data, partial=partial) as batch:
        try:
            with store.transaction():
                write_id = _begin(store, feature, within)
                if batch.absent or was_migrated(store, feature):
                    batch.stage_into(store)
                    result = _write_staged(store, feature, batch.rows, batch.absent, written_at=written_at, write_id=write_id, progress=progress)
                else:
                    progress(f"{feature.key}: writing {batch.rows} samples")
                    if store.moves_replaced_rows and _holds_rows(store, feature):
                        batch.stage_into(store, feature.id_names)
                        store.supersede(feature, ids_in(feature, BATCH))
                    _append_computed(store, feature, batch, written_at=written_at, write_id=write_id)
                    result = WriteResult(feature.key, batch.rows, store.name)
                _end(store, feature, result.rows, written_at, write_id)
        finally:
            drop_temporary(store, BATCH, MERGED, STAGED)
    return result


def _append_computed(store: Store, feature: ResolvedFeature, batch: CheckedBatch, *, written_at: datetime, write_id: int) -> None:
    """A root's rows computed by one write query, in the store's engine when its statements read
    the input file or the batch's stream in place (hashing there costs less than moving the
    hashes: ClickHouse), else in the DuckDB that checked the batch."""
    from metaxy_cli.sql.dialects import profile_for
    from metaxy_cli.sql.emit import to_sql
    from metaxy_cli.sql.query import write_query
    from metaxy_cli.store.io import quote

    schema = batch.schema()
    in_place = store.parquet_relation(schema, batch.parquet) if batch.parquet is not None else None
    if in_place is not None:  # the engine reads the input file itself (no copy, no stream)
        store.append_over(feature, write_query(feature, store.profile, in_place, written_at=written_at, write_id=write_id), None)
        return
    source = store.batch_relation(schema)
    if source is not None:
        with batch.stream(f"SELECT * FROM {quote(batch.name)}") as typed:
            store.append_over(feature, write_query(feature, store.profile, source, written_at=written_at, write_id=write_id), typed)
        return
    duckdb = profile_for("duckdb")
    query = write_query(feature, duckdb, batch.name, written_at=written_at, write_id=write_id)
    with batch.stream(to_sql(query, duckdb)) as finished:
        store.append_rows(feature, finished)


def _holds_rows(store: Store, feature: ResolvedFeature) -> bool:
    from sqlglot import exp

    return bool(store.fetch_all(store.to_sql(exp.select(exp.Literal.number(1)).from_(exp.to_table(feature.table, quoted=True)).limit(1))))


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


def _replace_children(store: Store, feature: ResolvedFeature, written_at: datetime, write_id: int, staged: str) -> None:
    """Writing children of a parent replaces that parent's children (spec section 7): the stored
    children of the batch's parents that the batch leaves out are tombstoned, in the write's own
    transaction and with its write id, through the store's hooks (a log-structured store appends
    the tombstones to its log, published with the rows by the same write-log entry)."""
    from sqlglot import exp

    from metaxy_cli.sql.changes import count_rows
    from metaxy_cli.sql.writes import write_id_literal

    parents = [exp.column(name, quoted=True) for name in feature.unit_names]
    of_parents = exp.In(
        this=parents[0] if len(parents) == 1 else exp.Tuple(expressions=parents),
        query=exp.select(*(p.copy() for p in parents)).from_(exp.to_table(staged, quoted=True)).subquery(),
    )
    condition = exp.and_(of_parents, exp.not_(ids_in(feature, staged)))
    table = exp.to_table(feature.table, quoted=True)
    if not store.fetch_all(store.to_sql(count_rows(feature.table, condition)))[0][0]:
        return
    stamp = store.profile.timestamp_literal(written_at)
    columns = [*feature.id_names, layout.WRITTEN_AT, layout.WRITE_ID, layout.DELETED]
    values = [exp.column(name, quoted=True) for name in feature.id_names]
    values += [stamp, write_id_literal(write_id, store.profile), exp.true()]
    store.tombstone(feature, columns, exp.select(*values).from_(table.copy()).where(condition.copy()))
    store.supersede(feature, condition)


def _refuse_orphans(store: Store, feature: ResolvedFeature, staged: str) -> None:
    """Batch samples without (required) upstream rows cannot get a provenance (NULL when staged):
    name them."""
    from sqlglot import exp

    from metaxy_cli.sql.provenance import is_null

    missing = is_null(exp.column(layout.PROVENANCE, quoted=True))
    count, shown = _count_and_show(store, feature, staged, missing)
    if count:
        upstream = ", ".join(dep.key for dep in feature.required)
        raise DataError(f"{feature.key}: {count} sample(s) have no upstream rows in {upstream} (samples: {'; '.join(shown)})")


def _flag_outdated(feature: ResolvedFeature, query: exp.Select) -> exp.Select:
    """The rows, and whether each sample's carried increment provenance differs from the one its
    upstream rows give now (OUTDATED). A flag column, not a filter: the engine computes the
    provenance once for both (a filter over it made DuckDB hash every sample twice)."""
    from sqlglot import exp

    carried, provenance = exp.column(layout.CARRIED, quoted=True), exp.column(layout.PROVENANCE, quoted=True)
    flag = exp.alias_(exp.NEQ(this=carried, expression=provenance), OUTDATED, quoted=True)
    columns = [exp.column(name, quoted=True) for name in names(feature.table_columns)]
    return exp.select(*columns, flag).from_(query.subquery("w", copy=False))


def _drop_outdated(store: Store, feature: ResolvedFeature, staged: str) -> tuple[int, tuple[str, ...]]:
    """Remove the outdated samples from the staged rows; returns their count and a few ids."""
    from sqlglot import exp

    outdated = exp.column(OUTDATED, quoted=True)
    count, shown = _count_and_show(store, feature, staged, outdated)
    if count:
        store.run(store.profile.delete(exp.to_table(staged, quoted=True), outdated))
    return count, shown


def _count_and_show(store: Store, feature: ResolvedFeature, table: str, condition: exp.Expression) -> tuple[int, tuple[str, ...]]:
    """How many rows of `table` match `condition`, and the ids of the first few."""
    from sqlglot import exp

    from metaxy_cli.sql.changes import count_rows

    count = store.fetch_all(store.to_sql(count_rows(table, condition)))[0][0]
    if not count:
        return 0, ()
    ids = [exp.column(name, quoted=True) for name in feature.id_names]
    query = exp.select(*ids).from_(exp.to_table(table, quoted=True)).where(condition.copy()).order_by(*(i.copy() for i in ids)).limit(SHOWN)
    return count, tuple(id_text(feature, row) for row in store.fetch_all(store.to_sql(query)))
