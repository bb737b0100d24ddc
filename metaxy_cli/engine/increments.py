"""What a feature needs: its increment (new, stale and orphaned samples) and its summary counts,
both one query run inside the store (spec section 4)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from metaxy_cli.definitions.errors import DataError, StoreError
from metaxy_cli.engine import carried
from metaxy_cli.engine.changes import compared_ids
from metaxy_cli.engine.changes import summary_row, tracking
from metaxy_cli.engine.tables import drop_temporary, fast_path_possible, missing_upstream, prepare_tables, require_upstream
from metaxy_cli.store.base import empty_result
from metaxy_cli.sql import layout

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlglot import exp

    from metaxy_cli.sql.resolved import ResolvedFeature
    from metaxy_cli.store.base import Store

_listing_ids = itertools.count(1)


def output_types(feature: ResolvedFeature) -> dict[str, str]:
    """Portable types of the increment columns (for stores whose results are untyped)."""
    types = dict(feature.unit_columns)  # an expansion's increment lists parents
    types[layout.STATUS] = "string"
    types[layout.PROVENANCE] = "string"
    for name in feature.fields:
        types[layout.provenance_column(name)] = "string"
        types[layout.stale_column(name)] = "boolean"
    if not feature.is_root:
        types[layout.AS_OF] = "string"  # engine/carried.py
    return types


@dataclass
class Increment:
    """The samples of a feature to (re)compute, as SQL in the store, fetched on demand.

    `to_arrow()` / `batches()` / `rows()` read it; `write_to(path, fmt)` streams it to a file;
    `relation()` gives a DuckDB relation on a DuckDB store (no copy at all), `dataframe()` a
    Spark DataFrame on a Spark store.
    """

    store: Store
    feature: str
    sql: str
    types: dict[str, str] = field(repr=False)  # every logical column name, in order -> portable type
    # Known to select nothing (nothing touched since the feature's clean checkpoint).
    empty: bool = field(default=False, repr=False)

    def batches(self, batch_rows: int = 65_536) -> pa.RecordBatchReader:
        """The rows in Arrow batches, under the logical column names (a store whose engine
        shortens long names returns them short)."""
        spell = self.store.identifier
        types = {spell(n): t for n, t in self.types.items()}
        if self.empty:
            reader = empty_result(types)
        else:
            reader = self.store.fetch_batches(self.sql, batch_rows, types=types)
        logical = [self._logical.get(name, name) for name in reader.schema.names]
        return reader if logical == reader.schema.names else _renamed(reader, logical)

    @property
    def _logical(self) -> dict[str, str]:
        return {self.store.identifier(name): name for name in self.types}

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

    def to_pandas(self):
        """A pandas DataFrame (needs pandas): small increments only."""
        return self.to_arrow().to_pandas()

    def dataframe(self):
        """A Spark DataFrame on a Spark store: lazy, computed by the cluster, never collected."""
        frame = getattr(self.store, "dataframe", None)
        if frame is None:
            raise StoreError(f"store {self.store.name!r} is not a Spark store: use to_arrow() or batches()")
        return frame(self.sql)

    def write_to(self, path, file_format: str) -> int:
        """Stream the increment to a parquet, csv or jsonl file; returns the row count."""
        if any(stored != name for stored, name in self._logical.items()):
            from metaxy_cli.store.io import write_batches

            return write_batches(self.batches(), path, file_format)  # under the logical names
        return self.store.copy_to(self.sql, path, file_format, types=self.types, empty=self.empty)

    def __len__(self) -> int:
        if self.empty:
            return 0
        return self.store.fetch_all(f"SELECT count(*) FROM ({self.sql}) AS i")[0][0]


def _renamed(reader: pa.RecordBatchReader, names: list[str]) -> pa.RecordBatchReader:
    import pyarrow as pa

    schema = pa.schema([field.with_name(name) for field, name in zip(reader.schema, names)])
    batches = (pa.RecordBatch.from_arrays(batch.columns, schema=schema) for batch in reader)
    return pa.RecordBatchReader.from_batches(schema, batches)


def _root_source(store: Store, feature: ResolvedFeature, listing: Any) -> str | None:
    """Stage a root feature's listing (`--input`) as a temporary table; None without one."""
    if listing is None:
        return None
    if not feature.is_root:
        upstream = ", ".join(dep.key for dep in feature.upstream)
        raise DataError(f"{feature.key}: --input is for root features only; its samples come from {upstream}")
    from metaxy_cli.store.batch import load_batch

    name = f"metaxy_listing_{next(_listing_ids)}"
    load_batch(store, feature, listing, name=name)
    return name


def _filtered(query: exp.Select, statuses: tuple[str, ...], keep: list[str] | None) -> exp.Select:
    from sqlglot import exp

    columns = [exp.column(name) for name in keep] if keep else [exp.Star()]
    status = exp.column(layout.STATUS)
    condition = exp.In(this=status, expressions=[exp.Literal.string(s) for s in statuses])
    # The query is built for this call alone: wrapped without copying its tree (5 ms per copy).
    return exp.select(*columns).from_(query.subquery("i", copy=False), copy=False).where(condition, copy=False)


def increment_of(
    store: Store, feature: ResolvedFeature, *, listing: Any, orphaned: bool, progress: Callable[[str], None],
    full: bool = False,
) -> Increment:
    """See `metaxy_cli.engine.increments`. Without `full`, a feature with a clean checkpoint is
    compared on the samples touched since only (engine/changes.py)."""
    from sqlglot import exp

    from metaxy_cli.sql.changes import selects_nothing
    from metaxy_cli.sql.query import increment_query

    require_upstream(store, feature)
    prepare_tables(store, feature)
    progress(f"{feature.key}: comparing expected and stored samples")
    source = _root_source(store, feature, listing)
    only = None if full or source is not None or not tracking(store, feature) else compared_ids(store, feature)
    fast_path = fast_path_possible(store, feature, restricted=only is not None, listing=source is not None)
    query = increment_query(feature, store.profile, root_source=source, only=only, fast_path=fast_path)
    types = output_types(feature)
    columns = [*feature.id_names, layout.STATUS]
    if orphaned and feature.is_expansion:
        query = _orphaned_children(feature, query)
        types = {**dict(feature.id_columns), layout.STATUS: "string"}
    elif orphaned:
        query = _filtered(query, (layout.ORPHANED,), columns)
    else:
        columns = list(query.named_selects)
        query = _filtered(query, (layout.NEW, layout.STALE), None)
        if not feature.is_root:  # read before the query runs: engine/carried.py
            query = query.select(exp.alias_(exp.Literal.string(carried.token(store, feature)), layout.AS_OF), copy=False)
            columns.append(layout.AS_OF)
    types = {name: types[name] for name in columns}  # in the result's order (store/base.empty_result)
    empty = only is not None and selects_nothing(only)
    if empty:
        query = query.where(exp.false(), copy=False)
    return Increment(store, feature.key, store.to_sql(query), types, empty=empty)


def _orphaned_children(feature: ResolvedFeature, query: exp.Select) -> exp.Select:
    """An expansion's orphans are children (the stored rows to delete), not parents: the stored
    children of the parents the increment finds orphaned."""
    from sqlglot import exp

    from metaxy_cli.sql.provenance import ids_equal

    parents = _filtered(query, (layout.ORPHANED,), list(feature.unit_names))
    children = [exp.column(name, table="c") for name in feature.id_names]
    return (
        exp.select(*children, exp.alias_(exp.Literal.string(layout.ORPHANED), layout.STATUS))
        .from_(exp.to_table(feature.table, quoted=True).as_("c"))
        .join(parents.subquery("o"), on=ids_equal(feature.unit_names, "c", "o"))
    )


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
    # Where the store keeps the feature (sql/names.storage_names): tables, shortened columns.
    names: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def pending(self) -> int:
        return self.new + self.stale + self.orphaned

    def as_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature, "new": self.new, "stale": self.stale, "orphaned": self.orphaned,
            "up_to_date": self.up_to_date, "stale_fields": self.stale_fields, "waiting_for": self.waiting_for,
            "names": self.names,
        }  # fmt: skip


def summary_of(store: Store, feature: ResolvedFeature, *, listing: Any, full: bool = False) -> Summary:
    """See `metaxy_cli.engine.summary`. Without `full`, from the feature's clean checkpoint when
    it has one (engine/changes.py)."""
    from metaxy_cli.sql.names import storage_names
    from metaxy_cli.sql.query import summary_query

    key = feature.key
    names = storage_names(feature, store.profile)
    if not store.indexes_ids:
        names.pop("ids_index")  # not created by this store
    missing = missing_upstream(store, feature)
    if missing is not None:
        return Summary(key, waiting_for=missing, names=names)
    if feature.is_root and listing is None and not store.table_exists(feature.table):
        return Summary(key, names=names)
    prepare_tables(store, feature)
    source = _root_source(store, feature, listing)
    try:
        if source is None and not full and tracking(store, feature):
            row = summary_row(store, feature)
        else:
            fast_path = fast_path_possible(store, feature, listing=source is not None)
            query = summary_query(feature, store.profile, root_source=source, fast_path=fast_path)
            row = store.fetch_all(store.to_sql(query))[0]
    finally:
        if source is not None:
            drop_temporary(store, source)
    new, stale, orphaned, up_to_date = (int(value or 0) for value in row[:4])
    per_field = {name: int(value or 0) for name, value in zip(feature.fields, row[4:])}
    return Summary(key, new, stale, orphaned, up_to_date, per_field, names=names)
