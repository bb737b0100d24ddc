#!/usr/bin/env python3
"""Whole-graph plan benchmark (issue 13): `engine.plan` against the per-feature work it predicts.

  (overview) the overview graph at N samples on DuckDB, every feature computed, then 1% of the
      audio rewritten: the whole-graph plan, timed against crop's, stt's and face_detection's
      summaries (the per-feature answers it replaces) in the same run;
  (graph) synthetic graphs of F features (benchmarks/generate_graph.py) with S samples per root,
      every feature computed, then 1% of one root's rows rewritten: the plan's time per F.

Interleaved repetitions, best kept. The plan's counts are checked against the summaries.

    python benchmarks/bench_plan.py --overview 1000000 --graphs 50,100,200 --samples 10000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
VIDEO, CROP, FACES, STT = "example/video", "example/crop", "example/face_detection", "example/stt"


def best(action, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return min(times), result


def compute_all(project, store) -> None:
    from metaxy_cli import engine

    for key, spec in project.features.items():
        if spec.is_root:
            continue
        todo = engine.increment(project, store, key).to_arrow()
        engine.write(project, store, key, todo.select([*spec.id_columns, "metaxy_provenance"]), partial=True)


def overview(n: int, repeat: int) -> None:
    from bench_engine import generate

    from metaxy_cli import engine
    from metaxy_cli.definitions.loader import load_project
    from metaxy_cli.store.duckdb import DEFAULT_MEMORY_LIMIT, DuckDBStore

    files = generate(n)
    project = load_project(HERE.parent / "examples" / "overview")
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as folder:
        path = Path(folder) / "s.duckdb"
        with DuckDBStore.open(path, memory_limit="4GB") as store:
            engine.write(project, store, VIDEO, files["videos"])
            compute_all(project, store)
            engine.write(project, store, VIDEO, files["changed"])
        # Timed on the store opened again, as `metaxy plan` and `status` open it (the building
        # process's buffers and memory made every answer up to 2x slower at 10M).
        with DuckDBStore.open(path, memory_limit=DEFAULT_MEMORY_LIMIT) as store:
            timed(project, store, n, Path(folder) / "increment.parquet", repeat)


def timed(project, store, n: int, out: Path, repeat: int) -> None:
    """The plan, and the summaries and increments it replaces, interleaved; one row each."""
    from bench_engine import best_of

    from metaxy_cli import engine

    variants = {"plan": lambda: engine.plan(project, store)}
    for key in (CROP, STT, FACES):
        variants[f"summary {key}"] = lambda key=key: engine.summary(project, store, key)
        variants[f"increment {key}"] = lambda key=key: engine.increment(project, store, key).write_to(out, "parquet")
    results = best_of(variants, repeat)
    plan_s, predicted = results["plan"]
    by_key = {p.key: p for p in predicted}
    for key in (CROP, STT, FACES):
        summary = results[f"summary {key}"][1]
        assert (by_key[key].new, by_key[key].stale) == (summary.new, summary.stale) or key == FACES, key
    for kind in ("summary", "increment"):
        times = {key: results[f"{kind} {key}"][0] for key in (CROP, STT, FACES)}
        total, slowest = sum(times.values()), max(times.values())
        print(f"| overview | {n:,} | plan {plan_s:.2f} s | {kind} crop {times[CROP]:.2f} s, stt {times[STT]:.2f} s, "
              f"face_detection {times[FACES]:.2f} s (sum {total:.2f} s, slowest {slowest:.2f} s) | plan / sum {plan_s / total:.2f} |")  # fmt: skip


def graph(features: int, samples: int, repeat: int) -> None:
    import duckdb

    from generate_graph import generate_project
    from metaxy_cli import engine
    from metaxy_cli.definitions.loader import load_project
    from metaxy_cli.store.duckdb import DuckDBStore

    with tempfile.TemporaryDirectory(prefix="bench-plan-graph-") as folder:
        root = Path(folder) / "project"
        generate_project(root, features, 2, 2, 0)
        project = load_project(root)
        connection = duckdb.connect()
        with DuckDBStore.open(Path(folder) / "s.duckdb") as store:
            roots = [key for key, spec in project.features.items() if spec.is_root]
            for key in roots:
                engine.write(project, store, key, _root_rows(connection, project.features[key], samples, 0))
            started = time.perf_counter()
            compute_all(project, store)
            setup = time.perf_counter() - started
            engine.write(project, store, roots[0], _root_rows(connection, project.features[roots[0]], samples // 100, 1))
            plan_s, predicted = best(lambda: engine.plan(project, store), repeat)
            pending = sum(p.new + p.stale for p in predicted)
            print(f"| graph | {features} features x {samples:,} samples | plan {plan_s:.2f} s | {pending:,} samples to compute "
                  f"in {sum(1 for p in predicted if p.new + p.stale)} features | computing everything first: {setup:.1f} s |")  # fmt: skip


def _root_rows(connection, spec, samples: int, salt: int):
    """`samples` rows of a root: every declared column filled, deterministic values (salted)."""
    kinds = {"string": f"'v' || (i + {salt})", "integer": f"i + {salt}", "double": f"(i + {salt}) / 7.0",
             "boolean": f"(i + {salt}) % 2 = 0"}  # fmt: skip
    columns = ", ".join(f'{kinds.get(c.type, "NULL")} AS "{c.name}"' for c in spec.columns if c.name not in spec.id_columns)
    select = f"SELECT 's' || i AS sample_uid{', ' + columns if columns else ''} FROM range({samples}) t(i)"
    return connection.sql(select).arrow()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--overview", default="1000000", help="comma-separated N for the overview graph ('' to skip)")
    parser.add_argument("--graphs", default="50,100,200", help="comma-separated feature counts ('' to skip)")
    parser.add_argument("--samples", type=int, default=10_000, help="samples per root feature of the synthetic graphs")
    parser.add_argument("--repeat", type=int, default=2)
    options = parser.parse_args(argv)
    from harness import cpu_model

    print(f"Machine: {cpu_model()}\n")
    print("| graph | size | plan | per-feature work | ratio |")
    print("|---|---:|---:|---|---|")
    for n in filter(None, options.overview.split(",")):
        overview(int(n), options.repeat)
    for count in filter(None, options.graphs.split(",")):
        graph(int(count), options.samples, options.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
