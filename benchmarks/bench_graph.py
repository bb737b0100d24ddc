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
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_graph import generate_project  # noqa: E402
from harness import COLD, machine, measure, metaxy_command  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
OVERVIEW = REPO / "examples" / "overview"


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
        found.append((f"{size:,} features: `validate`, cold", measure(validate, runs, env=COLD), ""))
        found.append((f"{size:,} features: `validate`, cached documents", measure(validate, runs), ""))
        found.append((f"{size:,} features: validate + versions + Mermaid, cold", measure(render, runs, env=COLD), target))
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
