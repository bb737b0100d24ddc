"""Benchmark of the feature-graph part: start-up, and validate + versions + Mermaid on big graphs.

Every figure is a whole `metaxy` process (wall time and peak RSS from os.wait4), repeated, with
the median and the worst run reported. Targets (issue: feature graph): `metaxy --help` and
`metaxy validate` on examples/overview under 150 ms; 10,000 features (3 fields, 2 deps each)
validated, versioned and rendered as Mermaid under 3 s and 500 MB.

    python benchmarks/bench_graph.py                 # all rows, markdown table on stdout
    python benchmarks/bench_graph.py --runs 3 --sizes 300 10000
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_graph import generate_project

REPO = Path(__file__).resolve().parent.parent
OVERVIEW = REPO / "examples" / "overview"


def metaxy_command() -> list[str]:
    """The installed `metaxy` script next to this Python, else `python -m metaxy_cli`."""
    script = Path(sys.executable).with_name("metaxy")
    return [str(script)] if script.exists() else [sys.executable, "-m", "metaxy_cli"]


COLD = {**os.environ, "METAXY_NO_CACHE": "1"}  # every run parses and validates all YAML


def run_once(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS in MB) of one process; output discarded, failure is fatal."""
    start = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {process.stderr.read().decode()}")
    process.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # ru_maxrss: KiB on Linux


def measure(args: list[str], runs: int, env: dict[str, str] | None = None) -> dict[str, float]:
    run_once(args, env)  # warm-up: file cache, .pyc files, and the document cache unless COLD
    samples = [run_once(args, env) for _ in range(runs)]
    walls = [wall for wall, _, _ in samples]
    return {
        "median": statistics.median(walls),
        "max": max(walls),
        "cpu": statistics.median(cpu for _, cpu, _ in samples),
        "rss": max(rss for _, _, rss in samples),
    }


def machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def rows(sizes: list[int], runs: int, workdir: Path) -> list[tuple[str, dict[str, float], str]]:
    metaxy = metaxy_command()
    found = [
        ("`metaxy --help`", measure(metaxy + ["--help"], runs * 2), "< 0.150 s"),
        ("`metaxy validate` (overview)", measure(metaxy + ["--project", str(OVERVIEW), "validate"], runs * 2), "< 0.150 s"),
    ]
    for size in sizes:
        project = workdir / f"g{size}"
        generate_project(project, features=size, fields=3, deps=2, seed=0)
        target = "< 3 s, < 500 MB" if size == 10_000 else ""
        validate = metaxy + ["--project", str(project), "validate"]
        render = metaxy + ["--project", str(project), "render", "--format", "mermaid"]
        found.append((f"{size:,} features: `validate`, cold", measure(validate, runs, COLD), ""))
        found.append((f"{size:,} features: `validate`, cached documents", measure(validate, runs), ""))
        found.append((f"{size:,} features: validate + versions + Mermaid, cold", measure(render, runs, COLD), target))
        found.append((f"{size:,} features: validate + versions + Mermaid, cached documents", measure(render, runs), target))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="counted runs per row (start-up rows: twice as many)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 1000, 10_000], help="graph sizes (features)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="metaxy-bench-"))
    try:
        table = rows(args.sizes, args.runs, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"Machine: {machine()}; {args.runs} runs per row after a warm-up.")
    print("cold: METAXY_NO_CACHE=1, every YAML file parsed and checked against the JSON Schema;")
    print("cached documents: unchanged files come from .metaxy/cache (the usual case between runs).\n")
    print("| what | median wall | worst wall | median CPU | peak RSS | target |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for name, fig, target in table:
        print(f"| {name} | {fig['median']:.3f} s | {fig['max']:.3f} s | {fig['cpu']:.3f} s | {fig['rss']:.0f} MB | {target} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
