"""Increments that cost what changed (issue 16): the checkpoint path gives exactly the full path's
answers, on random graphs and random histories of writes, write-backs, deletes, code_version
bumps and summaries, through the real DuckDB store and engine API."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sql_reference import OVERRIDES, bumped, id_row, projects, root_rows, samples_of

from metaxy_cli import engine
from metaxy_cli.definitions.project import Project
from metaxy_cli.engine import changes
from metaxy_cli.sql import layout
from metaxy_cli.store.duckdb import DuckDBStore
from tests.backends import open_backend


def _key(row: dict, spec) -> tuple:
    return tuple(row[name] for name in spec.id_columns)


def _increment(project: Project, store, key: str, *, full: bool, orphaned: bool = False) -> list[tuple]:
    rows = engine.increment(project, store, key, full=full, orphaned=orphaned).rows()
    return sorted(tuple(sorted(row.items(), key=lambda item: item[0])) for row in rows)


def _stored(store, key: str, spec) -> list[tuple]:
    table = layout.current_table(key)
    if not store.table_exists(table):
        return []
    columns = ", ".join(f'"{name}"' for name in spec.id_columns)
    return sorted(store.fetch_all(f'SELECT {columns} FROM "{table}"'))


def _pending(project: Project, store, key: str) -> list[tuple]:
    spec = project.features[key]
    try:
        rows = engine.increment(project, store, key, full=True).rows()
    except Exception:  # an upstream without data
        return []
    return sorted(_key(row, spec) for row in rows)


def assert_same(project: Project, store) -> None:
    """Every feature: summary and increments (to do, orphaned) equal the full comparison's."""
    for key, spec in project.features.items():
        if any(not store.table_exists(layout.current_table(dep.feature)) for dep in spec.deps if not dep.optional):
            continue
        fast = engine.summary(project, store, key)
        assert fast == engine.summary(project, store, key, full=True), key
        assert _increment(project, store, key, full=False) == _increment(project, store, key, full=True), key
        orphans = _increment(project, store, key, full=False, orphaned=True)
        assert orphans == _increment(project, store, key, full=True, orphaned=True), key


def step(draw, project: Project, store) -> Project:
    """One random change to the store (or the definitions), made through the engine."""
    key = draw(st.sampled_from(sorted(project.features)))
    spec = project.features[key]
    action = draw(st.sampled_from(("write", "write", "write_back", "write_back", "delete", "bump", "summary")))
    if action == "bump":
        return bumped(project, key, draw(st.sampled_from(spec.field_keys())))
    if action == "summary":  # records checkpoints where nothing is pending
        for each in project.features:
            try:
                engine.summary(project, store, each)
            except Exception:
                pass
        return project
    if action == "delete":
        stored = _stored(store, key, spec)
        chosen = draw(st.lists(st.sampled_from(stored), unique=True, max_size=3)) if stored else []
        if chosen:
            engine.delete(project, store, key, ids=[dict(zip(spec.id_columns, ids)) for ids in chosen])
        return project
    if spec.is_root:
        samples = draw(st.lists(st.sampled_from(samples_of(project)), unique=True, max_size=4))
        engine.write(project, store, key, root_rows(draw, spec, samples))
        return project
    if action == "write_back":  # the increment's rows whole: its provenance may be stored as is
        rows = _whole_increment(project, store, key)
        if rows:
            engine.write(project, store, key, [row | {"out": draw(st.sampled_from(OVERRIDES))} for row in rows])
            # Computed from current inputs: the full comparison finds none of them pending, and
            # each stored per-field provenance is what the upstream rows give now (the trusted
            # path stores the carried values: engine/carried.py).
            written = {_key(row, spec) for row in rows}
            assert not written & set(_pending(project, store, key))
            assert not written & _recomputed_differently(project, store, key)
        return project
    pending = _pending(project, store, key)
    pending = draw(st.lists(st.sampled_from(pending), unique=True)) if pending else []
    if pending:
        rows = [{**id_row(spec, ids), "out": draw(st.sampled_from(OVERRIDES))} for ids in pending]
        engine.write(project, store, key, rows)
        # Computed from the current upstream rows (read at the batch's ids alone when the batch
        # is small: engine/changes.small_batch), so none of them is pending any more.
        assert not set(pending) & set(_pending(project, store, key))
    return project


