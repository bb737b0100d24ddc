#!/usr/bin/env python3
"""The overview story on each embedded store, side by side: DuckDB (the default) and SQLite.

Per N, one store file per backend, the same steps through the real API (engine.*):
write the root example/video from Parquet; for crop, face_detection and stt: the increment
streamed to Parquet and written back; rewrite 1% of the videos (a new audio input); the three
summaries after it; delete 1% of crop's samples (tombstones). SQLite has no engine to read
Parquet or hash in bulk (md5 is a Python function it calls per value), so it is expected to be
several times slower; the point is that it stays linear in N (its current tables index their
ids). Input data: bench_engine.generate (benchmarks/.data/, cached).

    python benchmarks/bench_stores.py --sizes 100000,1000000
    python benchmarks/bench_stores.py --sizes 100000,1000000 --spark [--master local[2]]

`--spark` adds the Spark store's table (bench_spark.py: its own steps, a hand-written PySpark
floor and peak memory, next to DuckDB); `--only-spark` skips the DuckDB/SQLite table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import CROP, FACES, OVERVIEW, STT, VIDEO, generate, log, machine  # noqa: E402


def story(backend: str, n: int, files: dict[str, Path], workdir: Path) -> dict[str, float]:
    """Seconds per step of the story on a fresh store of `backend`."""
    from metaxy_cli import engine
    from metaxy_cli.definitions.loader import load_project
    from metaxy_cli.store.duckdb import DuckDBStore
    from metaxy_cli.store.sqlite import SQLiteStore

    project = load_project(OVERVIEW)
    opener = {"duckdb": DuckDBStore.open, "sqlite": SQLiteStore.open}[backend]
    todo = workdir / f"todo-{backend}.parquet"
    timings: dict[str, float] = {}

    def timed(step: str, action) -> None:
        start = time.perf_counter()
        action()
        timings[step] = time.perf_counter() - start
        log(f"N={n:,} {backend} {step}: {timings[step]:.2f} s")

    with opener(workdir / f"store.{backend}") as store:
        timed(f"write {VIDEO} (root)", lambda: engine.write(project, store, VIDEO, files["videos"]))
        for key in (CROP, FACES, STT):
            timed(f"increment {key} -> parquet (all new)", lambda: engine.increment(project, store, key).write_to(todo, "parquet"))
            timed(f"write {key}", lambda: engine.write(project, store, key, todo))
        timed(f"write {VIDEO}, 1% changed", lambda: engine.write(project, store, VIDEO, files["changed"]))
        for key in (CROP, STT, FACES):
            timed(f"summary {key} after 1%", lambda: engine.summary(project, store, key))
        timed(f"delete 1% of {CROP}", lambda: engine.delete(project, store, CROP, ids=files["changed"]))
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated N (default 100000,1000000)")
    parser.add_argument("--spark", action="store_true", help="also the Spark store (bench_spark.py)")
    parser.add_argument("--only-spark", action="store_true", help="the Spark store's table alone")
    parser.add_argument("--master", default="local[2]", help="Spark master URL (default local[2])")
    options = parser.parse_args(argv)
    if options.spark or options.only_spark:
        import bench_spark

        bench_spark.main(["--sizes", options.sizes, "--master", options.master])
        if options.only_spark:
            return 0
    info = machine()
    results: dict[int, dict[str, dict[str, float]]] = {}
    for n in (int(size) for size in options.sizes.split(",")):
        files = generate(n)
        with tempfile.TemporaryDirectory(prefix=f"stores-{n}-") as workdir:
            results[n] = {backend: story(backend, n, files, Path(workdir)) for backend in ("duckdb", "sqlite")}
    print(f"Machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM, Python {info['python']}, "
          f"DuckDB {info['duckdb']}, SQLite {__import__('sqlite3').sqlite_version}; load average {info['load']} before.\n")  # fmt: skip
    print("| N | step | DuckDB | SQLite | SQLite / DuckDB |")
    print("|---:|---|---:|---:|---:|")
    for n, by_backend in results.items():
        for step, duck in by_backend["duckdb"].items():
            lite = by_backend["sqlite"][step]
            print(f"| {n:,} | {step} | {duck:.2f} s | {lite:.2f} s | {lite / duck:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
