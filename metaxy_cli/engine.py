"""The sample-level operations, shared by the CLI and the Python API: write, increment, status,
delete, sql (spec sections 3-5).

Each operation is a few SQL statements built by metaxy_cli.sql and run inside the store; rows never
pass through Python except where a caller asks for them. Heavy modules (sqlglot, duckdb, pyarrow)
are imported inside functions so `import metaxy_cli` stays fast.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from metaxy_cli.errors import DataError, StoreError
from metaxy_cli.sql import layout

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlglot import exp

    from metaxy_cli.model import FeatureSpec, Project
    from metaxy_cli.store.base import Store

Progress = Callable[[str], None]
SHOWN = 3
STAGED = "metaxy_staged"  # a non-root write's full rows, computed once (temporary)
_listing_ids = itertools.count(1)


def _quiet(message: str) -> None:
    """The default progress callback: library code never prints."""


# ---- tables ------------------------------------------------------------------------------------


def require_upstream(project: Project, store: Store, spec: FeatureSpec) -> None:
    """A required upstream without a table cannot give expected samples: say which one."""
    for dep in spec.deps:
        if not dep.optional and not store.table_exists(layout.current_table(dep.feature)):
            raise StoreError(f"upstream feature {dep.feature} has no data in store {store.name!r} (write it first)")


def prepare_tables(project: Project, store: Store, spec: FeatureSpec) -> None:
    """Create the feature's tables (and absent optional upstream ones) and the write log, add
    columns declared since. Required upstream tables get the columns their current definition
    has and their rows lack (NULL): a field added upstream has no version in rows written before
    it (read as '', provenance.data_version), a write id column missing from tables written
    before write ids sends those rows down the hashing path."""
    features = [spec] + [project.feature(dep.feature) for dep in spec.deps if dep.optional]
    with store.transaction():
        store.ensure_table(layout.WRITES, layout.WRITES_COLUMNS)
        for feature in features:
            store.ensure_table(layout.current_table(feature.key), layout.table_columns(feature))
            store.ensure_id_index(layout.id_index(feature.key), layout.current_table(feature.key), feature.id_columns)
            store.ensure_table(layout.history_table(feature.key), layout.table_columns(feature, history=True))
        for dep in spec.deps:
            existing = store.list_columns(layout.current_table(dep.feature)) if not dep.optional else None
            if existing is not None:
                lacking = [c for c in layout.table_columns(project.feature(dep.feature)) if c[0] not in existing]
                store.add_columns(layout.current_table(dep.feature), lacking)


def next_write_id(store: Store) -> int:
    """The id of the write being made; call inside its transaction (sql/writes.py)."""
    from metaxy_cli.sql import writes

    return int(store.fetch_all(store.to_sql(writes.next_write_id()))[0][0])


def log_write_of(project: Project, store: Store, key: str, operation: str, rows: int, written_at: datetime, write_id: int) -> None:
    """Record the write in the log, in the same transaction as its rows."""
    from metaxy_cli.sql.writes import log_write

    store.run(log_write(project, key, store.profile, write_id=write_id, operation=operation, rows=rows, written_at=written_at))


def begin_write(project: Project, store: Store, key: str, operation: str, rows: int, written_at: datetime) -> int:
    """Take the next write id and log the write; call inside the write's transaction."""
    write_id = next_write_id(store)
    log_write_of(project, store, key, operation, rows, written_at, write_id)
    return write_id


def _names(columns: Iterable[tuple[str, str]]) -> list[str]:
    return [name for name, _ in columns]


def _insert(table: str, columns: list[str], query: exp.Query) -> exp.Insert:
    from sqlglot import exp

    return exp.insert(query, exp.to_table(table, quoted=True), columns=columns)


def _ids_in(spec: FeatureSpec, source: str | exp.Select) -> exp.In:
    """`(ids) IN (SELECT ids FROM source)` (or IN a query of the ids), for statements over a table
    with the id columns.

    An IN list, not a correlated EXISTS: engines that index the current table's ids (SQLite)
    then probe that index once per source row instead of scanning the source per stored row
    (20k rows into 20k: 25 s -> well under a second); hash-joining engines plan both the same.
    """
    from sqlglot import exp

    names = [exp.column(name, quoted=True) for name in spec.id_columns]
    target = names[0] if len(names) == 1 else exp.Tuple(expressions=names)
    if isinstance(source, str):
        source = exp.select(*(name.copy() for name in names)).from_(exp.to_table(source, quoted=True))
    return exp.In(this=target, query=source.subquery())


