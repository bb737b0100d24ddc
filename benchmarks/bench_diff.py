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
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_graph import generate_project  # noqa: E402

GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@metaxy.invalid", "-c", "commit.gpgsign=false"]
CODE_VERSION = re.compile(r'code_version: "([^"]*)"')


def metaxy_command() -> list[str]:
    """The installed `metaxy` script next to this Python, else `python -m metaxy_cli`."""
    script = Path(sys.executable).with_name("metaxy")
    return [str(script)] if script.exists() else [sys.executable, "-m", "metaxy_cli"]


def run_once(args: list[str], cwd: Path, ok_codes: tuple[int, ...] = (0,)) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one process; output discarded, failure is fatal."""
    start = time.perf_counter()
    process = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in ok_codes:
        raise SystemExit(f"{' '.join(args)} exited {code}: {process.stderr.read().decode()}")  # type: ignore[union-attr]
    process.stderr.close()  # type: ignore[union-attr]
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


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


def measure(args: list[str], cwd: Path, runs: int, ok_codes: tuple[int, ...] = (0,)) -> dict[str, float]:
    samples = [run_once(args, cwd, ok_codes) for _ in range(runs)]
    walls, cpus, rss = zip(*samples)
    return {"median": statistics.median(walls), "worst": max(walls), "cpu": statistics.median(cpus), "rss": max(rss)}


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


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
                "diff HEAD~1 (text)": ([*metaxy, "diff", "HEAD~1"], (0,)),
                "diff HEAD~1 HEAD --format json": ([*metaxy, "diff", "HEAD~1", "HEAD", "--format", "json"], (0,)),
                "plan --base HEAD~1 --detailed-exitcode": ([*metaxy, "plan", "--base", "HEAD~1", "--detailed-exitcode"], (2,)),
                "validate (one load, for reference)": ([*metaxy, "validate"], (0,)),
            }
            for name, (command, codes) in commands.items():
                result = measure(command, repo, args.runs, codes)
                rows.append((size, name, result))
                print(f"{size:>6} {name}: median {result['median']:.2f} s", file=sys.stderr)
    print(f"Machine: {machine()}. {args.runs} runs each; {args.bumps} code_versions bumped.\n")
    print("| features | command | median wall | worst wall | CPU (median) | peak RSS |")
    print("|---:|---|---:|---:|---:|---:|")
    for size, name, r in rows:
        print(f"| {size:,} | `metaxy {name}` | {r['median']:.2f} s | {r['worst']:.2f} s | {r['cpu']:.2f} s | {r['rss']:.0f} MB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
