#!/usr/bin/env python3
"""The overview story on each store, side by side: DuckDB (the default), SQLite, PostgreSQL and
ClickHouse (the embedded engine, chdb).

Per N, one fresh store per backend, the same steps through the real API (engine.*):
write the root example/video from Parquet; for crop, face_detection and stt: the increment
streamed to Parquet and written back; rewrite 1% of the videos (a new audio input); crop's
increment after it (to Arrow) and its write-back; crop's increment again (nothing to do); the
three summaries; delete 1% of crop's samples (tombstones). SQLite has no engine to read Parquet
or hash in bulk (md5 is a Python function it calls per value), so it is expected to be several
times slower; the point is that it stays linear in N (its current tables index their ids).

Server stores are measured against their engine's floor, in the same run: the root write
against a plain load of the same rows into a table without versions (PostgreSQL: COPY of the
Parquet rows as CSV, as the store stages them) and against a COPY of the rows metaxy stored
(with their hashes and versions: about 3x the bytes of the input), and each crop increment against one
hand-written query that computes the same rows (md5 over the same canonical strings, a join on
ids, no fast path), read into Arrow the same way. PostgreSQL runs when METAXY_PG_URL is set
(`eval "$(scripts/test-services start)"`), on a schema of its own that is dropped afterwards.
ClickHouse's floors (clickhouse_floor.py) run on the store's own chdb session: the root write
against `INSERT INTO t SELECT * FROM file(listing)` of the same rows (and the same INSERT
computing the hashes, and an INSERT of the rows metaxy stored from a Parquet file of them, as
PostgreSQL's COPY), crop's increment against one hand-written statement over the same views.
Input data: bench_engine.generate (benchmarks/.data/, cached).

    python benchmarks/bench_stores.py --sizes 100000,1000000
    python benchmarks/bench_stores.py --sizes 100000 --backends duckdb,postgres
    python benchmarks/bench_stores.py --sizes 100000,1000000 --backends duckdb,clickhouse
    python benchmarks/bench_stores.py --sizes 100000,1000000 --backends spark [--master local[2]]

`spark` among the backends prints the Spark store's own table first (bench_spark.py: the story
next to DuckDB's in the same run, a hand-written PySpark floor, peak driver and JVM memory).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import CROP, FACES, OVERVIEW, STT, VIDEO, generate, log, machine  # noqa: E402

NAMES = {"duckdb": "DuckDB", "sqlite": "SQLite", "postgres": "PostgreSQL", "clickhouse": "ClickHouse"}
FLOOR = "floor: "  # steps that time the engine's floor instead of metaxy


def open_postgres(workdir: Path):
    from metaxy_cli.store.postgres import PostgresStore

    return PostgresStore.open(os.environ["METAXY_PG_URL"], name="bench", schema=f"bench_{os.getpid()}_{time.time_ns() % 10**9}")


def openers() -> dict[str, Callable]:
    from metaxy_cli.store.duckdb import DuckDBStore
    from metaxy_cli.store.sqlite import SQLiteStore

    from metaxy_cli.store.clickhouse import ClickHouseStore

    return {
        "duckdb": lambda workdir: DuckDBStore.open(workdir / "store.duckdb"),
        "sqlite": lambda workdir: SQLiteStore.open(workdir / "store.sqlite"),
        "postgres": open_postgres,
        "clickhouse": lambda workdir: ClickHouseStore.open(workdir / "store.clickhouse"),
    }


# ---- PostgreSQL's floors ---------------------------------------------------------------------

CROP_FLOOR = """
SELECT x.sample_uid,
       CASE WHEN c.sample_uid IS NULL THEN 'new' ELSE 'stale' END AS metaxy_status,
       x.pa AS metaxy_provenance__audio, x.pf AS metaxy_provenance__frames,
       md5(x.pa || '|' || x.pf) AS metaxy_provenance,
       c.sample_uid IS NULL OR c.metaxy_provenance__audio IS DISTINCT FROM x.pa AS metaxy_stale__audio,
       c.sample_uid IS NULL OR c.metaxy_provenance__frames IS DISTINCT FROM x.pf AS metaxy_stale__frames
