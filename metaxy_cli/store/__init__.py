"""Metadata stores: named in metaxy.yaml, opened with `open_store(project, name)`.

Light on purpose: backends (duckdb, sqlite3) are imported only when a store is opened.
"""

from __future__ import annotations

from metaxy_cli.store.config import open_store

__all__ = ["open_store"]
