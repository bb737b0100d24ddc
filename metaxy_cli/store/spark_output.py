"""Query results written by Spark (increment --output): the rows go from the executors to the
files, never through the driver. Texts match what DuckDB writes (timestamps as
'YYYY-MM-DD HH:MM:SS.ffffff', every JSON key present, a CSV header)."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from metaxy_cli.definitions.errors import DataError
from metaxy_cli.store.spark_session import spark_errors

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from metaxy_cli.store.spark_session import SparkHost

TEXT_OPTIONS = {
    "timestampNTZFormat": "yyyy-MM-dd HH:mm:ss.SSSSSS",
    "timestampFormat": "yyyy-MM-dd HH:mm:ss.SSSSSSXXX",
    "dateFormat": "yyyy-MM-dd",
}
OPTIONS = {
    "parquet": {},
    "csv": {**TEXT_OPTIONS, "header": "true"},
    "jsonl": {**TEXT_OPTIONS, "ignoreNullFields": "false"},
}
SPARK_FORMAT = {"parquet": "parquet", "csv": "csv", "jsonl": "json"}
EXTENSIONS = {".parquet", ".pq", ".csv", ".tsv", ".jsonl", ".ndjson", ".json"}


def is_folder(path: Path) -> bool:
    """A path without a file extension (or an existing folder) names a folder of part files."""
    return path.is_dir() or path.suffix.lower() not in EXTENSIONS


def write_output(store: SparkHost, frame: DataFrame, path: Path, file_format: str) -> int:
    """Write `frame` to `path` (one file, or a folder of parts); returns the row count."""
    if is_folder(path):
        if path.exists() and any(path.iterdir()):
            raise DataError(f"{path}: the folder exists and is not empty (remove it, or choose another --output)")
        if path.is_dir():
            path.rmdir()
        if file_format == "parquet":  # written once, counted from the files' footers
            _write(store, frame, path, file_format, single=False)
            return store.session.read.parquet(str(path)).count()
        computed = _computed(store, frame)
        _write(store, computed, path, file_format, single=False)
        return computed.count()
    computed = _computed(store, frame)
    rows = computed.count()
    staging = path.parent / f".{path.name}.metaxy-{uuid.uuid4().hex[:8]}"
    try:
        _write(store, computed, staging, file_format, single=True)
        parts = sorted(p for p in staging.iterdir() if p.name.startswith("part-"))
        if len(parts) != 1:
            raise DataError(f"{path}: Spark wrote {len(parts)} files instead of one")
        os.replace(parts[0], path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return rows


def _computed(store: SparkHost, frame: DataFrame) -> DataFrame:
    """The result computed once (counted and written from the same rows)."""
    try:
        return frame.localCheckpoint(eager=True)
    except spark_errors() as error:
        raise store._error(error) from None


def _write(store: SparkHost, frame: DataFrame, target: Path, file_format: str, *, single: bool) -> None:
    writer = (frame.coalesce(1) if single else frame).write.mode("overwrite" if single else "errorifexists")
    try:
        writer.options(**OPTIONS[file_format]).format(SPARK_FORMAT[file_format]).save(str(target))
    except spark_errors() as error:
        raise store._error(error) from None
