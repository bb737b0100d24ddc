"""Every store backend the suite runs on, each a real engine, opened fresh for one test.

A backend is one entry in OPENERS: a function that opens an empty store under a test's
temporary folder (servers get a fresh schema or database instead). Tests take the `store`
fixture of tests/conftest.py, parametrised over BACKENDS, so each new store runs the seed story,
the contract and the cross-backend identity test unchanged. Backends whose engine is slow to
start carry a mark (MARKS) so `pytest -m "not spark"` can skip them; CI runs them all.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from metaxy_cli.store.base import Store


def _duckdb(folder: Path, name: str) -> Store:
    from metaxy_cli.store.duckdb import DuckDBStore

    return DuckDBStore.open(folder / f"{name}.duckdb", name=name)


def _sqlite(folder: Path, name: str) -> Store:
    from metaxy_cli.store.sqlite import SQLiteStore

    return SQLiteStore.open(folder / f"{name}.sqlite", name=name)


_SPARK: list = []  # the one SparkSession of the test process, started on first use


def spark_session():
    """One local[2] session for the whole test process (a JVM start costs 5-10 s): no UI, two
    shuffle partitions. Stores opened by in-process CLI calls join it (getOrCreate)."""
    if not _SPARK:
        import atexit

        from metaxy_cli.store.spark_session import start_session

        settings = {"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2"}
        session = start_session("tests", "local[2]", settings)
        atexit.register(session.stop)
        _SPARK.append(session)
    return _SPARK[0]


def _spark(folder: Path, name: str) -> Store:
    from metaxy_cli.store.spark import SparkStore

    return SparkStore.open(folder / name, spark=spark_session(), name=name)


OPENERS: dict[str, Callable[[Path, str], Store]] = {
    "duckdb": _duckdb,
    "sqlite": _sqlite,
    "spark": _spark,
}
BACKENDS = sorted(OPENERS)
MARKS: dict[str, pytest.MarkDecorator] = {"spark": pytest.mark.spark}
# Backends whose tables are views over append-only files: no ALTER TABLE or UPDATE on them.
VIEW_TABLES = {"spark"}


def open_backend(backend: str, folder: Path, name: str | None = None) -> Store:
    """A new, empty store of `backend` (named `name`, default the backend's name)."""
    folder.mkdir(parents=True, exist_ok=True)
    return OPENERS[backend](folder, name or backend)


def backend_params() -> list:
    """pytest params for a fixture parametrised over every backend, with their marks."""
    return [pytest.param(name, marks=[MARKS[name]] if name in MARKS else []) for name in BACKENDS]