FROM (SELECT sample_uid,
             md5('["example/crop.audio","1"]|example/video.audio=' || COALESCE(metaxy_data_version__audio, metaxy_provenance__audio, '')) AS pa,
             md5('["example/crop.frames","1"]|example/video.frames=' || COALESCE(metaxy_data_version__frames, metaxy_provenance__frames, '')) AS pf
      FROM example__video) AS x
LEFT JOIN example__crop AS c ON c.sample_uid = x.sample_uid
WHERE c.sample_uid IS NULL OR c.metaxy_provenance__audio IS DISTINCT FROM x.pa OR c.metaxy_provenance__frames IS DISTINCT FROM x.pf
"""


def postgres_copy_floor(store, workdir: Path, project, listing: Path) -> Callable[[], int]:
    """The input rows COPY'd as CSV into a plain table (no hashing, no index, no history)."""
    store.execute("DROP TABLE IF EXISTS floor_videos")
    store.execute(
        "CREATE TABLE floor_videos (sample_uid TEXT, path TEXT, audio_sha TEXT, frames_sha TEXT, "
        "frames BIGINT, duration DOUBLE PRECISION, size BIGINT)"
    )
    return lambda: _copy_parquet(store, listing, "floor_videos")


def postgres_stored_rows_floor(store, workdir: Path, project, listing: Path) -> Callable[[], int]:
    """The rows metaxy stored (ids, columns, hashes, versions, write time and id), saved to
    Parquet untimed; the returned floor COPYs them as CSV into a plain table like the first."""
    import pyarrow.parquet as pq

    saved = workdir / "stored-videos.parquet"
    pq.write_table(store.fetch_arrow('SELECT * FROM "example__video"'), saved)
    store.execute('DROP TABLE IF EXISTS floor_stored_videos')
    store.execute('CREATE TABLE floor_stored_videos (LIKE "example__video")')
    return lambda: _copy_parquet(store, saved, "floor_stored_videos")


def _copy_parquet(store, parquet: Path, table: str) -> int:
    import io

    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    rows = pq.read_table(parquet)
    columns = ", ".join(f'"{name}"' for name in rows.schema.names)
    with store.connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT CSV)") as copy:
        for batch in rows.to_batches(65_536):
            sink = io.BytesIO()
            pacsv.write_csv(batch, sink, pacsv.WriteOptions(include_header=False))
            copy.write(sink.getbuffer())
    return store.fetch_all(f"SELECT count(*) FROM {table}")[0][0]


# ---- ClickHouse's floors (clickhouse_floor.py) ---------------------------------------------------


def clickhouse_insert_floor(hashed: bool) -> Callable:
    def prepare(store, workdir: Path, project, listing: Path) -> Callable[[], object]:
        import clickhouse_floor as floor

        table = "floor_hashed" if hashed else "floor_plain"
        if hashed:
            floor.create_hashed_video(store, project, table)
        else:
            floor.create_plain_video(store, table)
        return lambda: store.execute(floor.root_write(store, project, listing, table, hashed=hashed))

    return prepare


def clickhouse_stored_rows_floor(store, workdir: Path, project, listing: Path) -> Callable[[], object]:
    """The rows metaxy stored (its log table's rows: ids, columns, hashes, versions, write time
    and id), saved to Parquet by the engine untimed; the returned floor INSERTs them from that
    file into a table of the same structure and engine (as PostgreSQL's COPY of the stored rows)."""
    saved = workdir / "stored-videos.parquet"
    log_table = '"metaxy_log__example__video"'
    store.execute(f"INSERT INTO FUNCTION file('{saved}', 'Parquet') SELECT * FROM {log_table} SETTINGS engine_file_truncate_on_insert = 1")
    store.execute("DROP TABLE IF EXISTS floor_stored")
    store.execute(f"CREATE TABLE floor_stored AS {log_table}")
    return lambda: store.execute(f"INSERT INTO floor_stored SELECT * FROM file('{saved}', 'Parquet')")


