#!/usr/bin/env python3
"""The reference library (PyPI `metaxy==0.1.11`, DuckDB store) on bench_engine.py's workload.

Times the reference's public Python API on the overview graph (example/video -> crop ->
face_detection, video -> stt; the field deps of examples/overview/) at N samples, on the same
Parquet inputs bench_engine.py generates (benchmarks/.data/videos-N.parquet, videos_v2-N,
changed-N), so "ours vs reference" is measured on one machine. What is timed, per step:

  (a) write example/video (root, N rows): `pl.read_parquet` of videos-N, the per-field
      provenance struct built from the inputs (audio <- audio_sha, frames <- frames_sha), and
      `store.write(video, frame)`, into an empty store.
  (b) the example/crop increment when every sample is new; then the write-backs of crop,
      face_detection and stt, each `store.write(key, increment.new)` of that feature's increment
      (resolved beforehand, untimed), as the reference's examples write back after computing.
  (c) the crop increment right after its write-back (nothing to do).
  (d) write the 1% batch (changed-N: new audio_sha) to video as in (a); then the crop, stt and
      face_detection increments.
  (e) video.audio code_version 1 -> 2 (a second feature graph): video re-written under its new
      feature version (videos_v2-N, written as in (a)); then the crop and stt increments.

"Increment" = `store.resolve_update(key)` (eager: the new, stale and orphaned frames are
resolved natively by DuckDB through Ibis and collected), with the counts read from the collected
frames. Each write step starts from a copy of the store file taken before it (restored before
every repetition); best of --repeat. The store is opened (untimed) around each step, and an
untimed warm-up on 100 rows in a scratch store comes first. The counts are checked (all new = N;
after the 1% change crop and stt have 1% of N stale and face_detection none; after the bump crop
and stt have N pending: all `new`, as the reference reads stored rows of the current feature
version only) and the script exits 1 if one differs. Peak RSS is per size (a child process each).

Hashing: md5 by default (ours uses md5 too). The reference's DuckDB default is xxhash32 from the
`hashfuncs` community extension, which DuckDB downloads on every store open; this machine cannot
reach DuckDB's extension repository, so with md5 the script drops `hashfuncs` from the store's
`extensions` list (md5 is built into DuckDB). `--hash xxhash32` runs the default where it can.

The reference lives in its own virtualenv, benchmarks/.refvenv (gitignored), created on first
use with `pip install 'metaxy[duckdb]==0.1.11' 'sqlglot>=28.1,<29'` (see REQUIREMENTS); this
script re-runs itself there with --child, one process per size. The parent needs only the
standard library; the child generates the inputs with bench_engine.generate (cached).

    python benchmarks/bench_reference.py --sizes 10000,100000 --repeat 1    # quick run
    python benchmarks/bench_reference.py --sizes 100000,1000000             # best of 3
    python benchmarks/bench_reference.py --deps-select system    # increments without upstream columns
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
REFVENV = HERE / ".refvenv"
REFPYTHON = REFVENV / "bin" / "python"
# sqlglot 29+ renders ibis 12's `DROP VIEW IF EXISTS <memtable>` without the name (a syntax error
# on the first write), so the venv pins the sqlglot line ibis 12 was released with.
REQUIREMENTS = ("metaxy[duckdb]==0.1.11", "sqlglot>=28.1,<29")
VERSION = "0.1.11"
VIDEO, CROP, FACES, STT = "example/video", "example/crop", "example/face_detection", "example/stt"
ID = "sample_uid"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---- the reference's virtualenv (parent side) ------------------------------------------------------


def ensure_refvenv() -> Path:
    """benchmarks/.refvenv with the reference installed: created on first use, and the
    requirements installed again when they differ from the ones it was made with."""
    stamp = REFVENV / "bench-requirements.txt"
    if not REFPYTHON.exists():
        log(f"creating {REFVENV}")
        subprocess.run([sys.executable, "-m", "venv", str(REFVENV)], check=True)
    if not stamp.exists() or stamp.read_text() != "\n".join(REQUIREMENTS):
        log(f"installing {' '.join(REQUIREMENTS)} into {REFVENV}")
        subprocess.run([str(REFPYTHON), "-m", "pip", "install", "--quiet", *REQUIREMENTS], check=True)
        stamp.write_text("\n".join(REQUIREMENTS))
    return REFPYTHON


# ---- the overview graph in the reference's Python API (child side) ---------------------------------


def build_graph(audio_code_version: str, deps_select: str) -> Any:
    """The overview graph in a FeatureGraph of its own (one per video.audio code_version).

    deps_select "all" is the reference's default FeatureDep (upstream user columns are joined
    into increments, as in the overview); "system" selects only Metaxy's columns (`select=()`).
    """
    import metaxy as mx

    def dep(key: str) -> Any:
        return mx.FeatureDep(feature=key) if deps_select == "all" else mx.FeatureDep(feature=key, select=())

    def field(key: str, parent: str, parent_field: str) -> Any:
        return mx.FieldSpec(key=key, code_version="1", deps=[mx.FieldDep(feature=parent, fields=[parent_field])])

    graph = mx.FeatureGraph()
    with graph.use():

        class Video(mx.BaseFeature, spec=mx.FeatureSpec(
            key=VIDEO, id_columns=[ID],
            fields=[mx.FieldSpec(key="audio", code_version=audio_code_version), mx.FieldSpec(key="frames", code_version="1")],
        )):  # fmt: skip
            """Video metadata feature (root)."""

            __metaxy_project__ = "overview"
            sample_uid: str
            path: str
            audio_sha: str
            frames_sha: str
            frames: int
            duration: float
            size: int

        class Crop(mx.BaseFeature, spec=mx.FeatureSpec(
            key=CROP, id_columns=[ID], deps=[dep(VIDEO)],
            fields=[field("audio", VIDEO, "audio"), field("frames", VIDEO, "frames")],
        )):  # fmt: skip
            __metaxy_project__ = "overview"

        class FaceDetection(mx.BaseFeature, spec=mx.FeatureSpec(
            key=FACES, id_columns=[ID], deps=[dep(CROP)], fields=[field("detections", CROP, "frames")],
        )):  # fmt: skip
            __metaxy_project__ = "overview"

        class SpeechToText(mx.BaseFeature, spec=mx.FeatureSpec(
            key=STT, id_columns=[ID], deps=[dep(VIDEO)], fields=[field("transcription", VIDEO, "audio")],
        )):  # fmt: skip
            __metaxy_project__ = "overview"

    return graph


def video_frame(listing: Path) -> Any:
    """A root's input as the reference takes it: the rows plus `metaxy_provenance_by_field`,
    one struct entry per field, here each field's input hash (audio_sha, frames_sha)."""
    import polars as pl

    provenance = pl.struct(audio=pl.col("audio_sha"), frames=pl.col("frames_sha"))
    return pl.read_parquet(listing).with_columns(provenance.alias("metaxy_provenance_by_field"))


