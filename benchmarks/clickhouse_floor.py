"""ClickHouse's own floor for bench_stores.py: hand-written statements a ClickHouse user would run
for the same results, on the same chdb session as the store.

- root write: `INSERT INTO t SELECT * FROM file(listing, Parquet)` of the listing's rows into a
  MergeTree ordered by the id (the issue's "INSERT ... FORMAT" floor), and the same with the
  hashes metaxy stores computed in the SELECT;
- increment of a non-root feature: one SELECT hashing every expected sample (md5 over the same
  canonical strings), LEFT JOIN the stored rows on the id, the new or stale rows written by the
  engine itself to Parquet (INSERT INTO FUNCTION file). It reads either metaxy's current views
  (the same storage) or plain MergeTree copies of the current rows (what the log design costs).
"""

from __future__ import annotations

from pathlib import Path

from bench_engine import ID, VIDEO, Floor


def _hash(text: str) -> str:
    return f"lower(hex(MD5({text})))"


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def create_plain_video(store, name: str) -> None:
    columns = "sample_uid String, path Nullable(String), audio_sha Nullable(String), frames_sha Nullable(String), " \
              "frames Nullable(Int64), duration Nullable(Float64), size Nullable(Int64)"  # fmt: skip
    store.execute(f"DROP TABLE IF EXISTS {name}")
    store.execute(f"CREATE TABLE {name} ({columns}) ENGINE = MergeTree ORDER BY {ID}")


def root_write(store, project, listing: Path, table: str, *, hashed: bool) -> str:
    """INSERT of the listing's rows (with the stored hashes when `hashed`)."""
    source = f"file({_literal(str(listing))}, 'Parquet')"
    if not hashed:
        return f"INSERT INTO {table} SELECT * FROM {source}"
    floor = Floor(project, VIDEO)
    provenance = {}
    for field in floor.fields:
        (column,) = floor.spec.field(field).source
        encoded = f"if(b.{column} IS NULL, '~', {_hash(f'b.{column}')})"
        prefix = floor.prefix[field].replace("''", "'") + f"|{column}="  # Floor's text is quoted for DuckDB
        provenance[field] = _hash(f"concat({_literal(prefix)}, {encoded})")
    items = ", ".join(f"{p} AS metaxy_provenance__{f}" for f, p in provenance.items())
    sample = _hash(" || '|' || ".join(provenance.values()))
    return f"INSERT INTO {table} SELECT b.*, {items}, {sample} AS metaxy_provenance, now64(6) AS metaxy_written_at FROM {source} AS b"


def create_hashed_video(store, project, name: str) -> None:
    fields = Floor(project, VIDEO).fields
    extra = ", ".join(f"metaxy_provenance__{f} String" for f in fields)
    store.execute(f"DROP TABLE IF EXISTS {name}")
    store.execute(
        f"CREATE TABLE {name} (sample_uid String, path Nullable(String), audio_sha Nullable(String), frames_sha Nullable(String), "
        f"frames Nullable(Int64), duration Nullable(Float64), size Nullable(Int64), {extra}, metaxy_provenance String, "
        f"metaxy_written_at DateTime64(6, 'UTC')) ENGINE = MergeTree ORDER BY {ID}"
    )


def increment(project, key: str, path: Path, upstream: str, stored: str) -> str:
    """The new or stale samples of `key` (one parent field per field, as in the overview), with
    the provenance to write back and the stale flags, written to Parquet."""
    floor = Floor(project, key)
    hashes = []
    for field in floor.fields:
        ((feature, parent),) = floor.parents[field]
        prefix = floor.prefix[field].replace("''", "'") + f"|{feature}.{parent}="
        version = f"coalesce(u.metaxy_data_version__{parent}, u.metaxy_provenance__{parent}, '')"
        hashes.append(f"{_hash(f'concat({_literal(prefix)}, {version})')} AS p_{field}")
    differs = {f: f"NOT (e.p_{f} = s.metaxy_provenance__{f}) OR s.metaxy_provenance__{f} IS NULL" for f in floor.fields}
    new = f"s.{ID} IS NULL"
    columns = [f"e.{ID}", f"if({new}, 'new', 'stale') AS metaxy_status"]
    columns += [f"e.p_{f} AS metaxy_provenance__{f}" for f in floor.fields]
    sample = " || '|' || ".join(f"e.p_{f}" for f in floor.fields)
    columns.append(f"{_hash(sample)} AS metaxy_provenance")
    columns += [f"{new} OR {differs[f]} AS metaxy_stale__{f}" for f in floor.fields]
    where = " OR ".join([new, *(f"({d})" for d in differs.values())])
    return (
        f"INSERT INTO FUNCTION file({_literal(str(path))}, 'Parquet') SELECT {', '.join(columns)} "
        f"FROM (SELECT u.{ID}, {', '.join(hashes)} FROM {upstream} AS u) AS e LEFT JOIN {stored} AS s ON e.{ID} = s.{ID} "
        f"WHERE {where} SETTINGS engine_file_truncate_on_insert = 1"
    )
