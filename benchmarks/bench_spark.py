#!/usr/bin/env python3
"""The Spark store on the overview story, next to DuckDB, with a hand-written PySpark floor.

Per N, in a child process (its own JVM, so peak memory is its own), through the real API:
the root write from Parquet (read by Spark), each feature's increment written by Spark to a
Parquet folder and written back from it, a 1% rewrite of the videos, crop's 1%-change increment,
the same increment computed by a hand-written PySpark job (the floor: read the Parquet logs,
latest row per id, md5 the same strings, full join, filter; no metaxy code), crop's write-back,
the no-op increment after it, and a 1% delete. The same steps run on DuckDB for the ratio.
Peak memory: the Python driver's RSS and the JVM's (driver and local executors in one process).

    python benchmarks/bench_spark.py --sizes 100000,1000000 [--master local[2]] [--conf k=v ...]
    python benchmarks/bench_spark.py --master spark://host:7077 --path /mnt/shared/bench ...
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import CROP, DATA, FACES, OVERVIEW, STT, VIDEO, generate, log, machine

FLOOR = "hand-written PySpark increment (floor)"
INCREMENT_1 = f"increment {CROP} after 1% -> parquet"
NOOP = f"increment {CROP}, no-op (count)"


def story(backend: str, n: int, files: dict[str, Path], workdir: Path, master: str, conf: dict[str, str]) -> dict[str, float]:
    """Seconds per step on a fresh store of `backend` ("duckdb" or "spark")."""
    from metaxy_cli import engine
    from metaxy_cli.definitions.loader import load_project
    from metaxy_cli.store.duckdb import DuckDBStore
    from metaxy_cli.store.spark import SparkStore

    project = load_project(OVERVIEW)
    timings: dict[str, float] = {}
    outputs = iter(range(1_000))

    def timed(step: str, action):
        start = time.perf_counter()
        result = action()
        timings[step] = time.perf_counter() - start
        log(f"N={n:,} {backend} {step}: {timings[step]:.2f} s")
        return result

    def todo(key: str) -> Path:
        """Where an increment goes: a folder of parts on Spark, one file on DuckDB."""
        name = f"todo-{backend}-{next(outputs)}"
        return workdir / (name if backend == "spark" else name + ".parquet")

    if backend == "spark":
        start = time.perf_counter()
        store = SparkStore.open(workdir / "spark", name="bench", master=master, conf=conf)
        timings["open (JVM start)"] = time.perf_counter() - start
    else:
        store = DuckDBStore.open(workdir / "store.duckdb")
    jvm = _jvm_pid(store)
    with store:
        timed(f"write {VIDEO} (root)", lambda: engine.write(project, store, VIDEO, files["videos"]))
        for key in (CROP, FACES, STT):
            target = todo(key)
            timed(f"increment {key} -> parquet (all new)", lambda k=key, t=target: engine.increment(project, store, k).write_to(t, "parquet"))
            timed(f"write {key} (write-back)", lambda k=key, t=target: engine.write(project, store, k, t))
        timed(f"write {VIDEO}, 1% changed", lambda: engine.write(project, store, VIDEO, files["changed"]))
        timed(f"status of {CROP} after 1% (summary)", lambda: engine.summary(project, store, CROP))
        target = todo(CROP)
        rows = timed(INCREMENT_1, lambda: engine.increment(project, store, CROP).write_to(target, "parquet"))
        if backend == "spark":  # the floor, then both again: the second runs compare warm JITs
            for suffix in ("", " (again)"):
                floor = workdir / f"floor{suffix.strip(' ()')}"
                floor_rows = timed(FLOOR + suffix, lambda f=floor: floor_increment(store.session, workdir / "spark", f))
                assert floor_rows == rows, (floor_rows, rows)
                if not suffix:
                    again = todo(CROP)
                    timed(INCREMENT_1 + " (again)", lambda a=again: engine.increment(project, store, CROP).write_to(a, "parquet"))
        timed(f"write {CROP} (1% write-back)", lambda: engine.write(project, store, CROP, target))
        left = timed(NOOP, lambda: len(engine.increment(project, store, CROP)))
        assert left == 0, left
        summary = timed(f"status of {CROP}, no-op (summary)", lambda: engine.summary(project, store, CROP))
        assert summary.pending == 0, summary
        timed(f"delete 1% of {CROP}", lambda: engine.delete(project, store, CROP, ids=files["changed"]))
        if jvm is not None:
            timings["jvm_peak_rss"] = _peak_rss(jvm)
    return timings


def _jvm_pid(store) -> int | None:
    """The JVM PySpark started (driver and local executors), if this process started it."""
    gateway = getattr(getattr(store, "session", None), "sparkContext", None)
    process = getattr(getattr(gateway, "_gateway", None), "proc", None)
    return process.pid if process is not None else None


def _peak_rss(pid: int) -> float:
    """A live process's peak resident memory (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return float(line.split()[1]) * 1024
    return 0.0


