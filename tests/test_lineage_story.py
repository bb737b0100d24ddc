"""Issue 15's CLI story on examples/lineage, on every store: expansion (video -> clips) and
aggregation (chunks -> video_summary) give exact counts, and the stored provenance equals an
independent Python computation of spec section 7 on every store (so it is byte-identical
across stores)."""

from __future__ import annotations

import json
import uuid
from hashlib import md5
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import metaxy_cli as metaxy
from metaxy_cli.definitions.loader import load_project
from tests.backends import MARKS
from tests.conftest import copy_example

N = 200
STORE_NAMES = {"duckdb": "dev", "sqlite": "lite", "postgres": "pg", "clickhouse": "ch", "spark": "spark"}
CHANGED = ("s013", "s150")


def h(text: str) -> str:
    return md5(text.encode()).hexdigest()


def root(feature: str, field: str, column: str, value: str) -> str:
    return h(f'["{feature}.{field}","1"]|{column}=' + h(value))


def videos(changed: tuple[str, ...] = ()) -> list[dict]:
    return [
        {"sample_uid": f"s{i:03d}", "path": f"/v/{i}.mp4", "frames_sha": f"f{i}",
         "audio_sha": f"a{i}" + ("-v2" if f"s{i:03d}" in changed else "")}
        for i in range(N)
    ]  # fmt: skip


def chunks() -> list[dict]:
    return [{"sample_uid": f"s{i:03d}", "chunk_idx": c, "audio_sha": f"c{i}-{c}"} for i in range(N) for c in range(4)]


def parquet(path: Path, rows: list[dict]) -> Path:
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


@pytest.fixture(params=[pytest.param(b, marks=[MARKS[b]] if b in MARKS else []) for b in STORE_NAMES])
def story(request, tmp_path: Path, invoke, postgres_url_if_needed):
    """(project dir, run): `run(*args)` is `metaxy --project DIR ARGS --store NAME`, asserting exit 0."""
    backend = request.param
    directory = copy_example("lineage", tmp_path)
    env = {}
    if backend == "postgres":
        env = {"METAXY_PG_URL": postgres_url_if_needed(), "METAXY_PG_SCHEMA": f"lineage_{uuid.uuid4().hex[:10]}"}
    if backend == "spark":
        from tests.backends import spark_session

        spark_session()  # CLI stores join the test process's session instead of starting one each

    def run(*args: str, expect: int = 0):
        command, *rest = args
        result = invoke("--project", directory, command, *rest, "--store", STORE_NAMES[backend], env=env)
        assert result.exit_code == expect, result.stderr
        return result

    return directory, run, backend, env


@pytest.fixture
def postgres_url_if_needed(request):
    return lambda: request.getfixturevalue("postgres_url")


def status(run, key: str) -> dict:
    line = json.loads(run("status", key, "--format", "json").stdout)
    found = line["features"][0] if isinstance(line, dict) and "features" in line else line[0]
    return {name: found[name] for name in ("new", "stale", "orphaned", "up_to_date", "stale_fields")}


def increment_rows(run, key: str, folder: Path, *options: str) -> list[dict]:
    target = folder / f"todo-{uuid.uuid4().hex[:6]}.parquet"
    run("increment", key, *options, "--output", str(target))
    return pq.read_table(target).to_pylist()


def clip_rows(parents: list[dict], count: int) -> list[dict]:
    return [
        {"sample_uid": p["sample_uid"], "clip_idx": c, "start_s": 2.0 * c, "end_s": 2.0 * c + 2,
         "metaxy_provenance": p["metaxy_provenance"]}
        for p in parents for c in range(count)
    ]  # fmt: skip


