"""Benchmark of `metaxy diff` and `metaxy plan` between git revisions on big generated graphs.

For each size a random project (benchmarks/generate_graph.py) is committed to a fresh git
repository, then a second commit bumps the code_version of a few fields spread over the graph
(the usual shape of a pull request). Each figure is a whole `metaxy` process: wall time, CPU time
(user + system, which a busy shared machine inflates less than wall time) and peak RSS, from
os.wait4, repeated; the median and the worst run are reported. Target (issue: diff and plan):
`metaxy diff HEAD~1` on 10,000 features under 5 s.

    python benchmarks/bench_diff.py                       # markdown table on stdout
    python benchmarks/bench_diff.py --runs 5 --sizes 10000 --bumps 3
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_graph import generate_project  # noqa: E402
from harness import COLD, WARM, machine, measure, metaxy_command  # noqa: E402

GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@metaxy.invalid", "-c", "commit.gpgsign=false"]
CODE_VERSION = re.compile(r'code_version: "([^"]*)"')


def bump_code_versions(project: Path, bumps: int) -> list[str]:
    """Change the first code_version of `bumps` feature files, spread over the graph's files."""
    files = sorted((project / "features").glob("*.yaml"))
    chosen = [files[i * len(files) // bumps] for i in range(bumps)] if bumps <= len(files) else files
    changed = []
    for path in chosen:
        text = path.read_text(encoding="utf-8")
        match = CODE_VERSION.search(text)
        assert match is not None
        text = text[: match.start()] + f'code_version: "{match[1]}-bumped"' + text[match.end():]
        path.write_text(text, encoding="utf-8")
        changed.append(path.name)
    return changed


def make_repo(folder: Path, features: int, bumps: int, seed: int) -> Path:
    generate_project(folder, features, fields=3, deps=2, seed=seed)
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=folder, check=True)
    subprocess.run([*GIT, "commit", "-q", "-m", "generated graph"], cwd=folder, check=True)
    bump_code_versions(folder, bumps)
    subprocess.run([*GIT, "commit", "-q", "-am", f"bump {bumps} code_versions"], cwd=folder, check=True)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000], help="feature counts")
    parser.add_argument("--runs", type=int, default=3, help="runs per command (default 3)")
    parser.add_argument("--bumps", type=int, default=5, help="code_versions bumped by the second commit")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    metaxy = metaxy_command()
    rows = []
    with tempfile.TemporaryDirectory(prefix="metaxy-bench-diff-") as tmp:
        for size in args.sizes:
            repo = make_repo(Path(tmp) / f"g{size}", size, args.bumps, args.seed)
            commands = {
                "diff HEAD~1 (text), cold": ([*metaxy, "diff", "HEAD~1"], (0,), COLD),
                "diff HEAD~1 (text)": ([*metaxy, "diff", "HEAD~1"], (0,)),
                "diff HEAD~1 HEAD --format json": ([*metaxy, "diff", "HEAD~1", "HEAD", "--format", "json"], (0,)),
                "plan --base HEAD~1 --detailed-exitcode": ([*metaxy, "plan", "--base", "HEAD~1", "--detailed-exitcode"], (2,)),
                "validate (one load, for reference)": ([*metaxy, "validate"], (0,)),
            }
            for name, (command, codes, *env) in commands.items():
                result = measure(command, args.runs, cwd=repo, ok_codes=codes, env=env[0] if env else WARM)
                rows.append((size, name, result))
                print(f"{size:>6} {name}: median {result['median']:.2f} s", file=sys.stderr)
    print(f"Machine: {machine()}. {args.runs} runs each after a warm-up; {args.bumps} code_versions bumped.")
    print("cold: METAXY_NO_CACHE=1 (every YAML file of both sides parsed and checked, as on a fresh CI")
    print("clone); other rows: unchanged files come from the project's document cache.\n")
    print("| features | command | median wall | worst wall | CPU (median) | peak RSS |")
    print("|---:|---|---:|---:|---:|---:|")
    for size, name, r in rows:
        print(f"| {size:,} | `metaxy {name}` | {r['median']:.2f} s | {r['max']:.2f} s | {r['cpu']:.2f} s | {r['rss']:.0f} MB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
