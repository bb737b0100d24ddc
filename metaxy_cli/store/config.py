"""Named stores from metaxy.yaml: pick one, expand `${VAR}` settings, open it.

Backends are imported lazily by type name so that PostgreSQL, ClickHouse and Spark stores can be
added later by one entry in `BACKENDS` and one module, without touching the query builder.
"""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from metaxy_cli.definitions.errors import StoreError
from metaxy_cli.definitions.model import StoreConfig
from metaxy_cli.store.base import MEMORY
from metaxy_cli.definitions.suggest import did_you_mean

if TYPE_CHECKING:
    from metaxy_cli.definitions.project import Project
    from metaxy_cli.store.base import Store

BACKENDS: dict[str, str] = {
    "duckdb": "metaxy_cli.store.duckdb:DuckDBStore",
    "sqlite": "metaxy_cli.store.sqlite:SQLiteStore",
    "postgres": "metaxy_cli.store.postgres:PostgresStore",
    "clickhouse": "metaxy_cli.store.clickhouse:ClickHouseStore",
    "spark": "metaxy_cli.store.spark:SparkStore",
}
# No settings: the DuckDB backend puts its file at its DEFAULT_PATH under the project root.
DEFAULT_STORE = StoreConfig("default", "duckdb", {})
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand(value: Any, environ: Mapping[str, str], where: str) -> Any:
    """`${VAR}` and `${VAR:-default}` in a string setting; other values pass through."""
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = environ.get(name)
        if found or (found is not None and default is None):
            return found
        if default is not None:
            return default
        raise StoreError(f"{where}: environment variable {name} is not set (write ${{{name}:-default}} for a fallback)")

    return _VARIABLE.sub(substitute, value)


def store_config(project: Project, name: str | None = None) -> StoreConfig:
    """The store called `name`, else the project's default, else `.metaxy/metadata.duckdb`."""
    if name is None:
        name = project.default_store
        if name is None:
            return DEFAULT_STORE
    try:
        return project.stores[name]
    except KeyError:
        known = ", ".join(sorted(project.stores)) or "none defined"
        raise StoreError(f"unknown store {name!r}{did_you_mean(name, project.stores)} (stores: {known})") from None


def resolve_settings(config: StoreConfig, root: Path, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Settings with variables expanded and a relative `path` made absolute under the project root."""
    environ = os.environ if environ is None else environ
    settings = {
        key: expand(value, environ, f"store {config.name!r} setting {key!r}")
        for key, value in config.settings.items()
    }
    path = settings.get("path")
    if path and path != MEMORY and "://" not in str(path):  # URLs (file://, s3a://) are absolute
        resolved = Path(path).expanduser()
        settings["path"] = str(resolved if resolved.is_absolute() else root / resolved)
    return settings


def open_store(project: Project, name: str | None = None, *, environ: Mapping[str, str] | None = None) -> Store:
    """Open the named (or default) store of `project`; raises StoreError when it cannot be opened."""
    config = store_config(project, name)
    target = BACKENDS.get(config.type)
    if target is None:
        raise StoreError(f"store {config.name!r}: type {config.type!r} is not supported yet (supported: {', '.join(BACKENDS)})")
    module_name, attribute = target.split(":")
    backend = getattr(importlib.import_module(module_name), attribute)
    return backend.from_settings(config.name, resolve_settings(config, project.root, environ), project.root)
