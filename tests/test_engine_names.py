"""Names and values that stress a store's SQL, on every backend: reserved words as columns, quotes
and unicode in values, feature keys and field names longer than an engine's identifier limit,
and a stored column whose type the YAML has since changed."""

from __future__ import annotations

import re

from pathlib import Path

import pytest

from metaxy_cli import engine
from metaxy_cli.definitions.errors import DialectError, StoreError
from metaxy_cli.definitions.loader import load_project
from tests.backends import backend_params, open_backend, selected_backends


@pytest.fixture(params=backend_params())
def store(request, tmp_path: Path):
    opened = open_backend(request.param, tmp_path / "store")
    yield opened
    opened.close()


RESERVED_PROJECT = """\
project: reserved
id_columns: [user]
features:
  - key: select
    columns: {user: string, order: integer, select: string, Group: string}
    fields:
      - key: from
        source: [order, select]
      - key: where
        source: [Group]
  - key: table
    deps: [select]
    fields:
      - key: order
"""
VALUES = ["it's", 'say "hi"', "back\\slash", "com,ma", "new\nline", "tab\there", "日本語 ü", "", "\\N", "NULL", "😀"]


def reserved_rows(suffix: str = "") -> list[dict]:
    return [
        {"user": f"u'{i}\"", "order": i, "select": value + suffix, "Group": None if i % 3 == 0 else value}
        for i, value in enumerate(VALUES)
    ]  # fmt: skip


def test_reserved_words_quotes_and_unicode(request, tmp_path: Path) -> None:
    """Every backend stores and hashes them alike, and increments, deletes and status see them."""
    (tmp_path / "metaxy.yaml").write_text(RESERVED_PROJECT)
    project = load_project(tmp_path)
    results = []
    for backend in selected_backends(request.config):
        with open_backend(backend, tmp_path / "reserved") as store:
            engine.write(project, store, "select", reserved_rows())
            increment = engine.increment(project, store, "table").to_arrow()
            assert sorted(increment.column("user").to_pylist()) == sorted(r["user"] for r in reserved_rows())
            engine.write(project, store, "table", increment)
            changed = reserved_rows()[:3] + [dict(reserved_rows()[3], select="ünï'\"")]
            engine.write(project, store, "select", changed)
            stale = {row["user"]: row["metaxy_stale__order"] for row in engine.increment(project, store, "table").rows()}
            assert stale == {"u'3\"": True}, backend
            assert engine.delete(project, store, "select", where='"order" >= 9') == 2
            orphans = engine.increment(project, store, "table", orphaned=True).rows()
            assert sorted(row["user"] for row in orphans) == ["u'10\"", "u'9\""]
            stored = store.fetch_all('SELECT "user", "order", "select", "Group", metaxy_provenance FROM "select" ORDER BY "order"')
            assert [row[2] for row in stored] == ["it's", 'say "hi"', "back\\slash", "ünï'\"", *VALUES[4:9]]
            summary = engine.summary(project, store, "table")
            results.append((stored, (summary.stale, summary.orphaned, summary.up_to_date)))
    assert all(result == results[0] for result in results[1:])
    assert results[0][1] == (1, 2, 8)


LONG_FEATURE = "pipeline_stage_with_a_rather_long_name/" + "embeddings_of_every_frame_" * 2 + "v2"
LONG_FIELD = "field_with_a_long_descriptive_name_for_the_clip_embedding_model"
LONG_COLUMN = "a_declared_column_whose_name_is_much_longer_than_sixty_three_bytes"
LONG_PROJECT = f"""\
project: long
features:
  - key: clips
    columns: {{{LONG_COLUMN}: string}}
  - key: {LONG_FEATURE}
    deps: [clips]
    columns: {{{LONG_COLUMN}: integer}}
    fields:
      - key: {LONG_FIELD}
      - key: short
"""


