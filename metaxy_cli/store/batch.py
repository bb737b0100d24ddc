"""A batch of user samples, checked and typed before anything is written.

DuckDB reads the input in place and casts every column to its declared portable type into a
temporary table; the checks (columns, types, duplicate or missing ids) run there as set queries.
On a DuckDB store this is the store's own connection, so the batch never leaves the database; other
stores receive the typed batch as a stream of Arrow batches, except stores that read input files
themselves (a `load_batch` method: Spark, store/spark_batch.py). A root write to such a store
computes its finished rows on the way in (`CheckedBatch`, engine/writes.py), so the store loads
them once instead of loading the batch and hashing it in a second pass: right here (PostgreSQL:
one COPY of the finished rows into the feature's table), or in the store's engine when its
statements read the batch's stream in place (chdb: one INSERT ... SELECT that hashes). A Parquet
file whose columns already have their declared types is not copied at all: the batch is a view
of it, checked where it lies, and an engine that reads the file itself (chdb) does so. The
versions are the same bytes on every engine (spec section 3, tests/test_store_identity.py), so
where they are computed does not change them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from metaxy_cli.definitions.errors import DataError
from metaxy_cli.store.io import EmptyInput, InputSource, connect, open_input, quote
from metaxy_cli.sql.layout import PREFIX, PROVENANCE, increment_columns
from metaxy_cli.definitions.suggest import did_you_mean

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from metaxy_cli.sql.resolved import ResolvedFeature
    from metaxy_cli.store.base import Store

BATCH = "metaxy_batch"
SHOWN = 3  # offending samples named in an error


@contextmanager
def duckdb_for(store: Store) -> Iterator[duckdb.DuckDBPyConnection]:
    """The store's own DuckDB connection when it has one, else a private in-memory one."""
    native = getattr(store, "native_duckdb", None)
    if native is not None:
        yield native
        return

    connection = connect()
    try:
        yield connection
    finally:
        connection.close()


class StagedBatch(NamedTuple):
    """A batch staged in the store: its row count, and the declared columns it did not give
    (staged as NULL; only with `partial`)."""

    rows: int
    absent: tuple[str, ...] = ()


def load_batch(
    store: Store, feature: ResolvedFeature, data: Any, *, ids_only: bool = False, name: str = BATCH,
    keep_provenance: bool = False, partial: bool = False,
) -> StagedBatch:  # fmt: skip
    """Stage `data` as the temporary table `name` in `store`, typed and checked.

    Columns named metaxy_* are ignored (provenance is computed, not read from input), except
    with `keep_provenance`: an increment's `metaxy_provenance` column, when the input has one, is
    kept as the provenance the sample was computed for, and with it, on a store that can use
    them, the rest of a whole increment (`staged_columns` tells; engine/carried.py decides whether that may be stored as computed). `ids_only` keeps the id
    columns alone (delete --ids). Every declared column must be given: a missing
    one would silently replace stored values with NULL (and change root provenance); with
    `partial` the missing ones are staged as NULL and named in the result, for the writer to
    take them from the stored rows. Raises DataError naming the feature.
    """
    own_reader = getattr(store, "load_batch", None)  # an engine that reads input files itself
    if own_reader is not None:
        return own_reader(feature, data, ids_only=ids_only, name=name, keep_provenance=keep_provenance, partial=partial)
    with checked_batch(store, feature, data, ids_only=ids_only, name=name, keep_provenance=keep_provenance, partial=partial) as batch:
        batch.stage_into(store)
    return StagedBatch(batch.rows, batch.absent)


def computes_rows_locally(store: Store) -> bool:
    """Whether a write to `store` can compute a root's rows in the DuckDB that checked its batch
    and send the store only the finished rows (CheckedBatch): stores that are not DuckDB and do
    not read input files themselves."""
    return getattr(store, "native_duckdb", None) is None and getattr(store, "load_batch", None) is None