def clickhouse_increment_floor(store, workdir: Path, project) -> int:
    """One hand-written statement over the same current views, written by the engine to Parquet."""
    import clickhouse_floor as floor

    out = workdir / "floor.parquet"
    store.execute(floor.increment(project, CROP, out, '"example__video"', '"example__crop"'))
    return store.fetch_all(f"SELECT count() FROM file('{out}', 'Parquet')")[0][0] if out.stat().st_size else 0


# Per backend: root-write floors (label -> prepare(store, workdir, project, listing), untimed, returning
# the timed action) and the increment floor (store, workdir, project -> rows).
FLOORS: dict[str, dict[str, object]] = {
    "postgres": {
        "root": {"plain COPY of the input rows": postgres_copy_floor, "COPY of the stored rows": postgres_stored_rows_floor},
        "increment": lambda store, workdir, project: store.fetch_arrow(CROP_FLOOR).num_rows,
    },
    "clickhouse": {
        "root": {
            "INSERT ... SELECT FROM file": clickhouse_insert_floor(False),
            "the same INSERT with the hashes": clickhouse_insert_floor(True),
            "INSERT of the stored rows": clickhouse_stored_rows_floor,
        },
        "increment": clickhouse_increment_floor,
    },
}


# ---- the story ---------------------------------------------------------------------------------


def story(backend: str, n: int, files: dict[str, Path], workdir: Path) -> dict[str, float]:
    """Seconds per step of the story on a fresh store of `backend`."""
    from metaxy_cli import engine
    from metaxy_cli.definitions.loader import load_project

    project = load_project(OVERVIEW)
    todo = workdir / f"todo-{backend}.parquet"
    floors = FLOORS.get(backend, {})
    timings: dict[str, float] = {}

    def timed(step: str, action) -> object:
        start = time.perf_counter()
        result = action()
        timings[step] = time.perf_counter() - start
        log(f"N={n:,} {backend} {step}: {timings[step]:.2f} s")
        return result

    def increments_agree(step: str):
        """crop's increment to Arrow, and the floor's where the backend has one (same rows)."""
        ours = timed(f"increment {CROP} -> arrow {step}", lambda: engine.increment(project, store, CROP).to_arrow())
        if "increment" in floors:
            rows = timed(f"{FLOOR}increment {CROP} -> arrow {step}", lambda: floors["increment"](store, workdir, project))
            assert rows == ours.num_rows, (rows, ours.num_rows)
        return ours

    store = openers()[backend](workdir)
    try:
        timed(f"write {VIDEO} (root)", lambda: engine.write(project, store, VIDEO, files["videos"]))
        for label, prepare in floors.get("root", {}).items():
            timed(f"{FLOOR}write {VIDEO} (root) [{label}]", prepare(store, workdir, project, files["videos"]))
        for key in (CROP, FACES, STT):
            timed(f"increment {key} -> parquet (all new)", lambda: engine.increment(project, store, key).write_to(todo, "parquet"))
            timed(f"write {key}", lambda: engine.write(project, store, key, todo))
        timed(f"write {VIDEO}, 1% changed", lambda: engine.write(project, store, VIDEO, files["changed"]))
        changed = increments_agree("after 1%")
        timed(f"write {CROP} back after 1%", lambda: engine.write(project, store, CROP, changed.select(["sample_uid", "metaxy_provenance"])))
        increments_agree("(nothing to do)")
        for key in (CROP, STT, FACES):
            timed(f"summary {key} after 1%", lambda: engine.summary(project, store, key))
        timed(f"delete 1% of {CROP}", lambda: engine.delete(project, store, CROP, ids=files["changed"]))
    finally:
        schema = getattr(store, "schema", None)
        if schema is not None:
            store.execute(f'DROP SCHEMA "{schema}" CASCADE')
        store.close()
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated N (default 100000,1000000)")
    default = "duckdb,sqlite" + (",postgres" if os.environ.get("METAXY_PG_URL") else "")
    parser.add_argument("--backends", default=default,
                        help=f"comma-separated (default {default}; postgres needs METAXY_PG_URL; spark: bench_spark.py)")  # fmt: skip
    parser.add_argument("--master", default="local[2]", help="spark: the Spark master URL (default local[2])")
    options = parser.parse_args(argv)
    backends = options.backends.split(",")
    if "postgres" in backends and not os.environ.get("METAXY_PG_URL"):
        parser.error('postgres needs METAXY_PG_URL (eval "$(scripts/test-services start)")')
    if "spark" in backends:
        import bench_spark

        backends.remove("spark")
        bench_spark.main(["--sizes", options.sizes, "--master", options.master])
        if not backends:
            return 0
    info = machine()
    results: dict[int, dict[str, dict[str, float]]] = {}
    for n in (int(size) for size in options.sizes.split(",")):
        files = generate(n)
        results[n] = {}
        for backend in backends:
            with tempfile.TemporaryDirectory(prefix=f"stores-{n}-") as workdir:
                results[n][backend] = story(backend, n, files, Path(workdir))
    print(f"Machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM, Python {info['python']}, "
          f"DuckDB {info['duckdb']}, SQLite {__import__('sqlite3').sqlite_version}{_server_versions(backends)}; "
          f"load average {info['load']} before, {'%.1f %.1f %.1f' % os.getloadavg()} after.\n")  # fmt: skip
    print_side_by_side(results, backends)
    for backend in backends:
        if backend in FLOORS:
            print_floors(results, backend)
    return 0