def _recomputed_differently(project: Project, store, key: str) -> set[tuple]:
    """The ids whose stored per-field provenance differs from the one their current upstream
    rows give (sql/provenance.expected_fields, hashed again now)."""
    from metaxy_cli.sql.provenance import expected_fields
    from metaxy_cli.sql.resolved import resolve

    feature = resolve(project)[key]
    ids = [f'"{name}"' for name in feature.id_names]
    fields = [f'"{layout.provenance_column(f)}"' for f in feature.fields]
    expected = store.to_sql(expected_fields(feature, store.profile))
    on = " AND ".join(f"s.{name} = e.{name}" for name in ids)
    differs = " OR ".join(f"s.{name} IS DISTINCT FROM e.{name}" for name in fields)
    table = layout.current_table(key)
    rows = store.fetch_all(f'SELECT {", ".join("s." + name for name in ids)} FROM "{table}" s JOIN ({expected}) e ON {on} WHERE {differs}')
    return {tuple(row) for row in rows}


def _whole_increment(project: Project, store, key: str) -> list[dict]:
    try:
        return engine.increment(project, store, key).rows()
    except Exception:  # an upstream without data
        return []


def check(project: Project, data, steps: int, open_store=DuckDBStore.open) -> None:
    """`steps` random changes; after each, every answer checked. The share of rows above which the
    full comparison is preferred is drawn too: unlimited, the checkpoint path runs on every change."""
    limit = changes.DELTA_LIMIT
    changes.DELTA_LIMIT = data.draw(st.sampled_from((limit, 1e9)))
    try:
        with open_store() as store:
            for _ in range(steps):
                project = step(data.draw, project, store)
                assert_same(project, store)
    finally:
        changes.DELTA_LIMIT = limit


FAST = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(project=projects(max_features=4), data=st.data())
def test_checkpoint_answers_equal_full_comparison(project, data):
    check(project, data, steps=6)


@pytest.mark.slow
@pytest.mark.parametrize("half", [1, 2])  # two tests of 6 examples: `-n 2` runs them side by side
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(project=projects(), data=st.data())
def test_checkpoint_answers_equal_full_comparison_many(half, project, data):
    check(project, data, steps=12)


@pytest.mark.postgres
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(project=projects(max_features=4), data=st.data())
def test_checkpoint_answers_equal_full_comparison_on_postgres(tmp_path_factory, project, data):
    """PostgreSQL keeps checkpoints too (its writers queue on one lock): the same property."""
    check(project, data, steps=6, open_store=lambda: open_backend("postgres", tmp_path_factory.mktemp("pg")))


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(project=projects(max_features=4), data=st.data())
def test_checkpoint_answers_equal_full_comparison_on_clickhouse(tmp_path_factory, project, data):
    """ClickHouse keeps checkpoints too (writers serialised; a checkpoint is appended after its
    block, and counts come from the published rows of the log): the same property."""
    check(project, data, steps=6, open_store=lambda: open_backend("clickhouse", tmp_path_factory.mktemp("ch")))


@pytest.mark.spark
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(project=projects(max_features=3), data=st.data())
def test_checkpoint_answers_equal_full_comparison_on_spark(tmp_path_factory, project, data):
    """Spark keeps checkpoints too (writers queue on the store's lock; a checkpoint is published
    after its commit, and counts come from the committed log): the same property."""
    check(project, data, steps=5, open_store=lambda: open_backend("spark", tmp_path_factory.mktemp("spark")))


def _checkpoints(store) -> dict[str, int]:
    """The newest checkpoint per feature (a store may append them: ClickHouse)."""
    return dict(store.fetch_all(f'SELECT feature, max(write_id) FROM "{layout.CHECKPOINTS}" GROUP BY feature'))


@pytest.mark.parametrize("backend", ["duckdb", "clickhouse"])
def test_write_back_records_checkpoints_and_no_op_reads_them(overview_dir, tmp_path, backend) -> None:
    """The pipeline's write-backs record clean checkpoints; a 1% change is then compared on the
    touched samples only; a migration forgets every checkpoint."""
    from metaxy_cli.definitions.loader import load_project

    project = load_project(overview_dir)
    with open_backend(backend, tmp_path) as store:
        videos = [{"sample_uid": f"v{i}", "path": f"p{i}", "audio_sha": f"a{i}", "frames_sha": f"f{i}",
                   "frames": i, "duration": 1.0, "size": i} for i in range(20)]  # fmt: skip
        engine.write(project, store, "example/video", videos)
        for key in ("example/crop", "example/stt"):
            todo = engine.increment(project, store, key).to_arrow()
            engine.write(project, store, key, todo.select(["sample_uid"]).to_pylist())
        assert set(_checkpoints(store)) == {"example/video", "example/crop", "example/stt"}
        crop = engine.summary(project, store, "example/crop")
        assert (crop.pending, crop.up_to_date) == (0, 20)
        engine.write(project, store, "example/video", [{**videos[3], "audio_sha": "new"}])
        assert engine.resolved(project, "example/crop", store) and changes.since(
            store, engine.resolved(project, "example/crop", store)
        ) == _checkpoints(store)["example/crop"]
        for key in ("example/crop", "example/stt"):
            assert engine.summary(project, store, key) == engine.summary(project, store, key, full=True)
        assert [r["sample_uid"] for r in engine.increment(project, store, "example/crop").rows()] == ["v3"]
        changes.invalidate(store)
        assert _checkpoints(store) == {}