def _drop_temporary(store: Store, *names: str) -> None:
    for name in names:
        store.drop_table(name)


def _id_text(spec: FeatureSpec, row: tuple) -> str:
    return ", ".join(f"{column}={value!r}" for column, value in zip(spec.id_columns, row))


# ---- write -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WriteResult:
    """`rows` written; `outdated` samples not written because their upstream changed after the
    increment they were computed from (a few named in `outdated_samples`): they stay stale."""

    feature: str
    rows: int
    store: str
    outdated: int = 0
    outdated_samples: tuple[str, ...] = ()


def write(
    project: Project, store: Store, key: str, data: Any, *, written_at: datetime | None = None,
    progress: Progress = _quiet,
) -> WriteResult:
    """Append samples (a file path, `-`, Arrow, pandas, polars or a list of dicts) in one transaction.

    Provenance and data versions are computed here; metaxy_* input columns are ignored, except
    that a batch carrying its increment's `metaxy_provenance` is checked against it: a sample
    whose upstream changed since (the expected provenance differs) is not written, since it was
    computed from outdated inputs, and stays stale (`WriteResult.outdated`). Any problem
    (columns, types, duplicate ids, ids without upstream rows) raises before anything is
    committed, so the store is left exactly as it was.
    """
    from metaxy_cli.batch import BATCH, carries_provenance, load_batch

    spec = project.feature(key)
    require_upstream(project, store, spec)
    written_at = written_at or datetime.now(UTC).replace(tzinfo=None)
    progress(f"{key}: reading samples")
    # Staged before the transaction: a bad batch is diagnosed on a connection still usable.
    rows = load_batch(store, spec, data, keep_provenance=not spec.is_root)
    outdated: tuple[int, tuple[str, ...]] = (0, ())
    try:
        with store.transaction():
            prepare_tables(project, store, spec)
            write_id = next_write_id(store)
            source = BATCH
            if not spec.is_root:
                # Rows computed once into STAGED: orphans and outdated samples are found there.
                carry = layout.PROVENANCE if carries_provenance(store) else None
                _stage_rows(project, store, spec, write_id, written_at, carry)
                _refuse_orphans(store, spec)
                if carry is not None:
                    outdated = _drop_outdated(store, spec)
                    rows -= outdated[0]
                source = STAGED
            progress(f"{key}: writing {rows} samples")
            log_write_of(project, store, key, "write", rows, written_at, write_id)
            supersede(store, spec, _ids_in(spec, source))
            stored = _rows(project, store, spec, source, write_id, written_at)
            store.run(_insert(layout.current_table(key), _names(layout.table_columns(spec)), stored))
    finally:
        _drop_temporary(store, BATCH, STAGED)
    return WriteResult(key, rows, store.name, *outdated)


def _rows(project: Project, store: Store, spec: FeatureSpec, source: str, write_id: int, written_at: datetime) -> exp.Select:
    """The stored rows: computed from a root's batch here, or read back from STAGED."""
    from sqlglot import exp

    from metaxy_cli.sql.query import write_query

    if source == STAGED:
        columns = [exp.column(name, quoted=True) for name in _names(layout.table_columns(spec))]
        return exp.select(*columns).from_(exp.to_table(STAGED, quoted=True))
    return write_query(project, spec.key, store.profile, source, written_at=written_at, write_id=write_id)


def _stage_rows(
    project: Project, store: Store, spec: FeatureSpec, write_id: int, written_at: datetime, carry: str | None
) -> None:  # fmt: skip
    from metaxy_cli.batch import BATCH
    from metaxy_cli.sql.query import write_query

    query = write_query(project, spec.key, store.profile, BATCH, written_at=written_at, write_id=write_id, carry=carry)
    store.create_temporary_as(STAGED, query)