def test_lineage_story(story, tmp_path: Path, monkeypatch) -> None:
    directory, run, backend, env = story
    files = tmp_path / "files"
    files.mkdir()
    run("write", "example/video", str(parquet(files / "videos.parquet", videos())))

    # expansion: 200 new parents; 3 clips each written back
    assert status(run, "example/clips")["new"] == N
    parents = increment_rows(run, "example/clips", files)
    assert len(parents) == N and set(parents[0]) >= {"sample_uid", "metaxy_stale__audio"} and "clip_idx" not in parents[0]
    run("write", "example/clips", str(parquet(files / "clips.parquet", clip_rows(parents, 3))))
    assert status(run, "example/clips") == {"new": 0, "stale": 0, "orphaned": 0, "up_to_date": N, "stale_fields": {"audio": 0, "frames": 0}}

    # 2 videos' audio changes: exactly those 2 parents, stale on audio only
    run("write", "example/video", str(parquet(files / "videos2.parquet", videos(CHANGED))))
    stale = increment_rows(run, "example/clips", files)
    assert sorted((r["sample_uid"], r["metaxy_status"], r["metaxy_stale__audio"], r["metaxy_stale__frames"]) for r in stale) == [
        (uid, "stale", True, False) for uid in CHANGED
    ]
    # s013 is re-cut into 2 clips: its third clip is gone (tombstoned in the same write)
    recut = clip_rows([r for r in stale if r["sample_uid"] == "s013"], 2) + clip_rows([r for r in stale if r["sample_uid"] == "s150"], 3)
    run("write", "example/clips", str(parquet(files / "recut.parquet", recut)))
    assert status(run, "example/clips")["up_to_date"] == N and status(run, "example/clips")["stale"] == 0

    # a deleted video orphans its 3 clips
    run("delete", "example/video", "--where", "sample_uid = 's007'")
    assert status(run, "example/clips") == {"new": 0, "stale": 0, "orphaned": 3, "up_to_date": N - 1, "stale_fields": {"audio": 0, "frames": 0}}
    orphans = increment_rows(run, "example/clips", files, "--orphaned")
    assert sorted((r["sample_uid"], r["clip_idx"]) for r in orphans) == [("s007", 0), ("s007", 1), ("s007", 2)]

    # aggregation: 4 chunks per video
    listing = chunks()
    run("write", "example/chunks", str(parquet(files / "chunks.parquet", listing)))
    assert status(run, "example/video_summary")["new"] == N
    groups = increment_rows(run, "example/video_summary", files)
    run("write", "example/video_summary", str(parquet(files / "groups.parquet", groups)))
    assert status(run, "example/video_summary")["up_to_date"] == N
    one = [dict(listing[5], audio_sha="changed")]  # s001, chunk 1
    run("write", "example/chunks", str(parquet(files / "one.parquet", one)))
    assert status(run, "example/video_summary") == {"new": 0, "stale": 1, "orphaned": 0, "up_to_date": N - 1, "stale_fields": {"embedding": 1}}
    added = [{"sample_uid": "s010", "chunk_idx": 4, "audio_sha": "extra"}]
    run("write", "example/chunks", str(parquet(files / "added.parquet", added)))
    assert status(run, "example/video_summary")["stale"] == 2
    run("delete", "example/chunks", "--where", "sample_uid = 's020'")
    assert status(run, "example/video_summary") == {"new": 0, "stale": 2, "orphaned": 1, "up_to_date": N - 3, "stale_fields": {"embedding": 2}}
    assert sorted(r["sample_uid"] for r in increment_rows(run, "example/video_summary", files)) == ["s001", "s010"]

    # byte-identical provenance: every store equals the same Python computation
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    project = load_project(directory)
    with metaxy.open_store(project, STORE_NAMES[backend]) as store:
        clips = {(u, c): (a, f) for u, c, a, f in store.fetch_all(
            'SELECT sample_uid, clip_idx, metaxy_provenance__audio, metaxy_provenance__frames FROM example__clips')}  # fmt: skip
        summaries = dict(store.fetch_all("SELECT sample_uid, metaxy_provenance__embedding FROM example__video_summary"))
    audio = {v["sample_uid"]: root("example/video", "audio", "audio_sha", v["audio_sha"]) for v in videos(CHANGED)}
    frames = {v["sample_uid"]: root("example/video", "frames", "frames_sha", v["frames_sha"]) for v in videos()}
    assert len(clips) == 3 * N - 1 and ("s013", 2) not in clips
    for (uid, _), (a, f) in clips.items():
        assert a == h('["example/clips.audio","1"]|example/video.audio=' + audio[uid])
        assert f == h('["example/clips.frames","1"]|example/video.frames=' + frames[uid])
    chunk_audio = {(c["sample_uid"], c["chunk_idx"]): root("example/chunks", "audio", "audio_sha", c["audio_sha"]) for c in listing}
    for uid, provenance in summaries.items():  # written before the chunk changes
        members = ",".join(chunk_audio[(uid, c)] for c in range(4))
        assert provenance == h('["example/video_summary.embedding","1"]|example/chunks.audio=' + members)
