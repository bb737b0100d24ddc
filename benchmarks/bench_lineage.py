"""Lineage increments on DuckDB (issue 15) against hand-written floor queries.

Expansion: P parents (example/video) x 5 children (example/clips); 1% of the parents' audio
changes; the clips increment (parents to re-expand) vs a floor query that hashes each parent's
expected provenance and compares it with its children's min/max stored provenance.
Aggregation: 5P chunks -> P groups (example/video_summary); 1% of the chunks change; the
summaries' increment vs a floor that concatenates each group's member versions in id order.
Both timed on the second run (warm), the increment materialised as Arrow. Peak RSS of this process.

    .venv/bin/python benchmarks/bench_lineage.py --parents 1000000
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from metaxy_cli import engine
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.store.duckdb import DuckDBStore

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "lineage"
CHILDREN = 5

EXPANSION_FLOOR = """
SELECT e.sample_uid, e.pa, e.pf FROM (
  SELECT v.sample_uid,
    md5('["example/clips.audio","1"]|example/video.audio=' || coalesce(v.metaxy_data_version__audio, v.metaxy_provenance__audio, '')) AS pa,
    md5('["example/clips.frames","1"]|example/video.frames=' || coalesce(v.metaxy_data_version__frames, v.metaxy_provenance__frames, '')) AS pf
  FROM example__video v) e
FULL JOIN (
  SELECT sample_uid, min(metaxy_provenance__audio) AS a0, max(metaxy_provenance__audio) AS a1,
         min(metaxy_provenance__frames) AS f0, max(metaxy_provenance__frames) AS f1
  FROM example__clips GROUP BY sample_uid) s ON e.sample_uid = s.sample_uid
WHERE s.sample_uid IS NULL OR e.sample_uid IS NULL OR e.pa <> s.a0 OR e.pa <> s.a1 OR e.pf <> s.f0 OR e.pf <> s.f1
"""

AGGREGATION_FLOOR = """
SELECT e.sample_uid, e.p FROM (
  SELECT sample_uid, md5('["example/video_summary.embedding","1"]|example/chunks.audio=' ||
    string_agg(coalesce(metaxy_data_version__audio, metaxy_provenance__audio, ''), ',' ORDER BY sample_uid, chunk_idx)) AS p
  FROM example__chunks GROUP BY sample_uid) e
FULL JOIN example__video_summary s ON e.sample_uid = s.sample_uid
WHERE s.sample_uid IS NULL OR e.sample_uid IS NULL OR e.p <> s.metaxy_provenance__embedding
"""


def timed(fn) -> tuple[float, object]:
    fn()  # first run: warms caches
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def uids(n: int) -> pa.Array:
    return pa.array([f"s{i:08d}" for i in range(n)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parents", type=int, default=1_000_000)
    args = parser.parse_args()
    n = args.parents
    folder = Path(tempfile.mkdtemp(prefix="metaxy-bench-lineage-"))
    project = load_project(EXAMPLE)
    rows: list[tuple[str, str, str]] = []
    try:
        with DuckDBStore.open(folder / "bench.duckdb") as store:
            ids = uids(n)
            video = pa.table({"sample_uid": ids, "path": ids, "audio_sha": ids, "frames_sha": ids})
            start = time.perf_counter()
            engine.write(project, store, "example/video", video)
            clips = pa.table({
                "sample_uid": pa.array([f"s{i:08d}" for i in range(n) for _ in range(CHILDREN)]),
                "clip_idx": pa.array([c for _ in range(n) for c in range(CHILDREN)], pa.int64()),
                "start_s": pa.array([0.0] * (n * CHILDREN)), "end_s": pa.array([1.0] * (n * CHILDREN)),
            })  # fmt: skip
            engine.write(project, store, "example/clips", clips)
            rows.append(("setup: write parents + children", f"{time.perf_counter() - start:.1f} s", ""))
            changed = video.set_column(2, "audio_sha", pa.array([f"x{i}" if i % 100 == 0 else f"s{i:08d}" for i in range(n)]))
            engine.write(project, store, "example/video", changed)
            ours, table = timed(lambda: engine.increment(project, store, "example/clips").to_arrow())
            floor, reference = timed(lambda: store.native_duckdb.sql(EXPANSION_FLOOR).to_arrow_table())
            assert table.num_rows == reference.num_rows == n // 100, (table.num_rows, reference.num_rows)
            rows.append((f"expansion increment, {n:,} x {CHILDREN}, 1% parents changed", f"{ours:.2f} s / {floor:.2f} s", f"{ours / floor:.2f}x"))

            chunks = pa.table({
                "sample_uid": clips.column("sample_uid"), "chunk_idx": clips.column("clip_idx"),
                "audio_sha": pa.array([str(i) for i in range(n * CHILDREN)]),
            })  # fmt: skip
            engine.write(project, store, "example/chunks", chunks)
            engine.write(project, store, "example/video_summary", engine.increment(project, store, "example/video_summary").to_arrow())
            step = 100
            changed_chunks = chunks.slice(0, n * CHILDREN).filter(pa.array([i % step == 0 for i in range(n * CHILDREN)]))
            changed_chunks = changed_chunks.set_column(2, "audio_sha", pa.array(["changed"] * changed_chunks.num_rows))
            engine.write(project, store, "example/chunks", changed_chunks)
            ours, table = timed(lambda: engine.increment(project, store, "example/video_summary").to_arrow())
            floor, reference = timed(lambda: store.native_duckdb.sql(AGGREGATION_FLOOR).to_arrow_table())
            assert table.num_rows == reference.num_rows, (table.num_rows, reference.num_rows)
            rows.append((f"aggregation increment, {n * CHILDREN:,} chunks -> {n:,} groups, 1% chunks changed ({table.num_rows:,} groups)",
                         f"{ours:.2f} s / {floor:.2f} s", f"{ours / floor:.2f}x"))  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    rows.append(("peak RSS (this process, DuckDB in it)", f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB", ""))
    print("| step | ours / floor | ratio |\n|---|---:|---:|")
    for step, value, ratio in rows:
        print(f"| {step} | {value} | {ratio} |")


if __name__ == "__main__":
    main()