def _refuse_orphans(store: Store, spec: FeatureSpec) -> None:
    """Batch samples without (required) upstream rows cannot get a provenance (NULL in STAGED):
    name them."""
    from sqlglot import exp

    from metaxy_cli.sql.provenance import is_null

    missing = is_null(exp.column(layout.PROVENANCE, quoted=True))
    count, shown = _count_and_show(store, spec, missing)
    if count:
        upstream = ", ".join(dep.feature for dep in spec.deps if not dep.optional)
        raise DataError(f"{spec.key}: {count} sample(s) have no upstream rows in {upstream} (samples: {'; '.join(shown)})")


def _drop_outdated(store: Store, spec: FeatureSpec) -> tuple[int, tuple[str, ...]]:
    """Remove from STAGED the samples whose carried increment provenance differs from the one
    their upstream rows give now; returns their count and a few of their ids."""
    from sqlglot import exp

    from metaxy_cli.sql.provenance import is_null

    carried = exp.column(layout.CARRIED, quoted=True)
    changed = exp.and_(
        exp.not_(is_null(carried)),
        exp.NEQ(this=carried.copy(), expression=exp.column(layout.PROVENANCE, quoted=True)),
    )
    count, shown = _count_and_show(store, spec, changed)
    if count:
        store.run(exp.delete(exp.to_table(STAGED, quoted=True), where=changed))
    return count, shown


def _count_and_show(store: Store, spec: FeatureSpec, condition: exp.Expression) -> tuple[int, tuple[str, ...]]:
    """How many STAGED rows match `condition`, and the ids of the first few."""
    from sqlglot import exp

    table = exp.to_table(STAGED, quoted=True)
    count = store.fetch_all(store.to_sql(exp.select(exp.Count(this=exp.Star())).from_(table).where(condition.copy())))[0][0]
    if not count:
        return 0, ()
    ids = [exp.column(name, quoted=True) for name in spec.id_columns]
    query = exp.select(*ids).from_(table.copy()).where(condition.copy()).order_by(*(i.copy() for i in ids)).limit(SHOWN)
    return count, tuple(_id_text(spec, row) for row in store.fetch_all(store.to_sql(query)))


def supersede(store: Store, spec: FeatureSpec, condition: exp.Expression) -> None:
    """Move the current rows matching `condition` to history (they are being replaced or
    deleted), so the current table holds one row per id and every row ever written is kept:
    current ∪ history is the full append-only log.
    """
    from sqlglot import exp

    columns = _names(layout.table_columns(spec))
    current = exp.to_table(layout.current_table(spec.key), quoted=True)
    old = exp.select(*(exp.column(name) for name in columns), exp.alias_(exp.false(), layout.DELETED))
    store.run(_insert(layout.history_table(spec.key), columns + [layout.DELETED], old.from_(current).where(condition.copy())))
    store.run(exp.delete(current.copy(), where=condition.copy()))


# ---- increment and summary ---------------------------------------------------------------------


def output_types(spec: FeatureSpec) -> dict[str, str]:
    """Portable types of the increment columns (for stores whose results are untyped)."""
    types = dict(layout.id_columns(spec))
    types[layout.STATUS] = "string"
    types[layout.PROVENANCE] = "string"
    for name in layout.field_keys(spec):
        types[layout.provenance_column(name)] = "string"
        types[layout.stale_column(name)] = "boolean"
    return types


@dataclass
class Increment:
    """The samples of a feature to (re)compute, as SQL in the store, fetched on demand.

    `to_arrow()` / `batches()` / `rows()` read it; `write_to(path, fmt)` streams it to a file;
    `relation()` gives a DuckDB relation on a DuckDB store (no copy at all).
    """

    store: Store
    feature: str
    sql: str
    types: dict[str, str] = field(repr=False)

    def batches(self, batch_rows: int = 65_536) -> pa.RecordBatchReader:
        return self.store.fetch_batches(self.sql, batch_rows, types=self.types)

    def to_arrow(self) -> pa.Table:
        return self.batches().read_all()

    def rows(self) -> list[dict[str, Any]]:
        """Python dicts: convenient for small increments only."""
        return self.to_arrow().to_pylist()

    def relation(self):
        connection = getattr(self.store, "native_duckdb", None)
        if connection is None:
            raise StoreError(f"store {self.store.name!r} is not DuckDB: use to_arrow() or batches()")
        return connection.sql(self.sql)

    def write_to(self, path, file_format: str) -> int:
        """Stream the increment to a parquet, csv or jsonl file; returns the row count."""
        return self.store.copy_to(self.sql, path, file_format, types=self.types)

    def __len__(self) -> int:
        return self.store.fetch_all(f"SELECT count(*) FROM ({self.sql}) AS i")[0][0]


