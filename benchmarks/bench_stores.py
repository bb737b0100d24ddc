#!/usr/bin/env python3
"""The overview story on each store, side by side: DuckDB (the default), SQLite and ClickHouse
(the embedded engine, chdb).

Per N, one store per backend, the same steps through the real API (engine.*):
write the root example/video from Parquet; for crop, face_detection and stt: the increment
streamed to Parquet and written back; rewrite 1% of the videos (a new audio input); crop's
increment after it, its write-back, and the no-op increment that follows; the three summaries;
delete 1% of crop's samples (tombstones). SQLite has no engine to read Parquet or hash in bulk
(md5 is a Python function it calls per value), so it is expected to be several times slower; the
point is that it stays linear in N (its current tables index their ids).

ClickHouse is also timed against its own floor (clickhouse_floor.py), on the same session: the
root write against a plain `INSERT INTO t SELECT * FROM file(listing)` of the same rows (and the
same with the hashes computed), crop's increments against one hand-written statement over the
same current views and over plain MergeTree copies of the current rows. Input data:
bench_engine.generate (benchmarks/.data/, cached).

    python benchmarks/bench_stores.py --sizes 100000,1000000 [--backends duckdb,clickhouse]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import CROP, FACES, OVERVIEW, STT, VIDEO, generate, log, machine  # noqa: E402


BACKENDS = ("duckdb", "sqlite", "clickhouse")
ROOT_WRITE, INCREMENT_1, WRITE_BACK, NO_OP = (
    f"write {VIDEO} (root)", f"increment {CROP} -> parquet after 1%", f"write back {CROP} (1%)", f"increment {CROP} -> parquet, nothing to do",
)  # fmt: skip


def opener(backend: str):
    from metaxy_cli.store.clickhouse import ClickHouseStore
    from metaxy_cli.store.duckdb import DuckDBStore
    from metaxy_cli.store.sqlite import SQLiteStore

    return {"duckdb": DuckDBStore.open, "sqlite": SQLiteStore.open, "clickhouse": ClickHouseStore.open}[backend]


def story(backend: str, n: int, files: dict[str, Path], workdir: Path) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds per step of the story on a fresh store of `backend`, and (ClickHouse) its floors."""
    from metaxy_cli import engine
    from metaxy_cli.definitions.loader import load_project

    project = load_project(OVERVIEW)
    todo = workdir / f"todo-{backend}.parquet"
    timings: dict[str, float] = {}
    floors: dict[str, float] = {}

    def timed(step: str, action, into: dict[str, float] = timings):
        start = time.perf_counter()
        result = action()
        into[step] = time.perf_counter() - start
        log(f"N={n:,} {backend} {'floor ' if into is floors else ''}{step}: {into[step]:.2f} s")
        return result

    def increment(key: str) -> int:
        return engine.increment(project, store, key).write_to(todo, "parquet")

    with opener(backend)(workdir / f"store.{backend}") as store:
        timed(ROOT_WRITE, lambda: engine.write(project, store, VIDEO, files["videos"]))
        if backend == "clickhouse":
            root_floors(store, project, files["videos"], lambda step, action: timed(step, action, floors))
        for key in (CROP, FACES, STT):
            timed(f"increment {key} -> parquet (all new)", lambda: increment(key))
            timed(f"write {key}", lambda: engine.write(project, store, key, todo))
        timed(f"write {VIDEO}, 1% changed", lambda: engine.write(project, store, VIDEO, files["changed"]))
        rows = timed(INCREMENT_1, lambda: increment(CROP))
        if backend == "clickhouse":
            increment_floors(store, project, workdir, rows, INCREMENT_1, lambda step, action: timed(step, action, floors))
        timed(WRITE_BACK, lambda: engine.write(project, store, CROP, todo))
        rows = timed(NO_OP, lambda: increment(CROP))
        assert rows == 0, f"{backend}: {rows} samples left after the write-back"
        if backend == "clickhouse":
            increment_floors(store, project, workdir, rows, NO_OP, lambda step, action: timed(step, action, floors))
        for key in (CROP, STT, FACES):
            timed(f"summary {key} after 1%", lambda: engine.summary(project, store, key))
        timed(f"delete 1% of {CROP}", lambda: engine.delete(project, store, CROP, ids=files["changed"]))
    return timings, floors


