"""A batch of samples read, typed and checked by Spark itself (store/batch.py's job on a Spark store).

Input files (or folders of part files, as Spark writes them) are read by Spark where they are (a
big file never passes through the driver); a
Spark DataFrame is used as it is; Arrow, pandas, polars or dicts (small, already in the driver)
are handed over as a Parquet file. Every declared column is cast with try_cast, and the same
checks as on DuckDB run as Spark jobs over the batch computed once: unknown or missing columns,
values that do not cast, empty or duplicate ids. Messages are batch.py's, word for word.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metaxy_cli.definitions.errors import DataError
from metaxy_cli.store.batch import SHOWN, StagedBatch, _sample, checked_columns, empty_batch
from metaxy_cli.store.io import STDIN, _is_blank, format_of, sniff_format, to_arrow
from metaxy_cli.store.spark_session import spark_errors
from metaxy_cli.store.spark_storage import is_url, local_path

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from metaxy_cli.sql.resolved import ResolvedFeature
    from metaxy_cli.store.spark_session import SparkHost

BAD = "metaxy_bad__"


def load(
    store: SparkHost, feature: ResolvedFeature, data: Any, *, ids_only: bool, name: str, keep_provenance: bool,
    partial: bool,
) -> StagedBatch:  # fmt: skip
    """See store/batch.load_batch: stage `data` as temp view `name`, typed and checked."""
    frame, label = _read(store, feature, data)
    columns = {field.name: field.dataType.simpleString() for field in frame.schema.fields}
    present, wanted, absent = checked_columns(
        feature, list(columns), label, ids_only=ids_only, partial=partial, keep_provenance=keep_provenance
    )
    text = {column for column, kind in columns.items() if kind == "string"}
    casts = {column: _cast(store, column, portable, column in text) for column, portable in wanted if column in present}
    items = [f"{_typed(store, column, portable, casts.get(column))} AS {_q(column)}" for column, portable in wanted]
    checks = [f"({_q(column)} IS NOT NULL AND {cast} IS NULL) AS {_q(BAD + column)}" for column, cast in casts.items()]
    try:
        checked = frame.selectExpr(*items, *checks).localCheckpoint(eager=True)
    except spark_errors() as error:
        raise DataError(f"{feature.key}: cannot read {label}: {_message(error)}") from None
    rows = _check(feature, frame, checked, dict(wanted), casts, label)
    store.register(name, checked.select(*(_q(column) for column, _ in wanted)))
    return StagedBatch(rows, absent)


def _read(store: SparkHost, feature: ResolvedFeature, data: Any) -> tuple[DataFrame, str]:
    """`data` as a DataFrame, and how messages name it."""
    from pyspark.sql import DataFrame

    if isinstance(data, DataFrame):
        return data, "the given DataFrame"
    if isinstance(data, (str, Path)):
        if str(data) == STDIN:
            return _read_file(store, feature, _spool_stdin(store), "stdin")
        if is_url(str(data)):  # where the executors read it (hdfs://, s3a://, ...)
            return _read_spark(store, feature, str(data), format_of(str(data), "parquet"), str(data))
        path = Path(local_path(str(data)))
        if not path.exists():
            raise DataError(f"{feature.key}: {path}: no such file")
        return _read_file(store, feature, path, str(path))
    if isinstance(data, (list, tuple)) and not data:
        data = empty_batch(feature)
    try:
        table = to_arrow(data)
    except DataError as error:
        raise DataError(f"{feature.key}: {error}") from None
    folder = store.staging_folder()
    import pyarrow as pa
    import pyarrow.parquet as pq

    reader = table.to_reader() if hasattr(table, "to_reader") else table
    # A column of NULLs only has Arrow's null type, which Parquet stores as INT32 and Spark then
    # cannot cast to a date: it goes as text, which casts to every declared type.
    schema = pa.schema([pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in reader.schema])
    with pq.ParquetWriter(folder / "batch.parquet", schema) as writer:
        for batch in reader:
            writer.write_table(pa.Table.from_batches([batch]).cast(schema))
    return store.session.read.parquet(store.readable(folder)), "the given data"


def _read_file(store: SparkHost, feature: ResolvedFeature, path: Path, label: str) -> tuple[DataFrame, str]:
    """Spark reads the file; CSV cells stay text (so '007' is not read as 7), as on DuckDB."""
    file_format = format_of(_first_part(path) if path.is_dir() else path)
    if path.is_file() and file_format != "parquet" and _is_blank(path):
        columns = ", ".join(name for name, _ in feature.id_columns + feature.declared_columns)
        wanted = "a header row with" if file_format == "csv" else "samples with the columns"
        raise DataError(f"{feature.key}: {label} is empty: expected {wanted} {columns}")
    return _read_spark(store, feature, store.readable(path), file_format, label)


def _read_spark(store: SparkHost, feature: ResolvedFeature, location: str, file_format: str, label: str) -> tuple[DataFrame, str]:
    reader = store.session.read
    try:
        if file_format == "parquet":
            return reader.parquet(location), label
        if file_format == "csv":
            sep = "\t" if location.lower().endswith(".tsv") else ","
            return reader.options(header="true", sep=sep, mode="FAILFAST").csv(location), label
        return reader.options(mode="FAILFAST").json(location), label
    except spark_errors() as error:
        raise DataError(f"{feature.key}: cannot read {label}: {_message(error)}") from None


def _spool_stdin(store: SparkHost) -> Path:
    """Stdin copied to a staged file that Spark can read (removed when the store closes)."""
    head = sys.stdin.buffer.read(4096)
    target = store.staging_folder() / f"stdin.{sniff_format(head)}"
    with open(target, "wb") as spool:
        spool.write(head)
        shutil.copyfileobj(sys.stdin.buffer, spool, 1 << 20)
    return target


def _first_part(folder: Path) -> Path:
    """A folder of part files (Spark's output) is read whole; its parts' extension names the format."""
    parts = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(("_", ".")))
    if not parts:
        raise DataError(f"{folder}: an empty folder (give a file, or a folder of part files)")
    return parts[0]


def _cast(store: SparkHost, column: str, portable: str, text: bool) -> str:
    """The input column cast to its declared type, NULL where it does not cast. A text timestamp
    with a UTC offset is converted to UTC through a zoned timestamp (the session runs in UTC)."""
    kind = store.profile.column_type(portable).sql(store.engine)
    if portable == "timestamp" and text:
        return f"TRY_CAST(TRY_CAST({_q(column)} AS TIMESTAMP_LTZ) AS {kind})"
    return f"TRY_CAST({_q(column)} AS {kind})"


def _typed(store: SparkHost, column: str, portable: str, cast: str | None) -> str:
    """The stored value: the cast (a double NaN as NULL, as on every store), NULL if absent."""
    if cast is None:
        return f"CAST(NULL AS {store.profile.column_type(portable).sql(store.engine)})"
    if portable == "double":
        return f"CASE WHEN isnan({cast}) THEN NULL ELSE {cast} END"
    return cast


def _check(feature: ResolvedFeature, frame: DataFrame, checked: DataFrame, types: dict[str, str], casts: dict[str, str], label: str) -> int:
    """Values that do not cast, then empty ids, then duplicate ids: the first problem raises.
    Returns the batch's row count."""
    total, missing, *bad = _counts(checked, feature, list(casts))
    for (column, cast), count in zip(casts.items(), bad):
        if count:
            ids = ", ".join(f"CAST({_q(c)} AS STRING)" for c in feature.id_names)
            offending = frame.where(f"{_q(column)} IS NOT NULL AND {cast} IS NULL")
            rows = offending.selectExpr(f"CAST({_q(column)} AS STRING)", ids).limit(SHOWN).collect()
            samples = "; ".join(_sample(feature, tuple(row)[1:]) for row in rows)
            raise DataError(
                f"{feature.key}: column {column!r} must be {types[column]}, got {rows[0][0]!r} in {label} (samples: {samples})"
            )
    if missing:
        raise DataError(f"{feature.key}: {missing} sample(s) in {label} have an empty id column")
    ids = [_q(c) for c in feature.id_names]
    duplicates = checked.groupBy(*ids).count().where("count > 1").orderBy(*ids).limit(SHOWN).collect()
    if duplicates:
        samples = "; ".join(f"{_sample(feature, tuple(row)[:-1])} ({row[-1]} rows)" for row in duplicates)
        raise DataError(f"{feature.key}: duplicate ids in {label}: {samples}")
    return total


def _counts(checked: DataFrame, feature: ResolvedFeature, bad_columns: list[str]) -> list[int]:
    """[rows, rows with an empty id, rows failing each column's cast], in one job."""
    empty = " OR ".join(f"{_q(c)} IS NULL" for c in feature.id_names)
    items = ["count(*)", f"count_if({empty})", *(f"count_if({_q(BAD + c)})" for c in bad_columns)]
    return [int(v or 0) for v in checked.selectExpr(*items).collect()[0]]


def _q(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"


def _message(error: Exception) -> str:
    from metaxy_cli.store.spark_session import spark_message

    return spark_message(error)