@dataclass
class CheckedBatch:
    """A batch typed and checked in DuckDB as the table `name`: the store's own connection
    (`native`: the batch is already in the store), else a private one that lives as long as
    `checked_batch`'s context, from which the batch, some of its columns, or rows computed from
    it are streamed into the store on demand."""

    connection: duckdb.DuckDBPyConnection
    name: str
    rows: int
    absent: tuple[str, ...]
    native: bool
    # The Parquet file the batch is a view of (every column of its declared type, read in place),
    # for a store whose engine reads the file itself (Store.parquet_relation); else None.
    parquet: str | None = None

    def stage_into(self, store: Store, columns: Sequence[str] | None = None) -> None:
        """The batch (only `columns`, e.g. the ids) as the store's temporary table `name`."""
        if self.native:
            return
        select = "*" if columns is None else ", ".join(quote(column) for column in columns)
        with self.stream(f"SELECT {select} FROM {quote(self.name)}") as reader:
            store.stage(self.name, reader)

    def schema(self) -> pa.Schema:
        """The typed batch's Arrow schema (nothing read)."""
        return self.connection.sql(f"SELECT * FROM {quote(self.name)} LIMIT 0").to_arrow_table().schema

    @contextmanager
    def stream(self, sql: str) -> Iterator[pa.RecordBatchReader]:
        """The result of a DuckDB query over the batch, as Arrow batches (on a cursor: the stream
        must not hold the connection)."""
        cursor = self.connection.cursor()
        try:
            yield cursor.sql(sql).to_arrow_reader(65_536)
        finally:
            cursor.close()


@contextmanager
def checked_batch(
    store: Store, feature: ResolvedFeature, data: Any, *, ids_only: bool = False, name: str = BATCH,
    keep_provenance: bool = False, partial: bool = False,
) -> Iterator[CheckedBatch]:  # fmt: skip
    """`data` typed and checked in DuckDB (load_batch's rules), held for the context's length."""
    import duckdb

    native = getattr(store, "native_duckdb", None) is not None
    with duckdb_for(store) as connection, _opened(feature, data, connection) as source:
        columns = _input_columns(connection, source.relation, feature, source.label)
        # The rest of a whole increment only where engine/carried.py can use it (else bytes to move).
        whole = keep_provenance and store.tracks_changes
        present, wanted, absent = checked_columns(
            feature, list(columns), source.label, ids_only=ids_only, partial=partial, keep_provenance=keep_provenance,
            whole_increment=whole,
        )  # fmt: skip
        text = {name for name, kind in columns.items() if kind == "VARCHAR"}
        select = _typed_select(source.relation, present, wanted, text)
        # Private connections use a plain table or view so that a cursor (another connection) can
        # stream it. A view where the file can be read in place: by the store (DuckDB), or by an
        # engine that reads it itself instead of the batch's stream.
        kind = "TEMP TABLE" if native else "TABLE"
        parquet = None
        if (native or store.reads_parquet_files) and _read_in_place(data, source.relation, columns, present, wanted):
            kind = "TEMP VIEW" if native else "VIEW"
            parquet = None if native else str(Path(data).resolve())
        try:
            connection.execute(f"CREATE OR REPLACE {kind} {quote(name)} AS {select}")
        except duckdb.Error as error:
            typed = _type_error(connection, feature, source.relation, present, wanted, source.label)
            raise typed or DataError(f"{feature.key}: cannot read {source.label}: {_first_line(error)}") from None
        try:
            rows = _check_ids(connection, feature, name, source.label)
            yield CheckedBatch(connection, name, rows, absent, native, parquet)
        finally:
            if not native:
                connection.execute(f"DROP {kind} IF EXISTS {quote(name)}")


def checked_columns(
    feature: ResolvedFeature, columns: list[str], label: str, *, ids_only: bool, partial: bool, keep_provenance: bool,
    whole_increment: bool = False,
) -> tuple[list[str], list[tuple[str, str]], tuple[str, ...]]:  # fmt: skip
    """The input columns to keep, the (column, portable type) to stage and the declared columns
    the input lacks, after the column checks every store runs on a batch (unknown columns,
    missing ids, missing declared columns unless `partial`). With `keep_provenance` the
    increment's `metaxy_provenance` is kept, with `whole_increment` its other columns too."""
    present = [name for name in columns if not name.startswith(PREFIX)]
    wanted = list(feature.id_columns) if ids_only else list(feature.id_columns + feature.declared_columns)
    absent: tuple[str, ...] = ()
    if not ids_only:
        _refuse_unknown(feature, present, wanted, label)
        absent = tuple(column for column in feature.declared_names if column not in present)
    _require_ids(feature, present, label)
    if absent and not partial:
        raise DataError(
            f"{feature.key}: {label} lacks declared column(s) {', '.join(absent)} "
            "(give every declared column, or write with --partial to keep their stored values)"
        )
    if keep_provenance and PROVENANCE in columns:
        kept = [PROVENANCE]
        rest = increment_columns(feature.fields)
        if whole_increment and all(name in columns for name in rest):
            kept += rest
        present, wanted = present + kept, wanted + [(name, "string") for name in kept]
    return present, wanted, absent


