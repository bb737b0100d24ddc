"""Dialect profiles: byte-identical provenance on DuckDB and SQLite for every portable type, the
generic fallback for other sqlglot dialects, and the rule that engine names live in few places."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from reference import Reference
from sql_harness import Harness

from metaxy_cli.definitions.errors import DialectError
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.definitions.model import Column, FeatureSpec, FieldSpec
from metaxy_cli.definitions.project import Project
from metaxy_cli.sql.dialects import PROFILES, double_text, md5_hex, profile_for
from metaxy_cli.sql.emit import to_sql
from metaxy_cli.sql.query import increment_query, summary_query, write_query
from metaxy_cli.sql.resolved import resolve

PACKAGE = Path(__file__).resolve().parent.parent / "metaxy_cli"
ENGINES = ("duckdb", "sqlite", "postgres", "clickhouse", "spark")
# Where engine names may appear: the profile registry, the stores, CLI help texts, the JSON
# Schemas (store `type` enum), the two modules that use DuckDB as the file reader for every
# store (samples_io.py, batch.py) and the Python API's `relation()` (a DuckDB relation, engine.py).
ALLOWED = (
    "sql/dialects.py",
    "store/",
    "cli/",
    "definitions/schemas/",
    "engine/",
)

TYPES = ("string", "integer", "double", "boolean", "date", "timestamp", "binary", "json")
ROWS = [
    {"sample_uid": "a", "string": "héllo|x=~", "integer": -42, "double": 0.1 + 0.2, "boolean": True,
     "date": dt.date(2024, 2, 29), "timestamp": dt.datetime(2024, 1, 2, 3, 4, 5, 60),
     "binary": b"\x00\xffAB", "json": '{"a": [1, 2.5, null]}'},
    {"sample_uid": "b", "string": "", "integer": 9007199254740993, "double": 1e20, "boolean": False,
     "date": dt.date(1970, 1, 1), "timestamp": dt.datetime(1999, 12, 31, 23, 59, 59),
     "binary": b"", "json": "[]"},
    {"sample_uid": "c", "double": -0.0},
    {"sample_uid": "d", "double": 5e-324, "integer": 0, "string": "日本"},
    {"sample_uid": "e", "double": -1.7976931348623157e308},
    {"sample_uid": "f", "double": 123456.789},
]  # fmt: skip


def typed_project() -> Project:
    """A root feature with one field per portable type as its source, and one over all columns."""
    fields = tuple(FieldSpec(key=f"f_{t}", source=(t,)) for t in TYPES) + (FieldSpec(key="all"),)
    spec = FeatureSpec(key="typed", fields=fields, columns=tuple(Column(t, t) for t in TYPES))
    return Project(name="typed", root=Path("."), features={"typed": spec})


def test_every_portable_type_hashes_identically_on_duckdb_sqlite_and_python(tmp_path):
    project = typed_project()
    written = {}
    for engine in ("duckdb", "sqlite"):
        rows = Harness(project, engine, tmp_path / f"t.{engine}").write("typed", ROWS)
        written[engine] = {r["sample_uid"]: r for r in rows}
    reference = Reference(project)
    reference.write("typed", ROWS)
    system = [
        c
        for c in written["duckdb"]["a"]
        if c.startswith(("metaxy_provenance", "metaxy_data_version"))
    ]
    assert len(system) == 2 * 9 + 2
    for uid in written["duckdb"]:
        duck = {c: written["duckdb"][uid][c] for c in system}
        assert duck == {c: written["sqlite"][uid][c] for c in system}, uid
        assert duck == {c: reference.tables["typed"][(uid,)][c] for c in system}, uid
    # NULL differs from every value, and the two zeros agree.
    by_uid = written["duckdb"]
    assert by_uid["c"]["metaxy_provenance__f_double"] != by_uid["f"]["metaxy_provenance__f_double"]
    assert by_uid["c"]["metaxy_provenance__f_string"] == by_uid["e"]["metaxy_provenance__f_string"]


def test_double_text_is_exact_and_zero_is_unsigned():
    assert [double_text(v) for v in (0.1 + 0.2, 1e20, -0.0, 0.0, 5e-324, None)] == [
        "0.30000000000000004", "1e+20", "0", "0", "4.9406564584124654e-324", None,
    ]  # fmt: skip
    assert md5_hex("a") == "0cc175b9c0f1b6a831c399e269772661" and md5_hex(None) is None
    assert md5_hex(b"a") == md5_hex("a")


def test_unknown_dialect_is_a_dialect_error_with_a_suggestion():
    with pytest.raises(
        DialectError, match=r"unknown SQL dialect 'duckbd' \(did you mean 'duckdb'\?\)"
    ):
        profile_for("duckbd")


@pytest.mark.parametrize(
    "dialect", ["bigquery", "snowflake", "trino", "mysql", "databricks", "tsql"]
)
def test_any_sqlglot_dialect_gets_the_increment(dialect):
    project = load_project(PACKAGE.parent / "examples" / "overview")
    profile = profile_for(dialect)
    assert not profile.specific
    sql = to_sql(increment_query(resolve(project)["example/crop"], profile), profile)
    assert "example__crop" in sql and "metaxy_stale__audio" in sql
    assert to_sql(summary_query(resolve(project)["example/video"], profile), profile).startswith("SELECT")


def test_generic_profile_lowercases_md5():
    sql = to_sql(
        profile_for("snowflake").hash(__import__("sqlglot").exp.column("x")),
        profile_for("snowflake"),
    )
    assert sql == 'LOWER(MD5("x"))'


@pytest.mark.parametrize("dialect", ["bigquery"])
def test_double_sources_are_refused_where_no_exact_formatter_exists(dialect):
    profile = profile_for(dialect)
    with pytest.raises(DialectError, match="no canonical text for double"):
        write_query(resolve(typed_project())["typed"], profile, "batch", written_at=dt.datetime(2024, 1, 1), write_id=1)


def test_postgres_hashes_double_sources():
    """PostgreSQL prints C '%.17g' in plain SQL (fuzzed on a server in tests/test_store_postgres.py)."""
    sql = to_sql(write_query(resolve(typed_project())["typed"], profile_for("postgres"), "batch",
                             written_at=dt.datetime(2024, 1, 1), write_id=1), profile_for("postgres"))  # fmt: skip
    assert "TO_CHAR(" in sql and "9.9999999999999999EEEE" in sql


def test_long_identifiers_are_shortened_where_the_engine_limits_them():
    from sqlglot import exp

    from metaxy_cli.sql.dialects import short_identifier

    postgres, duckdb = profile_for("postgres"), profile_for("duckdb")
    long = "feature__" + "x" * 60
    short = postgres.identifier(long)
    assert short == "feature__" + "x" * 45 + "_" + short[-8:] and len(short.encode()) == 63
    assert postgres.identifier(long) == short and postgres.identifier(long + "y") != short
    assert postgres.identifier("x" * 63) == "x" * 63 and duckdb.identifier(long) == long
    # Multibyte names are cut at a character boundary, within the limit.
    accented = short_identifier("é" * 40, 63)
    assert accented.startswith("é" * 27 + "_") and len(accented.encode()) == 63
    # Every occurrence in a statement is spelled the same way; short names are untouched.
    tree = exp.select(exp.column(long, table="t")).from_(exp.to_table(long).as_("t")).where(exp.column(long).eq(1))
    sql = to_sql(tree, postgres, pretty=False)
    assert long not in sql and sql.count(f'"{short}"') == 3 and '"t"' in sql
    assert long in to_sql(tree, duckdb, pretty=False)


def test_specific_profiles_cover_the_five_engines():
    assert sorted(PROFILES) == sorted(ENGINES)
    assert [udf.name for udf in PROFILES["sqlite"].udfs] == ["md5", "metaxy_double_text"]
    assert [udf.name for udf in PROFILES["spark"].udfs] == ["metaxy_double_text"]
    assert profile_for("ClickHouse").finalize is PROFILES["clickhouse"].finalize


def test_engine_names_appear_only_in_allowed_modules():
    pattern = re.compile("|".join(ENGINES), re.IGNORECASE)
    offenders = []
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix not in (".py", ".json") or "__pycache__" in path.parts:
            continue
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith(ALLOWED):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []
