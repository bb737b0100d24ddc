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


def _postgres(folder: Path, name: str) -> Store:
    from tests import pg_server

    return pg_server.open_store(name)
_SPARK: list = []  # the one SparkSession of the test process, started on first use


def spark_session():
    """One local[2] session for the whole test process (a JVM start costs 5-10 s): no UI, two
    shuffle partitions. Stores opened by in-process CLI calls join it (getOrCreate)."""
    if not _SPARK:
        import atexit

        from metaxy_cli.store.spark_session import start_session

        settings = {"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2", "spark.driver.memory": "2g"}
        session = start_session("tests", "local[2]", settings)
        atexit.register(session.stop)
        _SPARK.append(session)
    return _SPARK[0]


def _spark(folder: Path, name: str) -> Store:
    from metaxy_cli.store.spark import SparkStore

    return SparkStore.open(folder / name, spark=spark_session(), name=name)


def _clickhouse(folder: Path, name: str) -> Store:
    from metaxy_cli.store.clickhouse import ClickHouseStore

    return ClickHouseStore.open(folder / f"{name}.clickhouse", name=name)


OPENERS: dict[str, Callable[[Path, str], Store]] = {
    "duckdb": _duckdb,
    "sqlite": _sqlite,
    "postgres": _postgres,
    "clickhouse": _clickhouse,
    "spark": _spark,
}
BACKENDS = sorted(OPENERS)
MARKS: dict[str, pytest.MarkDecorator] = {"postgres": pytest.mark.postgres, "spark": pytest.mark.spark}
# Backends that keep one append-only log per feature, its current and history tables being views
# (no transactions): they never had tables from before write ids, and no ALTER TABLE or UPDATE
# reaches their views.
LOG_STORES = {"clickhouse", "spark"}
VIEW_TABLES = LOG_STORES


def selected_backends(config: pytest.Config) -> list[str]:
    """BACKENDS less those whose mark `-m` deselects: for tests that loop over every backend
    (one test, so `-m "not spark"` cannot deselect a part of it otherwise)."""
    expression = config.getoption("markexpr") or ""
    if not expression:
        return list(BACKENDS)
    from _pytest.mark.expression import Expression

    compiled = Expression.compile(expression)
    chosen = []
    for backend in BACKENDS:
        marks = {MARKS[backend].name} if backend in MARKS else set()
        if compiled.evaluate(lambda name, marks=marks, **_: name in marks):
            chosen.append(backend)
    return chosen


def open_backend(backend: str, folder: Path, name: str | None = None) -> Store:
    """A new, empty store of `backend` (named `name`, default the backend's name)."""
    folder.mkdir(parents=True, exist_ok=True)
    return OPENERS[backend](folder, name or backend)


def backend_params() -> list:
    """pytest params for a fixture parametrised over every backend, with their marks."""
    return [pytest.param(name, marks=[MARKS[name]] if name in MARKS else []) for name in BACKENDS]


# The store's own tables (temporary ones excluded), per backend: what "unchanged" compares.
TABLE_LISTINGS: dict[str, str] = {
    "duckdb": "SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1",
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1",
    "postgres": "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1",
    # What readers see: the views over the feature logs and the write log that publishes rows (a
    # failed write's unpublished log rows and reserved write id are invisible by design).
    "clickhouse": "SELECT name FROM system.tables WHERE database = currentDatabase() AND (engine = 'View' OR name = 'metaxy_writes') ORDER BY 1",
}


def dump_tables(store: Store) -> dict[str, list[str]]:
    """Every table of the store with its rows as sorted text: equal dumps, equal stores."""
    listing = TABLE_LISTINGS.get(store.engine)
    # A store whose tables are views over files lists them itself (SparkStore.table_names).
    tables = [row[0] for row in store.fetch_all(listing)] if listing else store.table_names()
    return {table: sorted(repr(row) for row in store.fetch_all(f'SELECT * FROM "{table}"')) for table in tables}