def test_a_small_write_reads_the_upstream_rows_at_its_ids(overview_dir, tmp_path) -> None:
    """A batch that is a small part of the feature (by its checkpoint's count) hashes the
    upstream rows of its own ids only, and stores what a write reading every upstream row stores."""
    from datetime import datetime

    from metaxy_cli.definitions.loader import load_project
    from metaxy_cli.sql.dialects import profile_for
    from metaxy_cli.sql.emit import to_sql
    from metaxy_cli.sql.query import write_query

    project = load_project(overview_dir)
    crop = engine.resolved(project, "example/crop")
    duckdb = profile_for("duckdb")
    query = write_query(crop, duckdb, "b", written_at=datetime(2026, 1, 1), write_id=3, narrow=True)
    narrow = " ".join(to_sql(query, duckdb).split())
    assert '"sample_uid" IN (SELECT "b"."sample_uid" FROM "b" AS "b"' in narrow.replace("( ", "(")
    videos = [{"sample_uid": f"v{i}", "path": f"p{i}", "audio_sha": f"a{i}", "frames_sha": f"f{i}",
               "frames": i, "duration": 1.0, "size": i} for i in range(50)]  # fmt: skip
    stored = {}
    for limit in (changes.DELTA_LIMIT, 0.0):  # 0: never narrow
        with open_backend("duckdb", tmp_path, f"s{limit}") as store:
            engine.write(project, store, "example/video", videos)
            engine.write(project, store, "example/crop", [{"sample_uid": f"v{i}"} for i in range(50)])
            engine.write(project, store, "example/video", [{**videos[7], "audio_sha": "new"}])
            original, changes.DELTA_LIMIT = changes.DELTA_LIMIT, limit
            try:
                assert changes.small_batch(store, crop, 1) is (limit > 0)
                engine.write(project, store, "example/crop", [{"sample_uid": "v7"}])
            finally:
                changes.DELTA_LIMIT = original
            columns = ", ".join(f'"{name}"' for name, _ in crop.table_columns if name not in (layout.WRITTEN_AT,))
            stored[limit] = store.fetch_all(f'SELECT {columns} FROM "{crop.table}" ORDER BY 1')
    assert stored[changes.DELTA_LIMIT] == stored[0.0]


def test_a_tables_own_touched_rows_are_read_by_write_id_not_looked_up(overview_dir) -> None:
    """Restricting video (one row per id) to crop's touched ids: video's own newer rows are read
    by the write-id filter (zone maps), only the ids touched elsewhere are looked up by id; a
    table with several rows per unit id keeps the lookup for every part."""
    from metaxy_cli.definitions.loader import load_project
    from metaxy_cli.sql.changes import touched_ids
    from metaxy_cli.sql.compare import restricted
    from metaxy_cli.sql.dialects import profile_for
    from metaxy_cli.sql.emit import to_sql
    from metaxy_cli.sql.resolved import resolve

    duckdb = profile_for("duckdb")
    crop = resolve(load_project(overview_dir))["example/crop"]
    only = touched_ids(crop, 7, duckdb)
    split = " ".join(to_sql(restricted("example__video", crop, only, "rowid", owner=crop.upstream[0].feature), duckdb).split())
    assert 'SELECT "rowid" FROM "example__video" WHERE "metaxy_write_id" > CAST(7 AS BIGINT)' in split
    assert 'SELECT "sample_uid" FROM "example__video" WHERE' not in split
    for table in ("example__crop", "example__crop__history", "example__video__history"):
        assert f'SELECT "sample_uid" FROM "{table}" WHERE' in split
    whole = " ".join(to_sql(restricted("example__video", crop, only, "rowid"), duckdb).split())
    assert 'SELECT "sample_uid" FROM "example__video" WHERE' in whole
