"""Named stores: selection, ${VAR} / ${VAR:-default} expansion, paths under the project root."""

from __future__ import annotations

from pathlib import Path

import pytest

from metaxy_cli.definitions.errors import StoreError
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.definitions.model import StoreConfig
from metaxy_cli.store.config import expand, open_store, resolve_settings, store_config
from metaxy_cli.store.duckdb import DuckDBStore
from metaxy_cli.store.sqlite import SQLiteStore


@pytest.mark.parametrize(
    ("value", "environ", "expected"),
    [
        ("${DB}", {"DB": "/x.duckdb"}, "/x.duckdb"),
        ("${DB:-.metaxy/dev.duckdb}", {}, ".metaxy/dev.duckdb"),
        ("${DB:-.metaxy/dev.duckdb}", {"DB": ""}, ".metaxy/dev.duckdb"),
        ("${DB:-fallback}", {"DB": "set"}, "set"),
        ("${DB}", {"DB": ""}, ""),
        ("pre-${A}-${B:-b}.db", {"A": "a"}, "pre-a-b.db"),
        ("no variables", {}, "no variables"),
        (42, {}, 42),
    ],
)
def test_expand(value, environ, expected) -> None:
    assert expand(value, environ, "here") == expected


def test_expand_unset_variable_is_an_error() -> None:
    with pytest.raises(StoreError, match=r"^store 'dev' setting 'path': environment variable DB is not set"):
        expand("${DB}", {}, "store 'dev' setting 'path'")


def test_relative_paths_resolve_under_the_root(tmp_path: Path) -> None:
    config = StoreConfig("dev", "duckdb", {"path": "${DB:-.metaxy/dev.duckdb}", "schema": "main"})
    assert resolve_settings(config, tmp_path, {}) == {"path": str(tmp_path / ".metaxy/dev.duckdb"), "schema": "main"}
    assert resolve_settings(config, tmp_path, {"DB": "/abs/x.duckdb"})["path"] == "/abs/x.duckdb"
    memory = StoreConfig("mem", "duckdb", {"path": ":memory:"})
    assert resolve_settings(memory, tmp_path, {}) == {"path": ":memory:"}


def test_store_selection(overview_dir: Path) -> None:
    project = load_project(overview_dir)
    assert store_config(project).name == "dev"
    assert store_config(project, "lite").type == "sqlite"
    with pytest.raises(StoreError, match=r"unknown store 'lit' \(did you mean 'lite'\?\) \(stores: ch, dev, lite, pg, spark\)"):
        store_config(project, "lit")


def test_open_store_by_name(overview_dir: Path) -> None:
    project = load_project(overview_dir)
    with open_store(project, environ={}) as dev:
        assert isinstance(dev, DuckDBStore)
        assert dev.location == str(overview_dir / ".metaxy/metadata.duckdb")
    with open_store(project, "lite") as lite:
        assert isinstance(lite, SQLiteStore)
        assert lite.location == str(overview_dir / ".metaxy/metadata.sqlite")
    with open_store(project, environ={"METAXY_DB": ":memory:"}) as memory:
        assert memory.location == ":memory:"


def test_project_without_stores_uses_the_default_file(tmp_path: Path) -> None:
    (tmp_path / "metaxy.yaml").write_text("project: bare\nfeatures:\n  - key: a\n")
    with open_store(load_project(tmp_path)) as store:
        assert isinstance(store, DuckDBStore)
        assert store.location == str(tmp_path / ".metaxy/metadata.duckdb")


def test_unsupported_type_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A type the schema knows but this installation has no backend for (here: one taken out)."""
    from metaxy_cli.store import config

    monkeypatch.delitem(config.BACKENDS, "clickhouse")
    (tmp_path / "metaxy.yaml").write_text(
        "project: ch\nfeatures:\n  - key: a\nstores:\n  prod: {type: clickhouse, url: 'clickhouse://x'}\n"
    )
    with pytest.raises(StoreError, match=r"store 'prod': type 'clickhouse' is not supported yet \(supported: duckdb, sqlite, postgres, spark\)"):
        open_store(load_project(tmp_path))
