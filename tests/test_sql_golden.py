"""Golden SQL per dialect for the overview features: any change to the generated SQL is a reviewed
diff. Regenerate with METAXY_UPDATE_GOLDEN=1 and read the diff before committing."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from metaxy_cli.definitions.loader import load_project
from metaxy_cli.sql import layout
from metaxy_cli.sql.dialects import profile_for
from metaxy_cli.sql.emit import to_sql
from metaxy_cli.sql.query import increment_query, write_query
from metaxy_cli.sql.resolved import resolve

ROOT = Path(__file__).resolve().parent
GOLDEN = ROOT / "golden" / "sql"
DIALECTS = ("duckdb", "sqlite", "postgres", "clickhouse", "spark")
FEATURES = ("example/video", "example/crop", "example/face_detection", "example/stt")
WRITTEN_AT = dt.datetime(2024, 1, 2, 3, 4, 5, 678901)


@pytest.fixture(scope="module")
def overview():
    return load_project(ROOT.parent / "examples" / "overview")


def generated(project, dialect: str, key: str, kind: str) -> str:
    profile = profile_for(dialect)
    if kind == "increment":
        tree = increment_query(resolve(project)[key], profile)
    else:
        tree = write_query(resolve(project)[key], profile, "metaxy_batch", written_at=WRITTEN_AT, write_id=7)
    return to_sql(tree, profile) + "\n"


@pytest.mark.parametrize("kind", ["increment", "write"])
@pytest.mark.parametrize("key", FEATURES)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_golden_sql(overview, dialect, key, kind):
    path = GOLDEN / dialect / f"{layout.current_table(key)}.{kind}.sql"
    text = generated(overview, dialect, key, kind)
    if os.environ.get("METAXY_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"missing golden file {path}; run with METAXY_UPDATE_GOLDEN=1"
    assert text == path.read_text(), f"{path} differs from the generated SQL"


def test_no_stray_golden_files():
    expected = {
        GOLDEN / d / f"{layout.current_table(k)}.{kind}.sql"
        for d in DIALECTS for k in FEATURES for kind in ("increment", "write")
    }  # fmt: skip
    lineage = GOLDEN / "lineage"  # tests/test_lineage_engine.py owns these
    assert {path for path in GOLDEN.rglob("*.sql") if lineage not in path.parents} == expected
