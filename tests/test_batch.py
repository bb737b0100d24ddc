"""Staging a batch: every value typed as declared, the same way on every store and machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from metaxy_cli.sql.layout import PROVENANCE
from metaxy_cli.store.batch import BATCH, load_batch, staged_columns
from metaxy_cli.definitions.errors import DataError
from metaxy_cli.definitions.model import Column, FeatureSpec, FieldSpec
from metaxy_cli.definitions.project import Project
from metaxy_cli.sql.resolved import resolve
from metaxy_cli.store.duckdb import DuckDBStore
from metaxy_cli.store.sqlite import SQLiteStore

CLIP = FeatureSpec(
    key="clip",
    fields=(FieldSpec("default"),),
    columns=(Column("at", "timestamp"), Column("score", "double")),
)
SPEC = resolve(Project("batch", Path("."), {"clip": CLIP}))["clip"]


@pytest.fixture(params=["duckdb", "sqlite"])
def store(request, tmp_path: Path):
    backend = DuckDBStore if request.param == "duckdb" else SQLiteStore
    with backend.open(tmp_path / f"store.{request.param}") as opened:
        yield opened


def staged(store) -> list[tuple]:
    return store.fetch_all(f'SELECT sample_uid, CAST("at" AS TEXT), score FROM {BATCH} ORDER BY 1')


def test_text_timestamps_with_an_offset_are_converted_to_utc(store, tmp_path: Path) -> None:
    listing = tmp_path / "clips.csv"
    listing.write_text("sample_uid,at,score\na,2024-01-01T12:00:00+02:00,1\nb,2024-01-01 10:00:00,\nc,2024-01-01T10:00:00Z,nan\n")
    assert load_batch(store, SPEC, listing).rows == 3
    text = "2024-01-01 10:00:00" + (".000000" if store.engine == "sqlite" else "")
    # NaN is stored as missing (SQLite cannot store it), on every backend.
    assert staged(store) == [("a", text, 1.0), ("b", text, None), ("c", text, None)]


def test_increment_provenance_is_kept_only_when_asked(store) -> None:
    rows = [{"sample_uid": "a", "metaxy_provenance": "p" * 32, "metaxy_status": "new"}]
    load_batch(store, SPEC, rows, partial=True)
    assert PROVENANCE not in staged_columns(store)
    load_batch(store, SPEC, rows, keep_provenance=True, partial=True)
    assert PROVENANCE in staged_columns(store)
    assert store.fetch_all(f"SELECT metaxy_provenance FROM {BATCH}") == [("p" * 32,)]


def test_a_value_that_does_not_cast_names_column_and_sample(store) -> None:
    with pytest.raises(DataError, match=r"clip: column 'at' must be timestamp, got 'yesterday' in .* \(samples: sample_uid='x'\)"):
        load_batch(store, SPEC, [{"sample_uid": "x", "at": "yesterday"}], partial=True)


PAIR = FeatureSpec(key="pair", id_columns=("video", "frame"), fields=(FieldSpec("default"),), columns=(Column("frame", "integer"),))
PAIR_SPEC = resolve(Project("batch", Path("."), {"pair": PAIR}))["pair"]


def test_composite_ids_are_checked_whole(store) -> None:
    """The one-pass check counts rows and id hashes; a repeated pair (not a repeated column) is a
    duplicate, and rows missing one id column are named with the column."""
    rows = [{"video": v, "frame": f} for v in ("a", "b") for f in (1, 2)]
    assert load_batch(store, PAIR_SPEC, rows).rows == 4
    with pytest.raises(DataError, match=r"pair: duplicate ids in .*: video='b', frame=2 \(2 rows\)"):
        load_batch(store, PAIR_SPEC, [*rows, {"video": "b", "frame": 2}])
    with pytest.raises(DataError, match=r"pair: 1 sample\(s\) in .* have an empty id column frame"):
        load_batch(store, PAIR_SPEC, [*rows, {"video": "c", "frame": None}])