def _server_versions(backends: list[str]) -> str:
    found = ""
    if "postgres" in backends:
        import psycopg

        with psycopg.connect(os.environ["METAXY_PG_URL"]) as connection:
            version = connection.execute("SHOW server_version").fetchone()[0]
        found += f", PostgreSQL {version.split()[0]} (psycopg {psycopg.__version__})"
    if "clickhouse" in backends:
        import chdb

        found += f", chdb {chdb.__version__}"
    return found


def print_side_by_side(results: dict[int, dict[str, dict[str, float]]], backends: list[str]) -> None:
    first = backends[0]
    print("| N | step | " + " | ".join(NAMES[b] for b in backends) + " | " + " | ".join(f"{NAMES[b]} / {NAMES[first]}" for b in backends[1:]) + " |")
    print("|---:|---|" + "---:|" * (2 * len(backends) - 1))
    for n, by_backend in results.items():
        for step, base in by_backend[first].items():
            times = [by_backend[b].get(step) for b in backends]
            cells = [f"{t:.2f} s" if t is not None else "" for t in times]
            ratios = [f"{t / base:.1f}x" if t is not None else "" for t in times[1:]]
            print(f"| {n:,} | {step} | " + " | ".join(cells + ratios) + " |")


def print_floors(results: dict[int, dict[str, dict[str, float]]], backend: str) -> None:
    print(f"\n{NAMES[backend]} against its floor (same run):\n")
    print("| N | step | metaxy | floor | metaxy / floor |")
    print("|---:|---|---:|---:|---:|")
    for n, by_backend in results.items():
        timings = by_backend.get(backend, {})
        for step, floor in timings.items():
            if step.startswith(FLOOR):  # "floor: <step>" or "floor: <step> [which floor]"
                ours = timings[step.removeprefix(FLOOR).split(" [")[0]]
                print(f"| {n:,} | {step.removeprefix(FLOOR)} | {ours:.2f} s | {floor:.2f} s | {ours / floor:.2f}x |")


if __name__ == "__main__":
    sys.exit(main())