# ---- timing (child side) ---------------------------------------------------------------------------


class Run:
    """One size: a fresh store file, the story's steps, each measurement appended to `rows`."""

    def __init__(self, n: int, repeat: int, files: dict[str, Path], workdir: Path, hash_name: str, deps_select: str):
        self.n, self.repeat, self.files, self.workdir = n, repeat, files, workdir
        self.database = workdir / "store.duckdb"
        self.hash_name = hash_name
        self.v1, self.v2 = build_graph("1", deps_select), build_graph("2", deps_select)
        self.changed = len(range(42, n, 100))  # bench_engine.CHANGED: i % 100 = 42
        self.rows: list[dict[str, Any]] = []
        self.problems: list[str] = []

    def store(self, database: Path | None = None) -> Any:
        from metaxy import HashAlgorithm
        from metaxy.ext.duckdb import DuckDBMetadataStore

        store = DuckDBMetadataStore(database or self.database, hash_algorithm=HashAlgorithm(self.hash_name), auto_create_tables=True)
        if not self.hash_name.startswith("xx"):  # md5 is DuckDB's own: no community extension to download
            store.extensions = [extension for extension in store.extensions if extension.name != "hashfuncs"]
        return store

    def record(self, step: str, what: str, seconds: float, rows: int, counts: str = "") -> None:
        self.rows.append({"n": self.n, "step": step, "what": what, "seconds": seconds, "rows": rows, "counts": counts})
        log(f"N={self.n:,} {step} {what}: {seconds:.3f} s ({rows:,} rows) {counts}")

    def check(self, step: str, what: str, got: object, expected: object) -> None:
        if got != expected:
            self.problems.append(f"{step} {what}: got {got}, expected {expected}")
            log(f"PROBLEM {self.problems[-1]}")

    def write(self, step: str, key: str, graph: Any, frame: Callable[[], Any], expected: int) -> None:
        """`frame()` then `store.write(key, ...)`, timed together; the store file is restored
        before each repetition, and after the last one the store holds the write."""
        backup = self.database.with_name("before-write.duckdb")
        existed = self.database.exists()
        if existed:
            shutil.copyfile(self.database, backup)
        best, rows = float("inf"), 0
        for repetition in range(self.repeat):
            if repetition:
                self.database.unlink()
                if existed:
                    shutil.copyfile(backup, self.database)
            with graph.use(), self.store().open("w") as store:
                start = time.perf_counter()
                data = frame()
                store.write(key, data)
                best = min(best, time.perf_counter() - start)
                rows = len(data)
        backup.unlink(missing_ok=True)
        self.check(step, f"write {key}", rows, expected)
        self.record(step, f"write {key}", best, rows)

    def increment(self, step: str, key: str, graph: Any, expected: tuple[int, int, int]) -> None:
        """`store.resolve_update(key)` (collected), best of k; (new, stale, orphaned) checked."""
        best, counts = float("inf"), (0, 0, 0)
        with graph.use(), self.store().open("w") as store:
            for _ in range(self.repeat):
                start = time.perf_counter()
                increment = store.resolve_update(key)
                counts = (len(increment.new), len(increment.stale), len(increment.orphaned))
                best = min(best, time.perf_counter() - start)
        self.check(step, f"{key} increment (new, stale, orphaned)", counts, expected)
        detail = f"new {counts[0]:,} / stale {counts[1]:,} / orphaned {counts[2]:,}"
        self.record(step, f"{key} increment", best, counts[0] + counts[1], detail)

    def write_back(self, key: str) -> None:
        """(b): the increment's new rows written back, as a pipeline would after computing them."""
        with self.v1.use(), self.store().open("w") as store:
            new = store.resolve_update(key).new  # untimed: the increment is timed separately
        self.write("b", key, self.v1, lambda: new, self.n)

    def warm_up(self) -> None:
        """Untimed: one root write and one increment on 100 rows in a scratch store, so that
        first-call costs (lazy imports, Ibis compilation set-up) land in no timed step."""
        scratch = self.workdir / "warm-up.duckdb"
        with self.v1.use(), self.store(scratch).open("w") as store:
            store.write(VIDEO, video_frame(self.files["changed"]).head(100))
            len(store.resolve_update(CROP).new)
        scratch.unlink()

    def run(self) -> None:
        n, changed, v1, v2 = self.n, self.changed, self.v1, self.v2
        self.warm_up()
        self.write("a", VIDEO, v1, lambda: video_frame(self.files["videos"]), n)
        self.increment("b", CROP, v1, (n, 0, 0))
        for key in (CROP, FACES, STT):
            self.write_back(key)
        self.increment("c", CROP, v1, (0, 0, 0))
        self.write("d", VIDEO, v1, lambda: video_frame(self.files["changed"]), changed)
        self.increment("d", CROP, v1, (0, changed, 0))
        self.increment("d", STT, v1, (0, changed, 0))
        self.increment("d", FACES, v1, (0, 0, 0))
        self.write("e", VIDEO, v2, lambda: video_frame(self.files["videos_v2"]), n)
        # The bump changes crop's and stt's feature versions; the reference reads a feature's
        # rows of its current feature version only, so all N come back as `new`, not `stale`.
        self.increment("e", CROP, v2, (n, 0, 0))
        self.increment("e", STT, v2, (n, 0, 0))


