"""Byte-identical versions on every store: hypothesis draws a root feature (random typed columns,
fields with random sources, simple or composite ids) and its rows (unicode ids and values, NULLs,
empty and long strings, extreme numbers and dates), writes them to every backend, computes a
downstream feature from its increment there, and compares every provenance and data-version
column across the stores (spec section 3). Each store also hashes the root's stored rows again
in its own engine (a root write may hash them elsewhere) and must get the stored bytes."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from metaxy_cli import engine
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.definitions.model import COLUMN_TYPES
from metaxy_cli.sql.query import write_query
from metaxy_cli.sql.resolved import resolve
from tests.backends import BACKENDS, open_backend

_projects = itertools.count()
# Unicode without lone surrogates (no UTF-8 form, so no file or Arrow array can carry them).
# No NUL: PostgreSQL text cannot hold U+0000 (its store refuses such a batch with one line, and
# writes nothing: tests/test_fuzz_writes.py), so it cannot take part in the comparison.
TEXT = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
STRINGS = st.one_of(st.text(TEXT, max_size=12), st.text(TEXT, min_size=1000, max_size=3000), st.sampled_from(["", " ", "~", "|x=", "'", '"']))
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(TEXT, max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(TEXT, max_size=4), inner, max_size=3)),
    max_leaves=6,
)
VALUES = {
    "string": STRINGS,
    "integer": st.integers(-(2**63), 2**63 - 1),
    "double": st.floats(allow_nan=True, allow_infinity=True),
    "boolean": st.booleans(),
    "date": st.dates(),
    "timestamp": st.datetimes(),
    "binary": st.binary(max_size=40),
    "json": JSON_VALUES.map(lambda value: json.dumps(value, ensure_ascii=False)),
}


@st.composite
def projects(draw) -> tuple[str, list[dict]]:
    """(metaxy.yaml text, rows of the root feature)."""
    number = next(_projects)
    composite = draw(st.booleans())
    types = draw(st.lists(st.sampled_from(COLUMN_TYPES), max_size=8))
    columns = {f"c{i}_{kind}": kind for i, kind in enumerate(types)}
    names = sorted(columns)
    fields = []
    for index in range(draw(st.integers(1, 6))):
        source = draw(st.none() | st.lists(st.sampled_from(names), unique=True, max_size=4) if names else st.none())
        fields.append({"key": f"f{index}", "code_version": draw(st.sampled_from(["1", "2", "é"]))} | ({"source": source} if source else {}))
    id_columns = ["sample_uid", "part"] if composite else ["sample_uid"]
    root_columns = columns | ({"part": "integer"} if composite else {})
    downstream = [{"key": f"g{i}", "deps": [{"feature": f"r{number}", "fields": [f["key"]]}]} for i, f in enumerate(fields[:3])]
    text = json.dumps({
        "project": f"identity{number}", "id_columns": id_columns,
        "features": [
            {"key": f"r{number}", "columns": root_columns, "fields": fields},
            {"key": f"d{number}", "deps": [f"r{number}"], "fields": downstream},
        ],
    })  # fmt: skip
    ids = draw(st.lists(st.tuples(st.text(TEXT, max_size=6), st.integers(-3, 3)), unique_by=lambda i: i if composite else i[0], min_size=1, max_size=12))
    rows = []
    for uid, part in ids:
        row = {"sample_uid": uid} | ({"part": part} if composite else {})
        for name, kind in columns.items():
            row[name] = draw(st.none() | VALUES[kind])
        rows.append(row)
    return text, rows


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    folder = tmp_path_factory.mktemp("identity")
    opened = {backend: open_backend(backend, folder) for backend in BACKENDS}
    yield opened
    for store in opened.values():
        store.close()


def versions(store, table: str, ids: list[str], *, provenance_only: bool = False) -> list[tuple]:
    """Ids and every metaxy_ column but the write time (or the provenance columns only), rows
    sorted in Python (engines collate unicode differently)."""
    columns = [c for c in store.list_columns(table) if c.startswith("metaxy_") and c != "metaxy_written_at"]
    if provenance_only:
        columns = [c for c in columns if c.startswith("metaxy_provenance")]
    select = ", ".join(f'"{c}"' for c in [*ids, *columns])
    return sorted(store.fetch_all(f'SELECT {select} FROM "{table}"'), key=repr)


def rehashed(store, feature) -> list[tuple]:
    """The root's stored rows hashed again by the store's own engine (the write query over its
    table): a root write may hash in the DuckDB that checked the batch (engine/writes.py)."""
    query = write_query(feature, store.profile, feature.table, written_at=datetime(2000, 1, 1), write_id=0)
    names = [*feature.id_names, *(c for c, _ in feature.table_columns if c.startswith("metaxy_provenance"))]
    select = exp.select(*(exp.column(name, quoted=True) for name in names)).from_(query.subquery("w"))
    return sorted(store.fetch_all(store.to_sql(select)), key=repr)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(drawn=projects())
def test_every_store_computes_the_same_versions(stores, tmp_path_factory, drawn) -> None:
    text, rows = drawn
    folder = tmp_path_factory.mktemp("project")
    (folder / "metaxy.yaml").write_text(text)
    project = load_project(Path(folder))
    root, down = (feature["key"] for feature in json.loads(text)["features"])
    ids = list(project.feature(root).id_columns)
    found = {}
    for backend, store in stores.items():
        engine.write(project, store, root, rows)
        engine.write(project, store, down, engine.increment(project, store, down).to_arrow())
        found[backend] = [versions(store, key, ids) for key in (root, down)]
        assert engine.increment(project, store, down).rows() == []
        assert rehashed(store, resolve(project)[root]) == versions(store, root, ids, provenance_only=True), backend
    first = found[BACKENDS[0]]
    for backend in BACKENDS[1:]:
        assert found[backend] == first, backend
    assert len(first[0]) == len(rows)