def empty_batch(feature: ResolvedFeature) -> dict[str, list]:
    """No samples (an empty list): an empty batch of the declared shape."""
    return {name: [] for name, _ in feature.id_columns + feature.declared_columns}


@contextmanager
def _opened(feature: ResolvedFeature, data: Any, connection: duckdb.DuckDBPyConnection) -> Iterator[InputSource]:
    """open_input, with errors about the input itself naming the feature."""
    if isinstance(data, (list, tuple)) and not data:
        data = empty_batch(feature)
    try:
        context = open_input(data, connection)
        source = context.__enter__()
    except EmptyInput as error:
        columns = ", ".join(name for name, _ in feature.id_columns + feature.declared_columns)
        wanted = "a header row with" if error.file_format == "csv" else "samples with the columns"
        raise DataError(f"{feature.key}: {error.label} is empty: expected {wanted} {columns}") from None
    except DataError as error:
        raise DataError(f"{feature.key}: {error}") from None
    try:
        yield source
    except BaseException as error:
        if not context.__exit__(type(error), error, error.__traceback__):
            raise
    else:
        context.__exit__(None, None, None)


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def staged_columns(store: Store, name: str = BATCH) -> list[str]:
    """The staged batch's columns: whether it kept an increment's `metaxy_provenance`, or its
    whole increment (engine/carried.py), shows here (load_batch)."""
    from sqlglot import exp

    empty = exp.select("*").from_(exp.to_table(name, quoted=True)).limit(0)
    return store.fetch_batches(store.to_sql(empty)).schema.names


def _input_columns(connection: duckdb.DuckDBPyConnection, relation: str, feature: ResolvedFeature, label: str) -> dict[str, str]:
    """Every input column with its DuckDB type, read once (a CSV is sniffed per read)."""
    import duckdb

    try:
        result = connection.sql(f"SELECT * FROM {relation} LIMIT 0")
    except duckdb.Error as error:
        raise DataError(f"{feature.key}: cannot read {label}: {_first_line(error)}") from None
    return {name: str(kind) for name, kind in zip(result.columns, result.types)}


def _refuse_unknown(feature: ResolvedFeature, present: list[str], wanted: list[tuple[str, str]], label: str) -> None:
    known = [name for name, _ in wanted]
    unknown = [column for column in present if column not in known]
    if unknown:
        first = unknown[0]
        declared = ", ".join(known)
        raise DataError(
            f"{feature.key}: unknown column {first!r} in {label}{did_you_mean(first, known)}"
            f" (declared: {declared}; declare it under `columns` or drop it)"
        )


def _require_ids(feature: ResolvedFeature, present: list[str], label: str) -> None:
    missing = [column for column in feature.id_names if column not in present]
    if missing:
        raise DataError(f"{feature.key}: {label} has no id column {missing[0]!r} (id columns: {', '.join(feature.id_names)})")


def _duckdb_type(portable: str) -> str:
    from metaxy_cli.sql.dialects import profile_for

    return profile_for("duckdb").column_type(portable).sql("duckdb")


def _read_in_place(data: Any, relation: str, columns: dict[str, str], present: list[str], wanted: list[tuple[str, str]]) -> bool:
    """Whether the batch can stay a view over its Parquet file instead of a copy: every given
    column already has its declared type, so every cast is an identity and no read of the file
    can fail later; the write then reads the file once, as a plain INSERT from it would (the
    id checks read only the id columns). The file must not change during the write."""
    if not isinstance(data, (str, Path)) or str(data) == "-" or not relation.startswith("read_parquet("):
        return False
    aliases = {"TEXT": "VARCHAR"}
    for name, portable in wanted:
        declared = _duckdb_type(portable)
        if name in present and columns.get(name) != aliases.get(declared, declared):
            return False
    return True


