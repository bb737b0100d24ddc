"""What every benchmark script shares: whole-process timing, the machine line, the metaxy command."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

# Installed packages have compiled bytecode; this sandbox sets PYTHONDONTWRITEBYTECODE, which would
# make every run recompile metaxy's modules and count that as start-up time.
WARM = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
COLD = {**WARM, "METAXY_NO_CACHE": "1"}  # every run parses and validates all YAML


def metaxy_command() -> list[str]:
    """The installed `metaxy` script next to this Python, else `python -m metaxy_cli`."""
    script = Path(sys.executable).with_name("metaxy")
    return [str(script)] if script.exists() else [sys.executable, "-m", "metaxy_cli"]


def run_once(
    args: list[str], *, cwd: Path | None = None, env: dict[str, str] = WARM, ok_codes: tuple[int, ...] = (0,)
) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one process; output discarded, an unexpected exit is fatal."""
    start = time.perf_counter()
    process = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    assert process.stderr is not None
    if code not in ok_codes:
        raise SystemExit(f"{' '.join(args)} exited {code}: {process.stderr.read().decode()}")
    process.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # ru_maxrss: KiB on Linux


def measure(args: list[str], runs: int, **options) -> dict[str, float]:
    """Median and worst wall, median CPU, peak RSS over `runs` runs after one warm-up run
    (file cache, .pyc files, and the document cache unless `env=COLD`)."""
    run_once(args, **options)
    samples = [run_once(args, **options) for _ in range(runs)]
    walls, cpus, rss = zip(*samples)
    return {"median": statistics.median(walls), "max": max(walls), "cpu": statistics.median(cpus), "rss": max(rss)}


def cpu_model() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """CPU model, cores, Python and OS, for the line above each results table."""
    return f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def sizes_parser(description: str, repeat_help: str) -> argparse.ArgumentParser:
    """The options of a benchmark run once per N in a child process of its own (--child N)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated N (default 100000,1000000)")
    parser.add_argument("--repeat", type=int, default=3, help=repeat_help)
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    return parser
