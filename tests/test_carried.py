"""A write-back stores its increment's provenance as computed only while that is provably current
(engine/carried.py), and then stores exactly what the verifying path stores."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest

from metaxy_cli import engine
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.engine import carried
from metaxy_cli.sql import layout
from metaxy_cli.sql.resolved import resolve
from metaxy_cli.store.batch import BATCH, load_batch, staged_columns
from tests.backends import open_backend
from tests.test_engine import CROP, FACES, STT, VIDEO, bump_audio, videos

# Everything but when and by which write: what a write-back stores for each sample.
STORED = [
    "sample_uid", "metaxy_provenance__audio", "metaxy_data_version__audio", "metaxy_provenance__frames",
    "metaxy_data_version__frames", "metaxy_provenance", "metaxy_data_version", "metaxy_feature_version",
    "metaxy_project_version",
]  # fmt: skip


def _rows(store, key: str, columns: list[str]) -> list[tuple]:
    names = ", ".join(f'"{name}"' for name in columns)
    return sorted(store.fetch_all(f'SELECT {names} FROM "{layout.current_table(key)}"'))


def _decision(project, store, key: str, batch) -> bool:
    """carried.trusted on `batch` staged as a write stages it, inside a transaction."""
    feature = resolve(project)[key]
    load_batch(store, feature, batch, keep_provenance=True)
    try:
        with store.transaction():
            return carried.trusted(store, feature, BATCH, staged_columns(store))
    finally:
        store.execute(f'DROP TABLE IF EXISTS "{BATCH}"')


@pytest.mark.parametrize("backend", ["duckdb", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_current_increment_is_stored_as_the_verifying_path_stores_it(overview_dir: Path, tmp_path: Path, backend: str) -> None:
    """Two stores, the same writes: one writes the increments back whole (the token kept), the
    other without the token (provenance recomputed and checked). The stored rows are equal."""
    project = load_project(overview_dir)
    with open_backend(backend, tmp_path, "whole") as whole, open_backend(backend, tmp_path, "checked") as checked:
        for store in (whole, checked):
            engine.write(project, store, VIDEO, videos())
        for key in (CROP, FACES, STT):
            increment = engine.increment(project, whole, key).to_arrow()
            assert _decision(project, whole, key, increment) is whole.tracks_changes
            engine.write(project, whole, key, increment)
            plain = engine.increment(project, checked, key).to_arrow().drop_columns([layout.AS_OF])
            engine.write(project, checked, key, plain)
            columns = [c for c in STORED if c in {name for name, _ in resolve(project)[key].table_columns}]
            assert _rows(whole, key, columns) == _rows(checked, key, columns), key
        for store in (whole, checked):
            assert engine.summary(project, store, CROP, full=True).up_to_date == len(videos())


def test_the_increment_is_not_trusted_once_anything_it_read_may_have_changed(overview_dir: Path, tmp_path: Path) -> None:
    project = load_project(overview_dir)
    with open_backend("duckdb", tmp_path, "s") as store:
        engine.write(project, store, VIDEO, videos())
        increment = engine.increment(project, store, CROP).to_arrow()
        assert _decision(project, store, CROP, increment)
        # Rows from two increments, a missing column, an emptied value, a foreign token.
        token = increment.column(layout.AS_OF)[0].as_py()
        older = carried.SEPARATOR.join(["0", *token.split(carried.SEPARATOR)[1:]])
        mixed = increment.set_column(increment.schema.get_field_index(layout.AS_OF), layout.AS_OF,
                                     pa.array([token] * (len(increment) - 1) + [older]))  # fmt: skip
        assert not _decision(project, store, CROP, mixed)
        assert not _decision(project, store, CROP, increment.drop_columns(["metaxy_provenance__frames"]))
        emptied = increment.set_column(increment.schema.get_field_index("metaxy_provenance__audio"), "metaxy_provenance__audio",
                                       pa.array([None] * len(increment), pa.string()))  # fmt: skip
        assert not _decision(project, store, CROP, emptied)
        # A write to the feature itself changes nothing the increment read.
        engine.write(project, store, CROP, increment.slice(0, 3))
        assert _decision(project, store, CROP, increment)
        # Upstream rows written after the increment: its provenance may be outdated.
        engine.write(project, store, VIDEO, videos(changed=("s001",))[1:2])
        assert not _decision(project, store, CROP, increment)
        increment = engine.increment(project, store, CROP).to_arrow()
        engine.delete(project, store, VIDEO, ids=[{"sample_uid": "s003"}])
        assert not _decision(project, store, CROP, increment)
        # An upstream code_version bump reaches stt only through video's rows (a rewrite of
        # video is an upstream write): until then recomputing gives the carried values.
        increment = engine.increment(project, store, STT).to_arrow()
        bump_audio(overview_dir)
        assert _decision(load_project(overview_dir), store, STT, increment)
        # Its own definition changed: the provenance prefixes did too.
        processing = overview_dir / "features" / "processing.yaml"
        old = 'key: transcription\n        code_version: "1"'
        assert old in processing.read_text()
        processing.write_text(processing.read_text().replace(old, 'key: transcription\n        code_version: "2"'))
        assert not _decision(load_project(overview_dir), store, STT, increment)


def test_only_stores_that_order_write_ids_by_commit_trust_an_increment(overview_dir: Path, tmp_path: Path) -> None:
    project = load_project(overview_dir)
    with open_backend("sqlite", tmp_path, "s") as store:
        engine.write(project, store, VIDEO, videos())
        increment = engine.increment(project, store, CROP).to_arrow()
        assert layout.AS_OF in increment.column_names
        assert not _decision(project, store, CROP, increment)


def test_a_root_increment_carries_no_token(overview_dir: Path, tmp_path: Path) -> None:
    project = load_project(overview_dir)
    with open_backend("duckdb", tmp_path, "s") as store:
        engine.write(project, store, VIDEO, videos())
        bump_audio(overview_dir)
        increment = engine.increment(load_project(overview_dir), store, VIDEO)
        assert layout.AS_OF not in increment.to_arrow().column_names
        assert layout.AS_OF not in increment.types


def test_a_token_holds_only_in_the_store_and_history_it_was_read_from(overview_dir: Path, tmp_path: Path) -> None:
    """The same writes in two stores at other times, a restored or foreign store: the write id
    alone would match; the token's time does not. A migration applied since (a rename logs no
    write) voids it too."""
    project = load_project(overview_dir)
    with open_backend("duckdb", tmp_path, "a") as first, open_backend("duckdb", tmp_path, "b") as second:
        engine.write(project, first, VIDEO, videos(), written_at=datetime(2026, 1, 1))
        engine.write(project, second, VIDEO, videos(), written_at=datetime(2026, 1, 2))
        increment = engine.increment(project, first, CROP).to_arrow()
        assert _decision(project, first, CROP, increment)
        assert not _decision(project, second, CROP, increment)
        first.ensure_table(layout.MIGRATIONS, layout.MIGRATIONS_COLUMNS)
        names = ", ".join(f'"{name}"' for name, _ in layout.MIGRATIONS_COLUMNS)
        first.execute(f"INSERT INTO \"{layout.MIGRATIONS}\" ({names}) VALUES ('m1', 'x', TIMESTAMP '2026-01-03', '{{}}')")
        assert not _decision(project, first, CROP, increment)


def test_the_sample_provenance_is_hashed_from_the_carried_fields(overview_dir: Path, tmp_path: Path) -> None:
    """A batch's `metaxy_provenance` is not stored as given: stored rows stay consistent."""
    project = load_project(overview_dir)
    with open_backend("duckdb", tmp_path, "s") as store:
        engine.write(project, store, VIDEO, videos())
        increment = engine.increment(project, store, CROP).to_arrow()
        expected = sorted(increment.column("metaxy_provenance").to_pylist())
        edited = increment.set_column(increment.schema.get_field_index("metaxy_provenance"), "metaxy_provenance",
                                      pa.array(["edited"] * len(increment)))  # fmt: skip
        assert _decision(project, store, CROP, edited)
        engine.write(project, store, CROP, edited)
        assert [row[0] for row in _rows(store, CROP, ["metaxy_provenance"])] == expected