def child_main(n: int, repeat: int, output: Path, hash_name: str, deps_select: str) -> int:
    import resource

    import duckdb
    import metaxy as mx

    if mx.__version__ != VERSION:
        raise SystemExit(f"expected metaxy {VERSION} in {sys.executable}, found {mx.__version__}")
    warnings.filterwarnings("ignore", message="AUTO_CREATE_TABLES")
    mx.MetaxyConfig.set(mx.MetaxyConfig(project="overview"))
    sys.path.insert(0, str(HERE))
    from bench_engine import generate  # the same inputs as bench_engine.py (cached)

    log(f"N={n:,}: input data")
    files = generate(n)
    with tempfile.TemporaryDirectory(dir=DATA, prefix=f"ref-{n}-") as workdir:
        run = Run(n, repeat, files, Path(workdir), hash_name, deps_select)
        run.run()
        size = run.database.stat().st_size
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    versions = {"metaxy": mx.__version__, "duckdb": duckdb.__version__}
    output.write_text(json.dumps({"rows": run.rows, "problems": run.problems, "peak_rss": peak, "store_bytes": size, "versions": versions}))
    return 1 if run.problems else 0


# ---- driver (parent side) --------------------------------------------------------------------------


def run_size(python: Path, n: int, options: argparse.Namespace) -> dict[str, Any]:
    """One size in a child process under the reference's interpreter."""
    with tempfile.NamedTemporaryFile(suffix=".json") as handle:
        command = [str(python), __file__, "--child", str(n), "--repeat", str(options.repeat), "--json", handle.name]
        command += ["--hash", options.hash, "--deps-select", options.deps_select]
        start = time.perf_counter()
        status = subprocess.run(command).returncode
        result = json.loads(Path(handle.name).read_text() or "{}")
    return result | {"wall": time.perf_counter() - start, "exit": status}


