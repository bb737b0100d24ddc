"""History in parts (store/history_parts.py): a write replacing every current row retires the
current table into history; every reader sees the same rows as with the row-by-row copy."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metaxy_cli import engine
from metaxy_cli.definitions.errors import DataError, StoreError
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.store.duckdb import DuckDBStore

VIDEO, CROP = "example/video", "example/crop"
OVERVIEW = Path(__file__).resolve().parent.parent / "examples" / "overview"
HISTORY = "example__video__history"
ROWS = f'SELECT sample_uid, audio_sha, metaxy_deleted, metaxy_write_id FROM "{HISTORY}" ORDER BY ALL'


def videos(ids: range | list[int], version: int = 0) -> list[dict]:
    return [
        {
            "sample_uid": f"s{i:03d}", "path": f"/videos/{i}.mp4", "audio_sha": f"audio-{i}-{version}",
            "frames_sha": f"frames-{i}", "frames": i, "duration": i / 2, "size": i,
        }  # fmt: skip
        for i in ids
    ]


def opened(path: Path, *, retire: bool) -> DuckDBStore:
    store = DuckDBStore.open(path)
    store.retire_min_rows = 1 if retire else 10**12
    return store


def test_a_full_rewrite_retires_the_current_table_into_history(tmp_path: Path) -> None:
    project = load_project(OVERVIEW)
    store = opened(tmp_path / "s.duckdb", retire=True)
    engine.write(project, store, VIDEO, videos(range(3)))
    assert store.relation_kind(HISTORY) == "BASE TABLE"
    engine.write(project, store, VIDEO, videos(range(3), version=1))
    assert store.relation_kind(HISTORY) == "VIEW"
    assert store.history_parts(HISTORY) == [1]
    assert store.fetch_all(ROWS) == [(f"s{i:03d}", f"audio-{i}-0", False, 1) for i in range(3)]
    current = store.fetch_all('SELECT sample_uid, audio_sha, metaxy_write_id FROM "example__video" ORDER BY 1')
    assert current == [(f"s{i:03d}", f"audio-{i}-1", 2) for i in range(3)]
    # A partial write and a delete then append to the append part, seen through the view.
    engine.write(project, store, VIDEO, videos([1], version=2))
    engine.delete(project, store, VIDEO, ids=[{"sample_uid": "s002"}])
    rows = store.fetch_all(ROWS)
    assert ("s001", "audio-1-1", False, 2) in rows and ("s002", None, True, 4) in rows
    assert ("s002", "audio-2-1", False, 2) in rows and len(rows) == 6
    assert engine.summary(project, store, VIDEO).up_to_date == 2


def test_parts_below_the_threshold_are_copied_row_by_row(tmp_path: Path) -> None:
    project = load_project(OVERVIEW)
    store = DuckDBStore.open(tmp_path / "s.duckdb")
    assert store.retire_min_rows == 50_000
    engine.write(project, store, VIDEO, videos(range(3)))
    engine.write(project, store, VIDEO, videos(range(3), version=1))
    assert store.relation_kind(HISTORY) == "BASE TABLE" and store.history_parts(HISTORY) == []
    assert len(store.fetch_all(ROWS)) == 3


def test_columns_declared_after_a_part_was_retired_read_null(tmp_path: Path, overview_dir: Path) -> None:
    project = load_project(overview_dir)
    store = opened(tmp_path / "s.duckdb", retire=True)
    engine.write(project, store, VIDEO, videos(range(2)))
    engine.write(project, store, VIDEO, videos(range(2), version=1))
    video = overview_dir / "features" / "video.yaml"
    video.write_text(video.read_text().replace("      size: integer\n", "      size: integer\n      codec: string\n"))
    project = load_project(overview_dir)
    engine.write(project, store, VIDEO, [{**row, "codec": "h264"} for row in videos(range(2), version=2)])
    rows = store.fetch_all(f'SELECT metaxy_write_id, codec FROM "{HISTORY}" ORDER BY ALL')
    assert rows == [(1, None), (1, None), (2, None), (2, None)]
    assert store.history_parts(HISTORY) == [1, 2]
    engine.write(project, store, VIDEO, [{**row, "codec": "av1"} for row in videos(range(2), version=3)])
    assert store.fetch_all(f'SELECT DISTINCT codec FROM "{HISTORY}" WHERE metaxy_write_id = 3') == [("h264",)]


def test_a_failed_write_rolls_the_retirement_back(tmp_path: Path) -> None:
    project = load_project(OVERVIEW)
    store = opened(tmp_path / "s.duckdb", retire=True)
    engine.write(project, store, VIDEO, videos(range(3)))
    feature = engine.resolved(project, VIDEO, store)
    from sqlglot import exp

    with pytest.raises(StoreError, match="killed"), store.transaction():
        store.supersede(feature, exp.true())
        assert store.relation_kind(HISTORY) == "VIEW"
        raise StoreError("killed")
    assert store.relation_kind(HISTORY) == "BASE TABLE" and store.history_parts(HISTORY) == []
    assert len(store.fetch_all('SELECT * FROM "example__video"')) == 3


def test_rename_and_drop_move_every_part(tmp_path: Path) -> None:
    project = load_project(OVERVIEW)
    store = opened(tmp_path / "s.duckdb", retire=True)
    engine.write(project, store, VIDEO, videos(range(3)))
    engine.write(project, store, VIDEO, videos(range(3), version=1))
    engine.write(project, store, VIDEO, videos([0], version=2))
    before = store.fetch_all(ROWS)
    feature = engine.resolved(project, VIDEO, store)
    renamed = dataclasses.replace(feature, spec=dataclasses.replace(feature.spec, key="example/movie"))
    with store.transaction():
        store.rename_feature(VIDEO, renamed)
    assert store.relation_kind(HISTORY) is None and store.relation_kind("example__video") is None
    assert store.fetch_all(ROWS.replace(HISTORY, "example__movie__history")) == before
    with store.transaction():
        store.drop_feature(renamed)
    names = store.fetch_all("SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'example__movie%'")
    assert names == []


@st.composite
def write_sequences(draw) -> list[tuple[str, list[int], int]]:
    """Writes (subsets or every sample, new values) and deletes of a few samples."""
    steps = []
    for version in range(draw(st.integers(1, 6))):
        ids = draw(st.one_of(st.just(list(range(6))), st.lists(st.integers(0, 7), min_size=1, max_size=8, unique=True)))
        operation = draw(st.sampled_from(["write", "write", "delete"])) if version else "write"
        steps.append((operation, sorted(ids), version))
    return steps


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=write_sequences())
def test_retiring_keeps_what_every_reader_sees(tmp_path_factory, steps) -> None:
    """The same writes into a retiring store and a copying one: same current rows, same history
    rows, same increments downstream."""
    project = load_project(OVERVIEW)
    folder = tmp_path_factory.mktemp("parts")
    stores = [opened(folder / "retiring.duckdb", retire=True), opened(folder / "copying.duckdb", retire=False)]
    seen = []
    for store in stores:
        for operation, ids, version in steps:
            if operation == "write":
                engine.write(project, store, VIDEO, videos(ids, version))
            else:
                engine.delete(project, store, VIDEO, ids=[{"sample_uid": f"s{i:03d}"} for i in ids])
        current = store.fetch_all('SELECT sample_uid, audio_sha, metaxy_write_id FROM "example__video" ORDER BY ALL')
        crop = engine.summary(project, store, CROP)
        seen.append((current, store.fetch_all(ROWS), (crop.new, crop.stale, crop.orphaned)))
        store.close()
    assert seen[0] == seen[1]


def test_a_first_write_back_becomes_the_current_table(tmp_path: Path) -> None:
    """The staged rows of a write-back into an empty table are renamed into place: outdated
    samples left out, the writer's flag column dropped, nothing staged left behind."""
    project = load_project(OVERVIEW)
    store = opened(tmp_path / "s.duckdb", retire=False)
    engine.write(project, store, VIDEO, videos(range(4)))
    batch = engine.increment(project, store, CROP).to_arrow()
    engine.write(project, store, VIDEO, videos([1], version=1))  # s001 moves on meanwhile
    result = engine.write(project, store, CROP, batch)
    assert (result.rows, result.outdated, result.outdated_samples) == (3, 1, ("sample_uid='s001'",))
    assert "metaxy_outdated" not in store.list_columns("example__crop")
    assert store.relation_kind("example__crop@staged") is None
    assert [row["sample_uid"] for row in engine.increment(project, store, CROP).rows()] == ["s001"]
    # A refused write (a sample without upstream rows) leaves no staged table either.
    with pytest.raises(DataError, match="no upstream rows"):
        engine.write(project, store, CROP, [{"sample_uid": "s999"}])
    assert store.relation_kind("example__crop@staged") is None
    assert len(store.fetch_all('SELECT * FROM "example__crop"')) == 3
