"""`metaxy migrate apply` killed with SIGKILL in the middle of a 1M-sample feature: the store shows
the state before the migration, and the next apply completes it (issue 14)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from metaxy_cli.store.duckdb import DuckDBStore

pytestmark = pytest.mark.slow
METAXY = [sys.executable, "-m", "metaxy_cli"]
ROWS = 1_000_000


def contents(database: Path) -> dict[str, list[tuple]]:
    with DuckDBStore.open(database) as store:
        tables = ["example__crop", "example__crop__history", "metaxy_writes"]
        tables += [t for t in ("metaxy_migrations",) if store.table_exists(t)]
        return {t: sorted(store.fetch_all(f'SELECT * FROM "{t}"'), key=repr) for t in tables}


def test_kill_during_migrate_apply(overview_dir: Path, tmp_path: Path) -> None:
    listing = tmp_path / "videos.parquet"
    connection = duckdb.connect()
    connection.execute(
        f"COPY (SELECT 'v' || i AS sample_uid, '/v/' || i AS path, md5('a' || i) AS audio_sha, "
        f"md5('f' || i) AS frames_sha, i AS frames, i / 7 AS duration, i * 10 AS size "
        f"FROM range({ROWS}) t(i)) TO '{listing}' (FORMAT PARQUET)"
    )
    connection.close()
    base = [*METAXY, "--project", str(overview_dir)]
    todo = tmp_path / "crop.parquet"
    for command in (["write", "example/video", str(listing)], ["increment", "example/crop", "--output", str(todo)],
                    ["write", "example/crop", str(todo)]):  # fmt: skip
        subprocess.run([*base, *command], check=True)
    processing = overview_dir / "features" / "processing.yaml"
    old = processing.read_text()
    processing.write_text(old.replace('key: frames\n        code_version: "1"', 'key: frames\n        code_version: "2"'))
    push = subprocess.run([*base, "push"], check=True, capture_output=True, text=True)
    assert "recorded snapshot" in push.stdout
    # The old side: the snapshot the first write recorded.
    [first] = [line.split()[2] for line in subprocess.run([*base, "history"], check=True, capture_output=True, text=True).stdout.splitlines()[:1]]
    subprocess.run([*base, "migrate", "new", "refactor", "--from", f"snapshot:{first}", "--feature", "example/crop"], check=True)

    database = overview_dir / ".metaxy" / "metadata.duckdb"
    before = contents(database)
    size = database.stat().st_size
    process = subprocess.Popen([*base, "migrate", "apply"])
    deadline = time.monotonic() + 120
    while database.stat().st_size <= size + (1 << 20) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "the migration finished before it could be interrupted"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert contents(database) == before

    status = subprocess.run([*base, "migrate", "status"], check=True, capture_output=True, text=True)
    assert status.stdout.startswith("pending")
    applied = subprocess.run([*base, "migrate", "apply"], check=True, capture_output=True, text=True)
    assert f"example/crop.frames: reconciled {ROWS} sample(s)" in applied.stdout
    summary = subprocess.run([*base, "status", "example/crop", "--format", "json"], check=True, capture_output=True, text=True)
    assert '"up_to_date": 1000000' in summary.stdout