def root_floors(store, project, listing: Path, timed) -> None:
    import clickhouse_floor as floor

    floor.create_plain_video(store, "floor_plain")
    timed(f"{ROOT_WRITE}: INSERT SELECT FROM file", lambda: store.execute(floor.root_write(store, project, listing, "floor_plain", hashed=False)))
    floor.create_hashed_video(store, project, "floor_hashed")
    timed(f"{ROOT_WRITE}: INSERT SELECT with hashes", lambda: store.execute(floor.root_write(store, project, listing, "floor_hashed", hashed=True)))


def increment_floors(store, project, workdir: Path, rows: int, step: str, timed) -> None:
    """The hand-written increment over metaxy's current views, then over plain copies of them;
    each must find the `rows` samples metaxy found."""
    import clickhouse_floor as floor

    out = workdir / "floor.parquet"
    for source, upstream, stored in (("views", '"example__video"', '"example__crop"'), ("plain tables", "plain_video", "plain_crop")):
        if source == "plain tables":  # untimed: current rows copied once
            for name, view in (("plain_video", "example__video"), ("plain_crop", "example__crop")):
                store.execute(f"DROP TABLE IF EXISTS {name}")
                store.execute(f'CREATE TABLE {name} ENGINE = MergeTree ORDER BY sample_uid AS SELECT * FROM "{view}"')
        sql = floor.increment(project, CROP, out, upstream, stored)
        timed(f"{step}: hand-written, {source}", lambda sql=sql: store.execute(sql))
        found = store.fetch_all(f"SELECT count() FROM file('{out}', 'Parquet')")[0][0] if out.stat().st_size else 0
        assert found == rows, f"floor over {source} finds {found} samples, metaxy {rows}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated N (default 100000,1000000)")
    parser.add_argument("--backends", default=",".join(BACKENDS), help=f"comma-separated, from {', '.join(BACKENDS)} (default all)")
    options = parser.parse_args(argv)
    backends = [name for name in BACKENDS if name in options.backends.split(",")]
    info = machine()
    results: dict[int, dict[str, dict[str, float]]] = {}
    floors: dict[int, dict[str, float]] = {}
    for n in (int(size) for size in options.sizes.split(",")):
        files = generate(n)
        results[n] = {}
        with tempfile.TemporaryDirectory(prefix=f"stores-{n}-") as workdir:
            for backend in backends:
                results[n][backend], found = story(backend, n, files, Path(workdir))
                floors[n] = floors.get(n, {}) | found
    import chdb

    print(f"Machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM, Python {info['python']}, "
          f"DuckDB {info['duckdb']}, SQLite {__import__('sqlite3').sqlite_version}, chdb {chdb.__version__}; "
          f"load average {info['load']} before, {'%.1f %.1f %.1f' % os.getloadavg()} after.\n")  # fmt: skip
    names = {"duckdb": "DuckDB", "sqlite": "SQLite", "clickhouse": "ClickHouse"}
    print("| N | step | " + " | ".join(names[b] for b in backends) + " |")
    print("|---:|---|" + "---:|" * len(backends))
    for n, by_backend in results.items():
        for step in by_backend[backends[0]]:
            print(f"| {n:,} | {step} | " + " | ".join(f"{by_backend[b][step]:.2f} s" for b in backends) + " |")
    if any(floors.values()):
        print("\nClickHouse against its floor (same session):\n")
        print("| N | step | metaxy | floor | metaxy / floor |")
        print("|---:|---|---:|---:|---:|")
        for n, found in floors.items():
            for name, seconds in found.items():
                step, how = name.split(": ", 1)
                ours = results[n]["clickhouse"][step]
                print(f"| {n:,} | {step} vs {how} | {ours:.2f} s | {seconds:.2f} s | {ours / seconds:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
