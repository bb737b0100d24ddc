"""Lineage through the engine: bad input (one line, exit 1, nothing written), the whole-graph plan
with an expansion and an aggregation, and the SQL of each kind (golden files, every dialect)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metaxy_cli import engine
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.sql import layout
from metaxy_cli.sql.dialects import profile_for
from metaxy_cli.sql.emit import to_sql
from metaxy_cli.sql.query import increment_query, summary_query, write_query
from metaxy_cli.sql.resolved import resolve
from metaxy_cli.store.duckdb import DuckDBStore
from tests.backends import dump_tables
from tests.conftest import copy_example

ROOT = Path(__file__).resolve().parent
GOLDEN = ROOT / "golden" / "sql"
DIALECTS = ("duckdb", "sqlite", "postgres", "clickhouse", "spark")
LINEAGE_FEATURES = ("example/clips", "example/clip_summary", "example/video_summary")


def videos(n: int = 4) -> list[dict]:
    return [{"sample_uid": f"s{i}", "path": "p", "audio_sha": f"a{i}", "frames_sha": f"f{i}"} for i in range(n)]


@pytest.fixture
def lineage_dir(tmp_path: Path) -> Path:
    return copy_example("lineage", tmp_path)


def test_bad_child_rows_write_nothing(lineage_dir: Path, invoke, tmp_path: Path) -> None:
    def run(*args):
        return invoke("--project", lineage_dir, *args)

    source = tmp_path / "videos.parquet"
    pq.write_table(pa.Table.from_pylist(videos()), source)
    assert run("write", "example/video", source).exit_code == 0
    project = load_project(lineage_dir)

    def snapshot():
        with DuckDBStore.open(lineage_dir / ".metaxy" / "metadata.duckdb") as store:
            return dump_tables(store)

    before = snapshot()
    cases = {
        "no parent": ([{"sample_uid": "s1", "clip_idx": 0}, {"sample_uid": "zz", "clip_idx": 0}],
                      "Error: example/clips: 1 sample(s) have no upstream rows in example/video (samples: sample_uid='zz', clip_idx=0)\n"),
        "NULL on": ([{"sample_uid": "s1", "clip_idx": 0}, {"sample_uid": None, "clip_idx": 1}],
                    "have an empty id column sample_uid (lineage 'on' column: the parent is unknown) (samples: sample_uid=None, clip_idx=1)"),
    }
    for name, (rows, message) in cases.items():
        batch = tmp_path / f"{name}.parquet"
        table = pa.Table.from_pylist([{**r, "start_s": 0.0, "end_s": 1.0} for r in rows], schema=pa.schema(
            [("sample_uid", pa.string()), ("clip_idx", pa.int64()), ("start_s", pa.float64()), ("end_s", pa.float64())]))
        pq.write_table(table, batch)
        result = run("write", "example/clips", batch)
        assert result.exit_code == 1, name
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    # a group without members: no upstream rows either
    pq.write_table(pa.Table.from_pylist([{"sample_uid": "s1"}]), tmp_path / "summary.parquet")
    result = run("write", "example/video_summary", tmp_path / "summary.parquet")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.stderr
    assert snapshot() == before
    assert project.feature("example/clips").lineage.kind == "expansion"


def test_plan_with_lineage(lineage_dir: Path) -> None:
    project = load_project(lineage_dir)
    with DuckDBStore.open() as store:
        engine.write(project, store, "example/video", videos())
        parents = engine.increment(project, store, "example/clips").rows()
        engine.write(project, store, "example/clips", [{"sample_uid": p["sample_uid"], "clip_idx": c, "start_s": 0.0, "end_s": 1.0} for p in parents for c in range(3)])
        for key in ("example/clip_embedding", "example/clip_summary"):
            engine.write(project, store, key, engine.increment(project, store, key).to_arrow())
        engine.write(project, store, "example/chunks", [{"sample_uid": f"s{i}", "chunk_idx": c, "audio_sha": "x"} for i in range(4) for c in range(2)])
        plan = {p.key: (p.new, p.stale, p.orphaned, p.up_to_date) for p in engine.plan(project, store)}
        assert plan["example/clips"] == (0, 0, 0, 4)
        assert plan["example/clip_summary"] == (0, 0, 0, 4)
        assert plan["example/video_summary"] == (4, 0, 0, 0)
        # one video's frames change: its parent (1) and its 3 clips' embeddings, then its summary
        changed = videos()
        changed[2]["frames_sha"] = "new"
        engine.write(project, store, "example/video", changed)
        engine.delete(project, store, "example/video", ids=[{"sample_uid": "s3"}])
        plan = {p.key: (p.new, p.stale, p.orphaned, p.up_to_date) for p in engine.plan(project, store)}
        assert plan["example/clips"] == (0, 1, 3, 2)
        assert plan["example/clip_embedding"][1] == 3
        assert plan["example/clip_summary"] == (0, 1, 1, 2)
        summary = engine.summary(project, store, "example/clips")
        assert (summary.new, summary.stale, summary.orphaned, summary.up_to_date) == (0, 1, 3, 2)


def generated(project, dialect: str, key: str, kind: str) -> str:
    profile = profile_for(dialect)
    feature = resolve(project)[key]
    if kind == "increment":
        tree = increment_query(feature, profile)
    elif kind == "summary":
        tree = summary_query(feature, profile)
    else:
        tree = write_query(feature, profile, "metaxy_batch", written_at=dt.datetime(2024, 1, 2, 3, 4, 5, 678901), write_id=7)
    return to_sql(tree, profile) + "\n"


@pytest.mark.parametrize("kind", ["increment", "summary", "write"])
@pytest.mark.parametrize("key", LINEAGE_FEATURES)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_golden_lineage_sql(dialect: str, key: str, kind: str) -> None:
    project = load_project(ROOT.parent / "examples" / "lineage")
    path = GOLDEN / "lineage" / dialect / f"{layout.current_table(key)}.{kind}.sql"
    text = generated(project, dialect, key, kind)
    if os.environ.get("METAXY_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"missing golden file {path}; run with METAXY_UPDATE_GOLDEN=1"
    assert text == path.read_text(), f"{path} differs from the generated SQL"


def test_render_shows_lineage_on_edges(lineage_dir: Path, invoke) -> None:
    mermaid = invoke("--project", lineage_dir, "render", "--no-versions").stdout
    assert "example_video -->|1:N| example_clips" in mermaid
    assert "example_chunks -->|N:1| example_video_summary" in mermaid
    assert "example_video --> example_clip_summary" in mermaid  # identity at the group's grain
    text = invoke("--project", lineage_dir, "render", "-f", "text", "--no-versions").stdout
    assert "example/clip_summary <- example/clip_embedding (N:1), example/video" in text
    dot = invoke("--project", lineage_dir, "render", "-f", "dot", "--no-versions").stdout
    assert '"example/video" -> "example/clips" [label="1:N"]' in dot
    import json

    document = json.loads(invoke("--project", lineage_dir, "render", "-f", "json").stdout)
    assert {"from": "example/video", "to": "example/clips", "lineage": "1:N"} in document["edges"]
    assert {"from": "example/clips", "to": "example/clip_embedding"} in document["edges"]


def test_example_readme_shows_the_graph(invoke) -> None:
    text = invoke("--project", ROOT.parent / "examples" / "lineage", "render", "-f", "text", "--no-versions").stdout
    assert f"```text\n{text}```" in (ROOT.parent / "examples" / "lineage" / "README.md").read_text()
