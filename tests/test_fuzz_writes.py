"""Fuzzing the write path: random tables and broken files written to every store. Either the whole
batch is written, or one clear line explains why and every table is byte-for-byte as before.

Short by default (CI); `METAXY_FUZZ_EXAMPLES=100000` is the long run (README, "Tests").
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metaxy_cli import engine
from metaxy_cli.definitions.errors import MetaxyError
from metaxy_cli.definitions.loader import load_project
from tests.backends import backend_params, dump_tables, open_backend

EXAMPLES = int(os.environ.get("METAXY_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES < 1000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)  # fmt: skip
PROJECT = """\
project: fuzz
features:
  - key: media
    columns: {label: string, count: integer, score: double, flag: boolean, day: date, seen: timestamp, meta: json}
    fields:
      - {key: text, source: [label, meta]}
      - {key: numbers, source: [count, score, flag]}
      - {key: time, source: [day, seen]}
  - key: derived
    deps: [media]
    columns: {result: string}
"""
DECLARED = {"media": ["label", "count", "score", "flag", "day", "seen", "meta"], "derived": ["result"]}

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)  # NUL included
ids = st.one_of(texts, st.none(), st.sampled_from(["a", "b", "c", "é", "a\x00b", " "]))
VALUES = {
    "label": st.one_of(st.none(), texts),
    "count": st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.sampled_from(["7", "x", "1.5", "99999999999999999999"])),
    "score": st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(["nan", "1e999", "abc"])),
    "flag": st.one_of(st.none(), st.booleans(), st.sampled_from(["true", "yes", "2"])),
    "day": st.one_of(st.none(), st.dates(), st.sampled_from(["2024-02-30", "yesterday"])),
    "seen": st.one_of(st.none(), st.datetimes(), st.sampled_from(["2024-01-01T12:00:00+02:00", "noon"])),
    "meta": st.one_of(st.none(), st.sampled_from(['{"k": 1}', "[]", "null", "{bad"])),
    "result": st.one_of(st.none(), texts),
    "extra": texts,
}  # fmt: skip


@st.composite
def batches(draw) -> tuple[str, list[dict]]:
    feature = draw(st.sampled_from(["media", "media", "derived"]))
    declared = DECLARED[feature]
    columns = draw(st.lists(st.sampled_from(declared + ["extra"]), unique=True, max_size=len(declared) + 1))
    if draw(st.integers(0, 9)) > 1:  # usually all declared columns, the rule a write must follow
        columns = sorted(set(columns) | set(declared), key=(declared + ["extra"]).index)
    without_ids = draw(st.integers(0, 19)) == 0
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        row = {} if without_ids else {"sample_uid": draw(ids)}
        row.update({name: draw(VALUES[name]) for name in columns})
        rows.append(row)
    return feature, rows


def to_file(folder: Path, rows: list[dict], kind: str) -> Path | list[dict]:
    """The rows as the user would give them: a list of dicts, CSV, JSON Lines, Parquet, a
    truncated Parquet file, or a CSV file named .parquet."""
    if kind == "rows":
        return rows
    text_rows = [{key: None if value is None else str(value) for key, value in row.items()} for row in rows]
    keys = list(dict.fromkeys(key for row in rows for key in row)) or ["sample_uid"]
    table = pa.table({key: [row.get(key) for row in text_rows] for key in keys}, schema=pa.schema([(key, pa.string()) for key in keys]))
    if kind == "csv":
        path = folder / "batch.csv"
        pacsv.write_csv(table, path)
    elif kind == "jsonl":
        path = folder / "batch.jsonl"
        path.write_text("".join(json.dumps(row, default=str) + "\n" for row in rows))
    elif kind in ("parquet", "truncated"):
        path = folder / "batch.parquet"
        pq.write_table(table, path)
        if kind == "truncated":
            path.write_bytes(path.read_bytes()[: max(len(path.read_bytes()) // 2, 1)])
    else:  # a CSV under a Parquet name
        path = folder / "mislabelled.parquet"
        pacsv.write_csv(table, path)
    return path


@pytest.fixture(params=backend_params())
def store_and_project(request, tmp_path: Path):
    (tmp_path / "metaxy.yaml").write_text(PROJECT)
    project = load_project(tmp_path)
    store = open_backend(request.param, tmp_path / "store")
    rows = [{"sample_uid": uid, "label": uid, "count": 1, "score": 0.5, "flag": True, "day": dt.date(2024, 1, 1),
             "seen": dt.datetime(2024, 1, 1), "meta": "{}"} for uid in ("a", "b", "c")]  # fmt: skip
    engine.write(project, store, "media", rows)
    engine.write(project, store, "derived", [{"sample_uid": uid, "result": "r"} for uid in ("a", "b")])
    yield store, project
    store.close()


@FUZZ
@given(batch=batches(), kind=st.sampled_from(["rows", "csv", "jsonl", "parquet", "truncated", "mislabelled"]))
def test_a_write_is_whole_or_changes_nothing(store_and_project, batch, kind: str) -> None:
    store, project = store_and_project
    feature, rows = batch
    before = dump_tables(store)
    with tempfile.TemporaryDirectory() as folder:
        data = to_file(Path(folder), rows, kind)
        try:
            result = engine.write(project, store, feature, data)
        except MetaxyError as error:
            message = str(error)
            assert message.strip() and "\n" not in message.strip(), message
            assert dump_tables(store) == before, f"{type(error).__name__}: {message}"
            return
    written = {row[0] for row in store.fetch_all(f'SELECT "sample_uid" FROM "{feature}"')}
    assert result.rows + result.outdated == len(rows)
    assert {str(row["sample_uid"]) for row in rows} <= written