def _root_source(project: Project, store: Store, spec: FeatureSpec, listing: Any) -> str | None:
    """Stage a root feature's listing (`--input`) as a temporary table; None without one."""
    if listing is None:
        return None
    if not spec.is_root:
        raise DataError(f"{spec.key}: --input is for root features only; its samples come from {', '.join(spec.dep_keys)}")
    from metaxy_cli.batch import load_batch

    name = f"metaxy_listing_{next(_listing_ids)}"
    load_batch(store, spec, listing, name=name)
    return name


def _filtered(query: exp.Select, statuses: tuple[str, ...], keep: list[str] | None) -> exp.Select:
    from sqlglot import exp

    columns = [exp.column(name) for name in keep] if keep else [exp.Star()]
    status = exp.column(layout.STATUS)
    condition = exp.In(this=status, expressions=[exp.Literal.string(s) for s in statuses])
    return exp.select(*columns).from_(query.subquery("i")).where(condition)


def increment(
    project: Project, store: Store, key: str, *, input: Any = None, orphaned: bool = False,
    progress: Progress = _quiet,
) -> Increment:
    """New and stale samples of `key` with the provenance to write back and per-field stale flags
    (`metaxy_stale__<field>`); with `orphaned`, the stored samples no longer expected instead.

    `input` is a root feature's listing (path, Arrow, ...); without it a root's stored rows are
    re-hashed under the current definitions.
    """
    from metaxy_cli.sql.query import increment_query

    spec = project.feature(key)
    require_upstream(project, store, spec)
    prepare_tables(project, store, spec)
    progress(f"{key}: comparing expected and stored samples")
    source = _root_source(project, store, spec, input)
    query = increment_query(project, key, store.profile, root_source=source)
    if orphaned:
        query = _filtered(query, (layout.ORPHANED,), [*spec.id_columns, layout.STATUS])
    else:
        query = _filtered(query, (layout.NEW, layout.STALE), None)
    return Increment(store, key, store.to_sql(query), output_types(spec))


@dataclass(frozen=True)
class Summary:
    """Counts of one feature's samples; `waiting_for` names a required upstream without data."""

    feature: str
    new: int = 0
    stale: int = 0
    orphaned: int = 0
    up_to_date: int = 0
    stale_fields: dict[str, int] = field(default_factory=dict)
    waiting_for: str | None = None

    @property
    def pending(self) -> int:
        return self.new + self.stale + self.orphaned

    def as_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature, "new": self.new, "stale": self.stale, "orphaned": self.orphaned,
            "up_to_date": self.up_to_date, "stale_fields": self.stale_fields, "waiting_for": self.waiting_for,
        }  # fmt: skip


def summary(project: Project, store: Store, key: str, *, input: Any = None) -> Summary:
    """Counts of new / stale (per field) / orphaned / up-to-date samples, computed in SQL."""
    from metaxy_cli.sql.query import summary_query

    spec = project.feature(key)
    missing = next((d.feature for d in spec.deps if not d.optional and not store.table_exists(layout.current_table(d.feature))), None)
    if missing is not None:
        return Summary(key, waiting_for=missing)
    if spec.is_root and input is None and not store.table_exists(layout.current_table(key)):
        return Summary(key)
    prepare_tables(project, store, spec)
    source = _root_source(project, store, spec, input)
    try:
        row = store.fetch_all(store.to_sql(summary_query(project, key, store.profile, root_source=source)))[0]
    finally:
        if source is not None:
            _drop_temporary(store, source)
    fields = layout.field_keys(spec)
    new, stale, orphaned, up_to_date = (int(value or 0) for value in row[:4])
    per_field = {name: int(value or 0) for name, value in zip(fields, row[4:])}
    return Summary(key, new, stale, orphaned, up_to_date, per_field)


def status(project: Project, store: Store, keys: Iterable[str] | None = None) -> list[Summary]:
    """One Summary per feature (all of them by default), in topological order."""
    chosen = list(keys) if keys else list(project.graph.order)
    specs = [project.feature(key) for key in chosen]
    order = {key: index for index, key in enumerate(project.graph.order)}
    return [summary(project, store, spec.key) for spec in sorted(specs, key=lambda s: order[s.key])]