def _typed_select(relation: str, present: list[str], wanted: list[tuple[str, str]], text: set[str]) -> str:
    """Every wanted column cast to its declared type; absent declared columns are NULL; `text`
    names the input columns that are text.

    A double NaN becomes NULL (missing): SQLite cannot store NaN (it reads back NULL), so this
    is the only value every backend stores and hashes alike. A timestamp given as text with a
    UTC offset ("2024-01-01T12:00:00+02:00") is converted to UTC, as a timezone-aware typed
    timestamp is (the connection runs in UTC; a plain cast would drop the offset).
    """
    items = []
    for name, portable in wanted:
        value = quote(name) if name in present else "NULL"
        typed = f"CAST({value} AS {_duckdb_type(portable)})"
        if portable == "timestamp" and name in text:
            typed = f"CAST(CAST({value} AS TIMESTAMPTZ) AS {_duckdb_type(portable)})"
        if portable == "double":
            typed = f"CASE WHEN isnan({typed}) THEN NULL ELSE {typed} END"
        items.append(f"{typed} AS {quote(name)}")
    return f"SELECT {', '.join(items)} FROM {relation}"


def _type_error(connection, feature: ResolvedFeature, relation: str, present: list[str], wanted: list[tuple[str, str]], label: str) -> DataError | None:
    """The first value that does not cast, naming its column, type and samples; None if none."""
    import duckdb

    try:
        return _find_type_error(connection, feature, relation, present, wanted, label)
    except duckdb.Error:
        return None  # the input itself is unreadable


def _find_type_error(connection, feature: ResolvedFeature, relation: str, present: list[str], wanted: list[tuple[str, str]], label: str) -> DataError | None:
    ids = ", ".join(f"CAST({quote(c)} AS VARCHAR)" for c in feature.id_names)
    for name, portable in wanted:
        if name not in present:
            continue
        column = quote(name)
        bad = (
            f"SELECT CAST({column} AS VARCHAR), {ids} FROM {relation} "
            f"WHERE {column} IS NOT NULL AND TRY_CAST({column} AS {_duckdb_type(portable)}) IS NULL LIMIT {SHOWN}"
        )
        rows = connection.execute(bad).fetchall()
        if rows:
            samples = "; ".join(_sample(feature, row[1:]) for row in rows)
            return DataError(f"{feature.key}: column {name!r} must be {portable}, got {rows[0][0]!r} in {label} (samples: {samples})")
    return None


def _sample(feature: ResolvedFeature, values: tuple) -> str:
    return ", ".join(f"{column}={value!r}" for column, value in zip(feature.id_names, values))


def _check_ids(connection, feature: ResolvedFeature, table: str, label: str) -> int:
    """Every sample has all its ids, and no id appears twice in one batch; returns the row count.

    One pass counts the rows, the rows missing an id and the distinct hashes of the ids: as many
    hashes as rows proves every id distinct, and grouping by the ids themselves (1.09 s for 10M
    ids of a Parquet file, against 0.77 s for the whole pass) runs only when the counts differ:
    a duplicate, or two ids sharing a 64-bit hash."""
    ids = ", ".join(quote(c) for c in feature.id_names)
    missing = " OR ".join(f"{quote(c)} IS NULL" for c in feature.id_names)
    rows, empty, hashes = connection.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {missing}), count(DISTINCT hash({ids})) FROM {quote(table)}"
    ).fetchall()[0]
    if empty:
        # Name the samples and the empty columns (a child's NULL lineage `on` column: no parent).
        shown = connection.execute(f"SELECT {ids} FROM {quote(table)} WHERE {missing} LIMIT {SHOWN}").fetchall()
        found = [c for c in feature.id_names if any(r[feature.id_names.index(c)] is None for r in shown)]
        on = set(feature.lineage.on) & set(found)
        note = " (lineage 'on' column: the parent is unknown)" if on and feature.is_expansion else ""
        samples = "; ".join(_sample(feature, r) for r in shown)
        raise DataError(
            f"{feature.key}: {empty} sample(s) in {label} have an empty id column {', '.join(found)}{note} (samples: {samples})"
        )
    if hashes == rows:
        return rows
    duplicates = connection.execute(
        f"SELECT {ids}, count(*) AS n FROM {quote(table)} GROUP BY ALL HAVING count(*) > 1 ORDER BY {ids} LIMIT {SHOWN}"
    ).fetchall()
    if duplicates:
        samples = "; ".join(f"{_sample(feature, row[:-1])} ({row[-1]} rows)" for row in duplicates)
        raise DataError(f"{feature.key}: duplicate ids in {label}: {samples}")
    return rows
