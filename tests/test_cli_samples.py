"""`metaxy write / increment / status / delete / sql` through the CLI, on every store, with the
bad inputs of issue 4: each gives one clear line, exit 1, and leaves the store unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metaxy_cli.store.clickhouse import ClickHouseStore
from metaxy_cli.store.duckdb import DuckDBStore
from metaxy_cli.store.sqlite import SQLiteStore

HEADER = "sample_uid,path,audio_sha,frames_sha,frames,duration,size\n"
STORES = {
    "dev": (".metaxy/metadata.duckdb", DuckDBStore),
    "lite": (".metaxy/metadata.sqlite", SQLiteStore),
    "ch": (".metaxy/clickhouse", ClickHouseStore),
}
LISTINGS = {
    DuckDBStore: "SELECT table_name FROM duckdb_tables() WHERE NOT temporary",
    SQLiteStore: "SELECT name FROM sqlite_master WHERE type = 'table'",
    # What readers see: the views over the feature logs, and the write log that publishes rows
    # (a failed write's unpublished log rows and reserved write id are invisible by design).
    ClickHouseStore: "SELECT name FROM system.tables WHERE database = currentDatabase() AND (engine = 'View' OR name = 'metaxy_writes')",
}


def video_csv(path: Path, count: int = 5, extra: str = "") -> Path:
    lines = [f"v{i},/v/{i}.mp4,a{i}{extra},f{i},{10 + i},{i}.5,{100 * i}\n" for i in range(count)]
    path.write_text(HEADER + "".join(lines))
    return path


@pytest.fixture(params=sorted(STORES))
def project(request, overview_dir: Path, invoke):
    """(project dir, store name, run): `run(*args)` is `metaxy --project DIR ... --store NAME`."""
    name = request.param

    def run(command: str, *args: str, input: str | bytes | None = None):
        return invoke("--project", overview_dir, command, *args, "--store", name, input=input)

    return overview_dir, name, run


def snapshot(directory: Path, store_name: str) -> dict[str, list[tuple]]:
    """Every table of the store with its rows, sorted: what 'store unchanged' compares."""
    relative, backend = STORES[store_name]
    if not (directory / relative).exists():
        return {}
    with backend.open(directory / relative) as store:
        tables = sorted(row[0] for row in store.fetch_all(LISTINGS[backend]))
        return {table: sorted(store.fetch_all(f'SELECT * FROM "{table}"'), key=repr) for table in tables}


def test_write_increment_status_round_trip(project, tmp_path: Path) -> None:
    directory, name, run = project
    result = run("write", "example/video", video_csv(tmp_path / "videos.csv"))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"wrote 5 samples of example/video to store '{name}'\n"
    table = run("increment", "example/crop")
    assert table.stdout.splitlines() == ["sample_uid  status  stale fields"] + [f"v{i}          new     audio,frames" for i in range(5)]
    summary = run("increment", "example/crop", "--summary")
    assert summary.stdout == "example/crop: 5 new, 0 stale, 0 orphaned, 0 up to date\n"
    out = tmp_path / "todo.parquet"
    assert run("increment", "example/crop", "--output", out).stderr == f"wrote 5 samples to {out}\n"
    assert sorted(pq.read_table(out).column("sample_uid").to_pylist()) == [f"v{i}" for i in range(5)]
    assert run("write", "example/crop", out).exit_code == 0
    assert run("increment", "example/crop").stdout == "sample_uid  status\n"
    status = run("status", "--exit-code")
    assert status.exit_code == 1
    assert status.stdout.splitlines() == [
        "example/video: 0 new, 0 stale, 0 orphaned, 5 up to date",
        "example/crop: 0 new, 0 stale, 0 orphaned, 5 up to date",
        "example/face_detection: 5 new, 0 stale, 0 orphaned, 0 up to date",
        "example/stt: 5 new, 0 stale, 0 orphaned, 0 up to date",
        "total: 10 new, 0 stale, 0 orphaned, 10 up to date",
    ]
    assert run("status", "example/crop", "--exit-code").exit_code == 0


def test_increment_formats_and_stdin(project, tmp_path: Path) -> None:
    directory, name, run = project
    source = video_csv(tmp_path / "videos.csv", 3)
    assert run("write", "example/video", "-", input=source.read_bytes()).exit_code == 0
    lines = run("increment", "example/stt", "--format", "jsonl").stdout.splitlines()
    rows = sorted((json.loads(line) for line in lines), key=lambda r: r["sample_uid"])
    assert [(r["sample_uid"], r["metaxy_status"], r["metaxy_stale__transcription"]) for r in rows] == [
        ("v0", "new", True), ("v1", "new", True), ("v2", "new", True),
    ]  # fmt: skip
    assert all(len(r["metaxy_provenance"]) == 32 for r in rows)
    csv = run("increment", "example/stt", "--format", "csv").stdout.splitlines()
    assert csv[0] == "sample_uid,metaxy_status,metaxy_provenance__transcription,metaxy_provenance,metaxy_stale__transcription,metaxy_as_of"
    assert len(csv) == 4
    changed = video_csv(tmp_path / "listing.csv", 4, extra="")
    listing = run("increment", "example/video", "--input", changed, "--summary")
    assert listing.stdout == "example/video: 1 new, 0 stale, 0 orphaned, 3 up to date\n"


def test_delete_by_ids_and_where(project, tmp_path: Path) -> None:
    directory, name, run = project
    run("write", "example/video", video_csv(tmp_path / "videos.csv"))
    (tmp_path / "gone.csv").write_text("sample_uid\nv1\nv9\n")
    assert run("delete", "example/video", "--ids", tmp_path / "gone.csv").stderr == "deleted 1 samples of example/video\n"
    assert run("delete", "example/video", "--where", "frames >= 13").stderr == "deleted 2 samples of example/video\n"
    assert run("status", "example/video").stdout.startswith("example/video: 0 new, 0 stale, 0 orphaned, 2 up to date")
    bad = run("delete", "example/video", "--where", "frames >=")
    assert bad.exit_code == 1 and bad.stderr.startswith("Error: example/video: invalid --where condition")
    before = snapshot(directory, name)
    unknown = run("delete", "example/video", "--where", "frame >= 13")
    assert (unknown.exit_code, unknown.stderr) == (1, (
        "Error: example/video: --where 'frame >= 13' refers to unknown column 'frame' (did you mean 'frames'?)"
        " (columns: sample_uid, path, audio_sha, frames_sha, frames, duration, size)\n"
    ))  # fmt: skip
    assert snapshot(directory, name) == before
    assert run("delete", "example/video").exit_code == 2


def test_forged_provenance_is_ignored(project, tmp_path: Path) -> None:
    directory, name, run = project
    honest = video_csv(tmp_path / "videos.csv", 2)
    run("write", "example/video", honest)
    before = snapshot(directory, name)["example__video"]
    forged = tmp_path / "forged.csv"
    lines = honest.read_text().splitlines()
    forged.write_text(lines[0] + ",metaxy_provenance__audio\n" + "".join(line + ",forged\n" for line in lines[1:]))
    assert run("write", "example/video", forged).exit_code == 0
    after = snapshot(directory, name)["example__video"]
    assert [row[:13] for row in after] == [row[:13] for row in before]  # everything but the timestamp


BAD_WRITES = {
    "unknown column": (HEADER.strip() + ",colour\nv0,/p,a,f,1,1.0,1,red\n",
                       "Error: example/video: unknown column 'colour' in {file} (declared: sample_uid, path, audio_sha, frames_sha, frames, duration, size; declare it under `columns` or drop it)"),
    "missing id": ("path,audio_sha\n/p,a\n", "Error: example/video: {file} has no id column 'sample_uid' (id columns: sample_uid)"),
    "wrong type": (HEADER + "v0,/p,a,f,1,1.0,1\nv1,/p,a,f,many,1.0,1\n",
                   "Error: example/video: column 'frames' must be integer, got 'many' in {file} (samples: sample_uid='v1')"),
    "duplicate ids": (HEADER + "v0,/p,a,f,1,1.0,1\nv0,/q,a,f,1,1.0,1\n", "Error: example/video: duplicate ids in {file}: sample_uid='v0' (2 rows)"),
    "empty id": (HEADER + ",/p,a,f,1,1.0,1\n", "Error: example/video: 1 sample(s) in {file} have an empty id column sample_uid (samples: sample_uid=None)"),
    "missing declared columns": ("sample_uid,path,audio_sha\nv0,/p,a\n",
                                 "Error: example/video: {file} lacks declared column(s) frames_sha, frames, duration, size (give every declared column, or write with --partial to keep their stored values)"),
    "empty file": ("", "Error: example/video: {file} is empty: expected a header row with sample_uid, path, audio_sha, frames_sha, frames, duration, size"),
    "blank file": ("\n  \n", "Error: example/video: {file} is empty: expected a header row with sample_uid, path, audio_sha, frames_sha, frames, duration, size"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_WRITES))
def test_bad_write_changes_nothing(project, tmp_path: Path, case: str) -> None:
    directory, name, run = project
    run("write", "example/video", video_csv(tmp_path / "videos.csv", 2))
    before = snapshot(directory, name)
    text, message = BAD_WRITES[case]
    bad = tmp_path / "bad.csv"
    bad.write_text(text)
    result = run("write", "example/video", bad)
    assert (result.exit_code, result.stderr) == (1, message.format(file=bad) + "\n")
    assert snapshot(directory, name) == before


def test_partial_write_keeps_the_stored_values_of_missing_columns(project, tmp_path: Path) -> None:
    """--partial merges the given columns onto the current rows; new samples get NULL for the rest."""
    directory, name, run = project
    run("write", "example/video", video_csv(tmp_path / "videos.csv", 2))
    before = {row[0]: row for row in snapshot(directory, name)["example__video"]}
    (tmp_path / "audio.csv").write_text("sample_uid,audio_sha\nv0,a0-new\nv9,a9\n")
    result = run("write", "example/video", tmp_path / "audio.csv", "--partial")
    assert (result.exit_code, result.stderr) == (0, f"wrote 2 samples of example/video to store {name!r}\n")
    after = {row[0]: row for row in snapshot(directory, name)["example__video"]}
    assert after["v0"][1:7] == (before["v0"][1], "a0-new", *before["v0"][3:7])  # path, frames_sha... kept
    assert after["v1"] == before["v1"]
    assert after["v9"][1:7] == (None, "a9", None, None, None, None)
    status = json.loads(run("status", "--format", "json").stdout)
    video = next(s for s in status["features"] if s["feature"] == "example/video")
    assert video["up_to_date"] == 3 and video["stale"] == 0


def test_ids_without_upstream_rows(project, tmp_path: Path) -> None:
    directory, name, run = project
    run("write", "example/video", video_csv(tmp_path / "videos.csv", 2))
    before = snapshot(directory, name)
    (tmp_path / "crop.csv").write_text("sample_uid\nv0\nv7\n")
    result = run("write", "example/crop", tmp_path / "crop.csv")
    assert result.exit_code == 1
    assert result.stderr == "Error: example/crop: 1 sample(s) have no upstream rows in example/video (samples: sample_uid='v7')\n"
    assert snapshot(directory, name) == before


def test_missing_upstream_and_unknown_feature(project, tmp_path: Path) -> None:
    directory, name, run = project
    (tmp_path / "crop.csv").write_text("sample_uid\nv0\n")
    for args in (("increment", "example/crop"), ("write", "example/crop", tmp_path / "crop.csv")):
        result = run(*args)
        assert (result.exit_code, result.stderr) == (1, f"Error: upstream feature example/video has no data in store '{name}' (write it first)\n")
    assert run("status", "example/stt").stdout.splitlines()[0] == "example/stt: waiting for upstream example/video (no data yet)"
    unknown = run("increment", "example/cropp")
    assert (unknown.exit_code, unknown.stderr) == (1, "Error: unknown feature 'example/cropp' (did you mean 'example/crop'?)\n")
    assert snapshot(directory, name) == {}


def test_corrupt_input_file(project, tmp_path: Path) -> None:
    directory, name, run = project
    run("write", "example/video", video_csv(tmp_path / "videos.csv", 2))
    before = snapshot(directory, name)
    broken = tmp_path / "broken.parquet"
    pq.write_table(pa.table({"sample_uid": ["x"] * 1000}), broken)
    broken.write_bytes(broken.read_bytes()[:-40])
    result = run("write", "example/video", broken)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: example/video: cannot read {broken}: ")
    assert result.stderr.count("\n") == 1
    assert snapshot(directory, name) == before


def test_corrupt_database_file(project, tmp_path: Path) -> None:
    directory, name, run = project
    relative, _ = STORES[name]
    database = directory / relative
    database.parent.mkdir(parents=True)
    database.write_bytes(b"this is not a database" * 100)
    result = run("status")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: cannot open store '{name}' at {database}: ")
    assert result.stderr.count("\n") == 1
    assert database.read_bytes() == b"this is not a database" * 100


def test_store_path_that_cannot_be_opened(overview_dir: Path, invoke, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = invoke("--project", overview_dir, "status", env={"METAXY_DB": str(blocker / "sub" / "db.duckdb")})
    assert result.exit_code == 1
    assert result.stderr == f"Error: cannot open store at {blocker / 'sub' / 'db.duckdb'}: Not a directory\n"
    unknown = invoke("--project", overview_dir, "status", "--store", "devv")
    assert (unknown.exit_code, unknown.stderr) == (1, "Error: unknown store 'devv' (did you mean 'dev'?) (stores: ch, dev, lite, pg, spark)\n")


def test_sql_prints_the_query_for_any_dialect(overview_dir: Path, invoke) -> None:
    result = invoke("--project", overview_dir, "sql", "example/crop", "--dialect", "postgres")
    assert result.exit_code == 0 and result.stdout.startswith("SELECT\n")
    assert "MD5(" in result.stdout
    bad = invoke("--project", overview_dir, "sql", "example/crop", "--dialect", "postgress")
    assert bad.exit_code == 1 and "did you mean 'postgres'" in bad.stderr


def test_write_skips_samples_whose_upstream_moved_on(project, tmp_path: Path) -> None:
    directory, name, run = project
    run("write", "example/video", video_csv(tmp_path / "videos.csv", 2))
    todo = tmp_path / "todo.parquet"
    run("increment", "example/crop", "--output", todo)
    run("write", "example/video", video_csv(tmp_path / "videos2.csv", 1, extra="-new"))  # v0's audio changed
    result = run("write", "example/crop", todo)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"wrote 1 samples of example/crop to store '{name}'",
        "skipped 1 sample(s) whose upstream changed after their increment (samples: sample_uid='v0'): they stay stale",
    ]
    assert run("increment", "example/crop", "--summary").stdout == "example/crop: 1 new, 0 stale, 0 orphaned, 1 up to date\n"