# ---- delete ------------------------------------------------------------------------------------


def delete(
    project: Project, store: Store, key: str, *, ids: Any = None, where: str | None = None,
    deleted_at: datetime | None = None,
) -> int:
    """Soft-delete samples (by an id listing, or a SQL condition in the store's dialect): append
    tombstones to history and remove them from the current rows. Returns how many were deleted.
    """
    from sqlglot import exp

    spec = project.feature(key)
    if (ids is None) == (where is None):
        raise DataError("delete needs exactly one of ids or where")
    current = layout.current_table(key)
    if not store.table_exists(current):
        raise StoreError(f"feature {key} has no data in store {store.name!r}")
    from metaxy_cli.batch import BATCH, load_batch

    deleted_at = deleted_at or datetime.now(UTC).replace(tzinfo=None)
    if ids is not None:
        load_batch(store, spec, ids, ids_only=True)
        condition = _ids_in(spec, BATCH)
    else:
        condition = _condition(where, store, spec)
        _require_columns(condition, store.list_columns(current) or [], spec, where)
    table = exp.to_table(current, quoted=True)
    try:
        with store.transaction():
            prepare_tables(project, store, spec)
            count = store.fetch_all(store.to_sql(exp.select(exp.Count(this=exp.Star())).from_(table).where(condition)))[0][0]
            write_id = begin_write(project, store, key, "delete", count, deleted_at)
            store.run(_insert(layout.history_table(key), *_tombstones(store, spec, current, condition, deleted_at, write_id)))
            supersede(store, spec, condition)
    finally:
        _drop_temporary(store, BATCH)
    return int(count)


def _condition(where: str, store: Store, spec: FeatureSpec) -> exp.Expression:
    import sqlglot
    from sqlglot.errors import ParseError

    try:
        condition = sqlglot.parse_one(where, read=store.profile.name)
    except ParseError as error:
        raise DataError(f"{spec.key}: invalid --where condition {where!r}: {str(error).splitlines()[0]}") from None
    if not isinstance(condition, sqlglot.exp.Condition) or isinstance(condition, sqlglot.exp.Query):
        raise DataError(f"{spec.key}: --where must be a condition such as \"duration > 10\", got {where!r}")
    return condition


def _require_columns(condition: exp.Expression, columns: list[str], spec: FeatureSpec, where: str) -> None:
    """A --where that names a column the feature's table lacks: say which, with the columns."""
    from sqlglot import exp

    from metaxy_cli.suggest import did_you_mean

    for reference in condition.find_all(exp.Column):
        if reference.name not in columns:
            shown = ", ".join(name for name in columns if not name.startswith(layout.PREFIX))
            raise DataError(
                f"{spec.key}: --where {where!r} refers to unknown column {reference.name!r}"
                f"{did_you_mean(reference.name, columns)} (columns: {shown})"
            )


def _tombstones(store: Store, spec: FeatureSpec, current: str, condition, deleted_at: datetime, write_id: int) -> tuple[list[str], exp.Select]:
    from sqlglot import exp

    from metaxy_cli.sql.writes import write_id_literal

    stamp = store.profile.timestamp_literal(deleted_at)
    columns = list(spec.id_columns) + [layout.WRITTEN_AT, layout.WRITE_ID, layout.DELETED]
    values = [exp.column(name) for name in spec.id_columns] + [stamp, write_id_literal(write_id, store.profile), exp.true()]
    return columns, exp.select(*values).from_(exp.to_table(current, quoted=True)).where(condition.copy())


# ---- sql ---------------------------------------------------------------------------------------

QUERIES = ("increment", "summary", "expected")


def sql_text(project: Project, key: str, dialect: str, *, query: str = "increment") -> str:
    """The versioning query of a feature in any dialect sqlglot knows, to run in a warehouse."""
    from metaxy_cli.sql import query as builders
    from metaxy_cli.sql.dialects import profile_for
    from metaxy_cli.sql.emit import to_sql

    project.feature(key)
    profile = profile_for(dialect)
    build = {"increment": builders.increment_query, "summary": builders.summary_query, "expected": builders.expected_query}[query]
    return to_sql(build(project, key, profile), profile)