def floor_increment(spark, root: Path, output: Path) -> int:
    """crop's increment by hand: what a data engineer would write in PySpark for this one
    feature (no fast path, no write log: every committed partition of the two logs is read)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    def current(table: str):
        rows = spark.read.parquet(str(root / table))
        latest = Window.partitionBy("sample_uid").orderBy(F.col("metaxy_write_id").desc())
        ranked = rows.withColumn("rank", F.row_number().over(latest))
        return ranked.where("rank = 1 AND NOT coalesce(metaxy_deleted, false)")

    def provenance(field: str):
        parent = F.coalesce(F.col(f"metaxy_data_version__{field}"), F.col(f"metaxy_provenance__{field}"), F.lit(""))
        return F.md5(F.concat(F.lit(f'["example/crop.{field}","1"]|example/video.{field}='), parent))

    expected = current("example__video").select("sample_uid", provenance("audio").alias("a"), provenance("frames").alias("f"))
    stored = current("example__crop").select(
        "sample_uid", F.col("metaxy_provenance__audio").alias("sa"), F.col("metaxy_provenance__frames").alias("sf")
    )
    joined = expected.join(stored, "sample_uid", "full")
    stale_a = F.col("sa").isNull() | (F.col("a") != F.col("sa"))
    stale_f = F.col("sf").isNull() | (F.col("f") != F.col("sf"))
    todo = joined.where(F.col("a").isNotNull() & (stale_a | stale_f)).select(
        "sample_uid",
        F.when(F.col("sa").isNull(), "new").otherwise("stale").alias("metaxy_status"),
        F.col("a").alias("metaxy_provenance__audio"),
        F.col("f").alias("metaxy_provenance__frames"),
        F.md5(F.concat_ws("|", "a", "f")).alias("metaxy_provenance"),
        stale_a.alias("metaxy_stale__audio"),
        stale_f.alias("metaxy_stale__frames"),
    )
    todo.write.parquet(str(output))
    return spark.read.parquet(str(output)).count()


def child(n: int, backend: str, master: str, conf: dict[str, str], path: str | None, output: Path) -> int:
    files = generate(n)
    base = Path(path) if path else DATA
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base, prefix=f"spark-{n}-") as workdir:
        timings = story(backend, n, files, Path(workdir), master, conf)
    driver = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    jvm = timings.pop("jvm_peak_rss", 0.0)
    output.write_text(json.dumps({"timings": timings, "driver_rss": driver, "jvm_rss": jvm}))
    return 0


def run(n: int, backend: str, master: str, conf: dict[str, str], path: str | None) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as handle:
        command = [sys.executable, __file__, "--child", str(n), "--backend", backend, "--master", master, "--json", handle.name]
        command += [arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")]
        command += ["--path", path] if path else []
        subprocess.run(command, check=True)
        return json.loads(Path(handle.name).read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--master", default="local[2]", help="Spark master URL (default local[2])")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE", help="a Spark setting (repeatable)")
    parser.add_argument("--path", help="folder for the stores (on a cluster: one every executor sees)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="spark", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    conf = dict(item.split("=", 1) for item in options.conf)
    if options.child:
        return child(options.child, options.backend, options.master, conf, options.path, options.json)
    info = machine()
    import pyspark

    results = {}
    for n in (int(size) for size in options.sizes.split(",")):
        results[n] = {backend: run(n, backend, options.master, conf, options.path) for backend in ("duckdb", "spark")}
    print(f"Machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM, Python {info['python']}, DuckDB {info['duckdb']}, "
          f"Spark {pyspark.__version__} on {options.master}; load average {info['load']} before.\n")  # fmt: skip
    print("| N | step | Spark | DuckDB | Spark / DuckDB |")
    print("|---:|---|---:|---:|---:|")
    for n, by_backend in results.items():
        spark, duck = by_backend["spark"], by_backend["duckdb"]
        for step, seconds in spark["timings"].items():
            other = duck["timings"].get(step)
            ratio = f"{seconds / other:.1f}x" if other else ""
            print(f"| {n:,} | {step} | {seconds:.2f} s | {f'{other:.2f} s' if other else ''} | {ratio} |")
        times = spark["timings"]
        ratio = times[INCREMENT_1 + " (again)"] / times[FLOOR + " (again)"]
        print(f"| {n:,} | crop 1% increment: ours / floor (second runs) | {ratio:.2f}x | | |")
        print(f"| {n:,} | peak RSS: Python driver / JVM | {spark['driver_rss'] / 2**20:.0f} MB / {spark['jvm_rss'] / 2**20:.0f} MB "
              f"| {duck['driver_rss'] / 2**20:.0f} MB | |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
