"""Stage 3 of the pipeline: metadata stores, the databases that hold samples and their versions.

Owns the store interface (`base.Store`: a few primitives per backend, everything shared built
with sqlglot, and the hooks that say how a feature's rows are kept: prepare, supersede, append,
tombstone, rename), one module per backend (`duckdb`, `sqlite`, `postgres`, `clickhouse`,
`spark`), the named stores of metaxy.yaml (`config`), and batch I/O: reading user files and Arrow
data, typed and checked (`io`, `batch`). Backends are imported only when a store is opened.

Adding a backend, step by step:
  1. `sql/dialects.py`: one `DialectProfile` entry in PROFILES (hash function, canonical text of
     each portable type, SQL types, UDFs, query finishing). Nothing else in sql/ changes.
  2. `store/<engine>.py`: a `Store` subclass with `engine = "<profile name>"`, `from_settings`,
     and the primitives `execute`, `fetch_all`, `fetch_batches`, `stage`, `list_columns`,
     `close` (plus `copy_to` where the engine writes files itself, and `batch_relation` /
     `append_over` where its statements can read an Arrow stream in place, so that a root
     write hashes there); set the class flags (`begin`, `indexes_ids`) the engine needs.
  3. `store/config.py`: one line in BACKENDS, `"<type>": "metaxy_cli.store.<engine>:<Class>"`.
  4. Tests: tests/test_store_<engine>.py runs tests/store_contract.py on a real server or file;
     add the store to BACKENDS in tests/test_engine.py (the seed story and the cross-backend
     identity test); document its settings in schemas/project.schema.json (and its packaged
     copy) and the README's Stores section.

May import: definitions, sql, and the engine's driver (duckdb, sqlite3, ...) lazily.
"""

from __future__ import annotations

from metaxy_cli.store.config import open_store

__all__ = ["open_store"]