def markdown(results: dict[int, dict[str, Any]]) -> str:
    lines = ["| step | operation | N | seconds (best) | rows | new / stale / orphaned |", "|---|---|---:|---:|---:|---|"]
    for n, result in results.items():
        for row in result.get("rows", []):
            lines.append(f"| {row['step']} | {row['what']} | {n:,} | {row['seconds']:.3f} | {row['rows']:,} | {row['counts']} |")
    lines += ["", "| N | peak RSS | store file | child wall |", "|---:|---:|---:|---:|"]
    for n, result in results.items():
        lines.append(f"| {n:,} | {result.get('peak_rss', 0) / 1e9:.2f} GB | {result.get('store_bytes', 0) / 1e6:.1f} MB | {result['wall']:.0f} s |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from harness import machine, sizes_parser

    parser = sizes_parser(__doc__.splitlines()[0], "repetitions per step; the best is kept")
    parser.add_argument("--hash", default="md5", help="the store's hash_algorithm: md5 (default, as ours) or xxhash32 "
                        "(the reference's DuckDB default; needs DuckDB's community extension repository)")  # fmt: skip
    parser.add_argument("--deps-select", choices=("all", "system"), default="all",
                        help="FeatureDep columns: all (the reference's default) or system (select=(): only Metaxy's)")  # fmt: skip
    options = parser.parse_args(argv)
    if options.child:
        return child_main(options.child, options.repeat, options.json, options.hash, options.deps_select)
    python = ensure_refvenv()
    load = "%.1f %.1f %.1f" % os.getloadavg()
    results = {int(n): run_size(python, int(n), options) for n in options.sizes.split(",")}
    versions = next((r["versions"] for r in results.values() if "versions" in r), {})
    print(f"Machine: {machine()}; metaxy {versions.get('metaxy', '?')} (reference), DuckDB {versions.get('duckdb', '?')}; "
          f"hash {options.hash}, FeatureDep columns {options.deps_select}; best of {options.repeat}; "
          f"load average {load} before, {'%.1f %.1f %.1f' % os.getloadavg()} after.\n")  # fmt: skip
    print(markdown(results))
    if options.json:
        options.json.write_text(json.dumps({str(n): r for n, r in results.items()}, indent=1))
    problems = [p for r in results.values() for p in r.get("problems", [])]
    problems += [f"N={n}: exit {r['exit']}" for n, r in results.items() if r["exit"]]
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