def test_long_feature_keys_fields_and_columns(tmp_path: Path, store) -> None:
    """Names past an engine's identifier limit are stored short there; users see logical names."""
    (tmp_path / "metaxy.yaml").write_text(LONG_PROJECT)
    project = load_project(tmp_path)
    clips = [{"sample_uid": f"c{i}", LONG_COLUMN: f"x{i}"} for i in range(5)]
    engine.write(project, store, "clips", clips)
    rows = engine.increment(project, store, LONG_FEATURE).rows()
    assert sorted(rows[0]) == sorted([
        "sample_uid", "metaxy_status", f"metaxy_provenance__{LONG_FIELD}", "metaxy_provenance__short", "metaxy_provenance",
        f"metaxy_stale__{LONG_FIELD}", "metaxy_stale__short", "metaxy_as_of",
    ])  # fmt: skip
    written = [{"sample_uid": row["sample_uid"], LONG_COLUMN: 7, "metaxy_provenance": row["metaxy_provenance"]} for row in rows]
    assert engine.write(project, store, LONG_FEATURE, written).rows == 5
    clips[1][LONG_COLUMN] = "changed"
    engine.write(project, store, "clips", clips)
    rows = engine.increment(project, store, LONG_FEATURE).rows()
    assert [(row["sample_uid"], row[f"metaxy_stale__{LONG_FIELD}"]) for row in rows] == [("c1", True)]
    out = tmp_path / "todo.parquet"
    assert engine.increment(project, store, LONG_FEATURE).write_to(out, "parquet") == 1
    import pyarrow.parquet as pq

    assert f"metaxy_stale__{LONG_FIELD}" in pq.read_schema(out).names
    assert engine.delete(project, store, LONG_FEATURE, where=f"{LONG_COLUMN} = 7") == 5
    (summary,) = [s for s in engine.status(project, store) if s.feature == LONG_FEATURE]
    assert (summary.new, summary.up_to_date) == (5, 0)
    spell = store.identifier
    table = LONG_FEATURE.replace("/", "__")
    assert summary.names["table"] == spell(table) and summary.names["history"] == spell(table + "__history")
    limit = store.profile.max_identifier_length
    if limit is not None:  # the names stored are short, and listed
        assert summary.names["table"] != table and len(summary.names["table"].encode()) <= limit
        assert summary.names["columns"][LONG_COLUMN] == spell(LONG_COLUMN) != LONG_COLUMN
        assert store.list_columns(table)[1] == spell(LONG_COLUMN)
    else:
        assert summary.names["columns"] == {}


def test_names_that_would_collide_after_shortening_are_refused(tmp_path: Path, store) -> None:
    """A feature named like another one's shortened table: refused before anything is created
    where the engine shortens names; elsewhere they never meet."""
    long_key = "k" * 70
    short = store.identifier(long_key)
    (tmp_path / "metaxy.yaml").write_text(f"project: clash\nfeatures:\n  - key: {long_key}\n  - key: {'k' * 54}_0abc1234\n")
    if short == long_key:
        project = load_project(tmp_path)
        engine.write(project, store, long_key, [{"sample_uid": "a"}])
        return
    (tmp_path / "metaxy.yaml").write_text(f"project: clash\nfeatures:\n  - key: {long_key}\n  - key: {short}\n")
    project = load_project(tmp_path)
    message = rf"^features {short} and {long_key}: tables '{short}' and '{long_key}' would both be stored as '{short}' \(names past 63 bytes are shortened in postgres\): rename one of the features$"
    with pytest.raises(DialectError, match=message):
        engine.write(project, store, short, [{"sample_uid": "a"}])
    with pytest.raises(DialectError, match=message):
        engine.status(project, store)
    assert store.list_columns(short) is None and store.list_columns("metaxy_writes") is None
    # Two columns of one feature: one named like the other's short form.
    column = "c" * 70
    columns = f"{{{column}: string, {store.identifier(column)}: string}}"
    (tmp_path / "metaxy.yaml").write_text(f"project: clash\nfeatures:\n  - key: clip\n    columns: {columns}\n")
    with pytest.raises(DialectError, match=rf"^feature clip: columns '.+' and '.+' would both be stored as '{store.identifier(column)}'"):
        engine.write(load_project(tmp_path), store, "clip", [{"sample_uid": "a"}])


def test_a_stored_column_of_another_type_than_declared_is_refused(tmp_path: Path, store) -> None:
    (tmp_path / "metaxy.yaml").write_text("project: typed\nfeatures:\n  - key: clip\n    columns: {size: integer}\n")
    project = load_project(tmp_path)
    engine.write(project, store, "clip", [{"sample_uid": "a", "size": 1}])
    (tmp_path / "metaxy.yaml").write_text("project: typed\nfeatures:\n  - key: clip\n    columns: {size: string}\n")
    changed = load_project(tmp_path)
    before = store.fetch_all('SELECT * FROM "clip"'), store.fetch_all("SELECT * FROM metaxy_writes")
    declared = store.profile.column_type("string").sql(store.profile.name)
    message = rf"^feature clip: column 'size' is stored as \S+ in store '{store.name}' but the YAML declares it string \({re.escape(declared)}\)"
    with pytest.raises(StoreError, match=message):
        engine.write(changed, store, "clip", [{"sample_uid": "b", "size": "big"}])
    with pytest.raises(StoreError, match=message):
        engine.status(changed, store)
    assert (store.fetch_all('SELECT * FROM "clip"'), store.fetch_all("SELECT * FROM metaxy_writes")) == before
    engine.write(project, store, "clip", [{"sample_uid": "b", "size": 2}])  # the old declaration still works
