"""DialectProfile registry: every engine difference of the versioning SQL lives here.

This is the only module of the query side that branches on engine names. A profile says how an
engine computes the lowercase-hex md5 of a string, how it renders the canonical text of a value of
each portable type (so that the same value hashes to the same bytes on every engine), which SQL
type stores each portable type, which functions the connection must register first (SQLite lacks
md5), how to finish a query (ClickHouse needs join_use_nulls for FULL JOIN) and how to delete rows
(ClickHouse: ALTER TABLE ... DELETE, the form its temporary tables accept). Dialects without a
specific profile get a generic one built on sqlglot's own MD5 transpilation.

Identifiers: an engine that limits their length (PostgreSQL: 63 bytes, longer ones are silently
truncated) sets `max_identifier_length`; `DialectProfile.identifier` then gives every longer name a
deterministic short form (its first bytes + '_' + 8 hex of blake3), which emit.py applies to every
identifier of every statement, so tables, columns and aliases stay distinct and findable.

Canonical text of a non-NULL value (spec section 3, root provenance):
  string -> itself; integer -> decimal; double -> C printf '%.17g' (exact round trip), zero as '0'
  (SQLite cannot keep the sign of -0.0); boolean -> 'true'/'false'; date -> 'YYYY-MM-DD';
  timestamp -> 'YYYY-MM-DD HH:MM:SS.ffffff'; binary -> lowercase hex; json -> its text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlglot import exp

from metaxy_cli.definitions.errors import DialectError

Expr = exp.Expression
DATE_FORMAT = "%Y-%m-%d"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


@dataclass(frozen=True)
class Udf:
    """A scalar function a connection must register before running the SQL (SQLite)."""

    name: str
    nargs: int
    fn: Callable[..., Any]


def md5_hex(value: Any) -> str | None:
    """md5 as lowercase hex of a text (UTF-8) or blob; NULL stays NULL, like the SQL md5."""
    if value is None:
        return None
    data = value if isinstance(value, bytes) else str(value).encode("utf-8")
    return hashlib.md5(data).hexdigest()


def double_text(value: Any) -> str | None:
    """The canonical text of a double: C '%.17g', with both zeros as '0'."""
    if value is None:
        return None
    number = float(value)
    return "0" if number == 0 else format(number, ".17g")


DOUBLE_TEXT_UDF = "metaxy_double_text"
SHORT_DIGEST = 8  # hex digits of blake3 that end a shortened identifier


def short_identifier(name: str, limit: int) -> str:
    """`name` when it fits in `limit` UTF-8 bytes, else its first bytes (whole characters) + '_' +
    8 hex of blake3(name): deterministic, so every statement spells a long name the same way."""
    from blake3 import blake3

    data = name.encode("utf-8")
    if len(data) <= limit:
        return name
    head = data[: limit - SHORT_DIGEST - 1].decode("utf-8", errors="ignore")  # a cut character goes
    return f"{head}_{blake3(data).hexdigest()[:SHORT_DIGEST]}"


def _identity(query: exp.Query) -> exp.Query:
    return query


CONCAT_SEPARATOR = ","
ORDERED_CONCAT_UDF = "metaxy_ordered_concat"


def _string_agg(value: Expr, keys: list[tuple[Expr, str]], collate: str | None = None) -> Expr:
    """STRING_AGG(value, ',' ORDER BY keys) (LISTAGG on DuckDB); `collate`: the collation that
    orders string keys bytewise, like every other engine (PostgreSQL's default follows the locale)."""
    ordered = []
    for key, portable_type in keys:
        if collate and portable_type in ("string", "json"):
            key = exp.Collate(this=key, expression=exp.Identifier(this=collate, quoted=True))
        ordered.append(exp.Ordered(this=key))
    return exp.GroupConcat(this=exp.Order(this=value, expressions=ordered), separator=exp.Literal.string(CONCAT_SEPARATOR))


def _postgres_agg(value: Expr, keys: list[tuple[Expr, str]]) -> Expr:
    # https://www.postgresql.org/docs/current/collation.html ("C": byte order of the encoding)
    return _string_agg(value, keys, collate="C")


def _clickhouse_agg(value: Expr, keys: list[tuple[Expr, str]]) -> Expr:
    """arrayStringConcat(arrayMap(t -> t.n, arraySort(groupArray((k1, ..., value)))), ','): tuples
    sort by their elements in order, strings bytewise; ids are unique, so the value never decides.
    https://clickhouse.com/docs/sql-reference/functions/array-functions#arraysort"""
    items = exp.Tuple(expressions=[key for key, _ in keys] + [value])
    last = exp.Literal.number(len(keys) + 1)
    pick = exp.Lambda(this=exp.Anonymous(this="tupleElement", expressions=[exp.column("t"), last]), expressions=[exp.to_identifier("t")])
    grouped = exp.Anonymous(this="arraySort", expressions=[exp.Anonymous(this="groupArray", expressions=[items])])
    mapped = exp.Anonymous(this="arrayMap", expressions=[pick, grouped])
    return exp.Anonymous(this="arrayStringConcat", expressions=[mapped, exp.Literal.string(CONCAT_SEPARATOR)])


def _spark_agg(value: Expr, keys: list[tuple[Expr, str]]) -> Expr:
    """array_join(transform(sort_array(collect_list(named_struct(k0, .., v))), s -> s.v), ','):
    structs sort field by field, strings by their UTF-8 bytes. collect_list's own order is not
    deterministic, the sort makes it so.
    https://spark.apache.org/docs/latest/api/sql/index.html#sort_array"""
    names: list[Expr] = []
    for index, (key, _) in enumerate(keys):
        names += [exp.Literal.string(f"k{index}"), key]
    names += [exp.Literal.string("v"), value]
    structs = exp.Anonymous(this="collect_list", expressions=[exp.Anonymous(this="named_struct", expressions=names)])
    pick = exp.Lambda(this=exp.column("v", table="s"), expressions=[exp.to_identifier("s")])
    picked = exp.Anonymous(this="transform", expressions=[exp.Anonymous(this="sort_array", expressions=[structs]), pick])
    return exp.Anonymous(this="array_join", expressions=[picked, exp.Literal.string(CONCAT_SEPARATOR)])


def _udf_agg(value: Expr, keys: list[tuple[Expr, str]]) -> Expr:
    # SQLite 3.44 added group_concat(... ORDER BY); older ones concatenate in an unspecified
    # order, so the store registers an aggregate that sorts (OrderedConcat).
    return exp.Anonymous(this=ORDERED_CONCAT_UDF, expressions=[value] + [key for key, _ in keys])


class OrderedConcat:
    """SQLite aggregate `metaxy_ordered_concat(value, key...)`: the values joined with ',' in key
    order (Python orders ints numerically, text by code point, which is UTF-8 byte order)."""

    def __init__(self) -> None:
        self.items: list[tuple] = []

    def step(self, value: Any, *keys: Any) -> None:
        self.items.append((keys, value))

    def finalize(self) -> str | None:
        if not self.items:
            return None
        return CONCAT_SEPARATOR.join(value for _, value in sorted(self.items, key=lambda item: item[0]))


def _delete(table: exp.Table, condition: Expr) -> exp.Expression:
    return exp.delete(table, where=condition)


@dataclass(frozen=True)
class DialectProfile:
    """How one engine expresses the versioning SQL. `name` is the sqlglot dialect name."""

    name: str
    hash: Callable[[Expr], Expr]
    texts: Mapping[str, Callable[[Expr], Expr]]
    types: Mapping[str, str]
    finalize: Callable[[exp.Query], exp.Query] = _identity
    udfs: tuple[Udf, ...] = ()
    specific: bool = True
    # Longest identifier in UTF-8 bytes the engine keeps (None: no limit metaxy can reach).
    max_identifier_length: int | None = None
    # The sqlglot dialect users' conditions (delete --where) are read in, when not `name`'s own.
    conditions: Callable[[], Any] | None = None
    # An aggregate: the non-NULL text values of a group joined with ',' in the order of the keys
    # ((expression, portable type), e.g. a member's id columns), byte-identical on every engine.
    ordered_concat: Callable[[Expr, list[tuple[Expr, str]]], Expr] = _string_agg
    aggregates: tuple[Udf, ...] = ()  # aggregate UDFs to register (SQLite: OrderedConcat)
    # A column that locates a row of a table (DuckDB's rowid): a few rows of a big table are found
    # by their ids alone, then read whole by it, instead of reading every column of every row.
    row_locator: str | None = None
    # Every feature's committed rows (current, replaced, tombstones) are one relation named
    # layout.log_table (Spark's view over the committed partitions, pruned by write id;
    # ClickHouse's MergeTree log, whose write id column alone is read): the ids touched since a
    # write are read there, rather than from the current and history views, which rank the
    # whole log.
    committed_log: bool = False
    # The log also holds rows of writes that never published (a write's rows reach the log
    # before its write-log row, which alone makes them visible): a read that counts the log's
    # rows keeps those whose write id is in the write log. Touched ids may include the others
    # (a superset only costs a comparison that finds them up to date).
    unpublished_rows: bool = False

    def parse_condition(self, text: str) -> Expr:
        """A user's SQL condition over a feature's columns, in this engine's SQL (may raise
        sqlglot's ParseError)."""
        import sqlglot

        return sqlglot.parse_one(text, read=self.conditions() if self.conditions else self.name)

    def identifier(self, name: str) -> str:
        """How this engine's store spells the logical name `name` (shortened past the limit)."""
        if self.max_identifier_length is None:
            return name
        return short_identifier(name, self.max_identifier_length)
    delete: Callable[[exp.Table, Expr], exp.Expression] = _delete  # DELETE FROM table WHERE condition

    def value_text(self, value: Expr, portable_type: str) -> Expr:
        """The canonical text of a non-NULL value of a portable type (see the module doc)."""
        render = self.texts.get(portable_type)
        if render is None:
            raise DialectError(
                f"dialect {self.name!r} has no canonical text for {portable_type} values, so "
                f"{portable_type} columns cannot be hashed as root sources there"
            )
        return render(value)

    def column_type(self, portable_type: str) -> exp.DataType:
        """The SQL type that stores a portable column type on this engine."""
        return exp.DataType.build(self.types[portable_type], dialect=self.name)

    def stores_as(self, sql_type: str, portable_type: str) -> bool:
        """Whether a column of SQL type `sql_type` (as the engine reports it) is the column this
        engine makes for `portable_type` (an unparsable type is not)."""
        from sqlglot.errors import SqlglotError

        try:
            stored = exp.DataType.build(sql_type, dialect=self.name)
        except (SqlglotError, ValueError):
            return False
        return stored.this == self.column_type(portable_type).this

    def timestamp_literal(self, when: datetime) -> Expr:
        """A naive timestamp (metaxy's write times) as a typed literal in canonical text."""
        return exp.cast(exp.Literal.string(when.strftime(TIMESTAMP_FORMAT)), self.column_type("timestamp"))


# ---- text renderers shared by several engines ------------------------------------------------


def _string(value: Expr) -> Expr:
    return value


def _cast_text(value: Expr) -> Expr:
    return exp.cast(value, exp.DataType.Type.TEXT)


def _boolean(value: Expr) -> Expr:
    return (
        exp.case()
        .when(value, exp.Literal.string("true"), copy=False)
        .else_(exp.Literal.string("false"), copy=False)
    )


def _time_format(fmt: str) -> Callable[[Expr], Expr]:
    def render(value: Expr) -> Expr:
        # sqlglot translates the strftime format to each engine's own (TO_CHAR, DATE_FORMAT...).
        return exp.TimeToStr(this=value, format=exp.Literal.string(fmt))

    return render


def _lower_hex(value: Expr) -> Expr:
    return exp.LowerHex(this=value)


def _zero_or(render: Callable[[Expr], Expr]) -> Callable[[Expr], Expr]:
    """Both zeros print as '0': SQLite stores -0.0 as 0, so the sign cannot be portable."""

    def text(value: Expr) -> Expr:
        is_zero = exp.EQ(this=value, expression=exp.Literal.number(0))
        return (
            exp.case()
            .when(is_zero, exp.Literal.string("0"), copy=False)
            .else_(render(value.copy()), copy=False)
        )

    return text


def _printf_double(value: Expr) -> Expr:
    # https://duckdb.org/docs/sql/functions/char#printfformat-parameters (fmt: C semantics)
    return exp.Anonymous(this="PRINTF", expressions=[exp.Literal.string("%.17g"), value])


def _udf_double(value: Expr) -> Expr:
    return exp.Anonymous(this=DOUBLE_TEXT_UDF, expressions=[value])


def _postgres_hex(value: Expr) -> Expr:
    # https://www.postgresql.org/docs/current/functions-binarystring.html (encode: lowercase)
    return exp.Anonymous(this="ENCODE", expressions=[value, exp.Literal.string("hex")])


def _postgres_double(value: Expr) -> Expr:
    """C '%.17g' in PostgreSQL (12+ prints the shortest round trip instead): to_char's EEEE format
    is C "%+.16e" (17 significant digits, exactly rounded); '%g' then takes fixed notation for
    exponents -4..16 and drops trailing zeros, which trim_scale (13+) does. Fuzzed against
    double_text in tests/test_store_postgres.py (subnormals, 5e-324, 1.7976931348623157e308)."""
    # https://www.postgresql.org/docs/current/functions-formatting.html (EEEE, to_char)

    def scientific() -> Expr:
        return exp.Anonymous(this="TO_CHAR", expressions=[value.copy(), exp.Literal.string("9.9999999999999999EEEE")])

    def part(index: int) -> Expr:
        return exp.Anonymous(this="SPLIT_PART", expressions=[scientific(), exp.Literal.string("e"), exp.Literal.number(index)])

    def trimmed(text: Expr) -> Expr:
        return exp.cast(exp.Anonymous(this="TRIM_SCALE", expressions=[exp.cast(text, "DECIMAL")]), exp.DataType.Type.TEXT)

    def equals(special: str) -> Expr:
        return exp.EQ(this=value.copy(), expression=exp.cast(exp.Literal.string(special), "DOUBLE PRECISION"))

    fixed = exp.Between(this=exp.cast(part(2), "INT"), low=exp.Literal.number(-4), high=exp.Literal.number(16))
    exponent = exp.DPipe(this=exp.DPipe(this=trimmed(part(1)), expression=exp.Literal.string("e")), expression=part(2))
    return (
        exp.case()
        .when(equals("NaN"), exp.Literal.string("nan"), copy=False)
        .when(equals("Infinity"), exp.Literal.string("inf"), copy=False)
        .when(equals("-Infinity"), exp.Literal.string("-inf"), copy=False)
        .when(fixed, trimmed(scientific()), copy=False)
        .else_(exponent, copy=False)
    )


def _md5(value: Expr) -> Expr:
    # sqlglot's MD5 means "lowercase hex string"; it rewrites engines whose md5 returns bytes
    # (ClickHouse: LOWER(HEX(MD5(x)))).
    return exp.MD5(this=value)


def _lower_md5(value: Expr) -> Expr:
    return exp.Lower(this=exp.MD5(this=value))


_COMMON_TEXTS: dict[str, Callable[[Expr], Expr]] = {
    "string": _string,
    "integer": _cast_text,
    "boolean": _boolean,
    "date": _time_format(DATE_FORMAT),
    "timestamp": _time_format(TIMESTAMP_FORMAT),
    "binary": _lower_hex,
    "json": _cast_text,
}


def _texts(**overrides: Callable[[Expr], Expr] | None) -> dict[str, Callable[[Expr], Expr]]:
    merged = {**_COMMON_TEXTS, **overrides}
    return {name: render for name, render in merged.items() if render is not None}


def _clickhouse_finalize(query: exp.Query) -> exp.Query:
    # Without join_use_nulls, unmatched FULL JOIN columns get type defaults ('' / 0), not NULL.
    # https://clickhouse.com/docs/operations/settings/settings#join_use_nulls
    # prefer_column_name_to_alias: standard scoping, where an alias never shadows a column of
    # the same name in WHERE or in other projections (ClickHouse's default lets it).
    query = query.copy()
    settings = [
        exp.EQ(this=exp.var(name), expression=exp.Literal.number(1))
        for name in ("join_use_nulls", "prefer_column_name_to_alias")
    ]
    query.set("settings", settings)
    return query


def _postgres_finalize(query: exp.Query) -> exp.Query:
    """OFFSET 0 on each derived table that hashes every row of one table and is read whole (the
    FROM of its parent, not a join operand: a root's batch or listing): PostgreSQL pulls
    subqueries up and copies their expressions into every reference above, so each field's md5,
    read again by the sample hash, would be computed twice (root writes 1.5x slower). Joined
    subqueries stay open: there the planner's inlining lets compare.py and the write of a
    small batch hash only the rows that need it.
    https://www.postgresql.org/docs/current/queries-limit.html (OFFSET 0 keeps a subquery)."""
    query = query.copy()
    for subquery in query.find_all(exp.Subquery):
        inner = subquery.this
        if not isinstance(subquery.parent, exp.From) or not isinstance(inner, exp.Select):
            continue
        if inner.args.get("joins") or inner.args.get("limit") or inner.args.get("offset"):
            continue
        source = inner.args.get("from_")
        if source is not None and isinstance(source.this, exp.Table) and any(item.find(exp.MD5) for item in inner.expressions):
            inner.set("offset", exp.Offset(expression=exp.Literal.number(0)))
    return query
def _clickhouse_timestamp(value: Expr) -> Expr:
    # sqlglot writes strftime's %M (minutes) as %M, which ClickHouse's formatDateTime reads as the
    # month name; %i is its minutes. %f prints exactly 6 digits for any DateTime64 precision.
    # https://clickhouse.com/docs/sql-reference/functions/date-time-functions#formatdatetime
    return exp.Anonymous(this="formatDateTime", expressions=[value, exp.Literal.string("%Y-%m-%d %H:%i:%S.%f")])


def _clickhouse_double(value: Expr) -> Expr:
    # ClickHouse's function names are case-sensitive here: `printf`, not PRINTF.
    return exp.Anonymous(this="printf", expressions=[exp.Literal.string("%.17g"), value])


def _clickhouse_delete(table: exp.Table, condition: Expr) -> exp.Expression:
    # A lightweight DELETE FROM resolves a temporary table in the default database and fails;
    # the ALTER TABLE form (a mutation) works on every table engine metaxy uses.
    return exp.Alter(this=table, kind="TABLE", actions=[exp.Delete(where=exp.Where(this=condition))])


_GENERIC_TYPES = {
    "string": "TEXT", "integer": "BIGINT", "double": "DOUBLE", "boolean": "BOOLEAN",
    "date": "DATE", "timestamp": "TIMESTAMP", "binary": "VARBINARY", "json": "JSON",
}  # fmt: skip

@cache
def _ansi_spark() -> Any:
    """Spark SQL as metaxy's Spark sessions run it, ANSI double-quoted identifiers on: `"order"`
    is a column, as in the queries a user runs there (sqlglot's spark reads it as a string)."""
    from sqlglot.dialects.dialect import _Dialect
    from sqlglot.dialects.spark import Spark

    class MetaxyAnsiSpark(Spark):
        class Tokenizer(Spark.Tokenizer):
            QUOTES = ["'"]  # noqa: RUF012 (sqlglot's own class attributes)
            IDENTIFIERS = ["`", '"']  # noqa: RUF012

    _Dialect._classes.pop("metaxyansispark", None)  # not a dialect to name in `metaxy sql`
    return MetaxyAnsiSpark


PROFILES: dict[str, DialectProfile] = {
    "duckdb": DialectProfile(
        name="duckdb",
        hash=_md5,
        texts=_texts(double=_zero_or(_printf_double)),
        types={**_GENERIC_TYPES, "string": "VARCHAR", "binary": "BLOB"},
        row_locator="rowid",
    ),
    # SQLite has no md5 and its printf cannot print doubles exactly: the store registers UDFs.
    # Storage: boolean 0/1, date and timestamp as canonical text, json as text.
    "sqlite": DialectProfile(
        name="sqlite",
        hash=_md5,
        texts=_texts(double=_zero_or(_udf_double), date=_string, timestamp=_string),
        types={
            "string": "TEXT",
            "integer": "INTEGER",
            "double": "REAL",
            "boolean": "INTEGER",
            "date": "TEXT",
            "timestamp": "TEXT",
            "binary": "BLOB",
            "json": "TEXT",
        },
        udfs=(Udf("md5", 1, md5_hex), Udf(DOUBLE_TEXT_UDF, 1, double_text)),
        ordered_concat=_udf_agg,
        aggregates=(Udf(ORDERED_CONCAT_UDF, -1, OrderedConcat),),
    ),
    # json is stored as TEXT: PostgreSQL has no implicit text -> json assignment cast, and staged
    # batches hold it as text (DuckDB has validated it). Names longer than 63 bytes are shortened.
    "postgres": DialectProfile(
        name="postgres",
        hash=_md5,
        texts=_texts(binary=_postgres_hex, double=_zero_or(_postgres_double)),
        types={**_GENERIC_TYPES, "double": "DOUBLE PRECISION", "binary": "BYTEA", "json": "TEXT"},
        finalize=_postgres_finalize,
        max_identifier_length=63,
        ordered_concat=_postgres_agg,
    ),
    # Types are Nullable: a plain String column stores NULL as '' (and CAST(NULL AS String) fails),
    # which would hash differently. Timestamps are pinned to UTC so their text never depends on
    # the server's or session's time zone. printf is C's: '%.17g' matches DuckDB byte for byte.
    "clickhouse": DialectProfile(
        name="clickhouse",
        hash=_md5,
        texts=_texts(double=_zero_or(_clickhouse_double), timestamp=_clickhouse_timestamp),
        types={
            "string": "Nullable(String)",
            "integer": "Nullable(Int64)",
            "double": "Nullable(Float64)",
            "boolean": "Nullable(Bool)",
            "date": "Nullable(Date32)",
            "timestamp": "Nullable(DateTime64(6, 'UTC'))",
            "binary": "Nullable(String)",
            "json": "Nullable(String)",
        },
        finalize=_clickhouse_finalize,
        delete=_clickhouse_delete,
        ordered_concat=_clickhouse_agg,
        committed_log=True,
        unpublished_rows=True,
    ),
    # Spark: Java's '%.17g' rounds from the shortest repr (0.1 -> 0.10000000000000000), so a
    # double's text comes from a Python UDF, as on SQLite (the store registers it). Timestamps
    # are TIMESTAMP_NTZ: the default TIMESTAMP is zoned (LTZ) and would print in the session's
    # time zone, so the same value would hash differently per cluster setting.
    "spark": DialectProfile(
        name="spark",
        hash=_md5,
        texts=_texts(double=_zero_or(_udf_double)),
        types={
            **_GENERIC_TYPES, "string": "STRING", "binary": "BINARY", "json": "STRING",
            "timestamp": "TIMESTAMP_NTZ",
        },
        udfs=(Udf(DOUBLE_TEXT_UDF, 1, double_text),),
        conditions=_ansi_spark,
        ordered_concat=_spark_agg,
        committed_log=True,
    ),
}


def known_dialects() -> list[str]:
    """Every dialect name sqlglot knows (the generic one excepted)."""
    from sqlglot.dialects.dialect import Dialect

    return sorted(name for name in Dialect.classes if name)


def profile_for(name: str) -> DialectProfile:
    """The profile of a dialect: a specific one, else a generic one for any sqlglot dialect."""
    key = name.strip().lower()
    if key in PROFILES:
        return PROFILES[key]
    if key not in known_dialects():
        from metaxy_cli.definitions.suggest import did_you_mean

        raise DialectError(f"unknown SQL dialect {name!r}{did_you_mean(key, known_dialects())}")
    return DialectProfile(
        name=key,
        hash=_lower_md5,
        texts=_texts(),
        types=_GENERIC_TYPES,
        specific=False,
    )


def register_udfs(connection: Any, profile: DialectProfile) -> None:
    """Register the profile's UDFs on a DB-API connection with `create_function` (SQLite)."""
    for udf in profile.udfs:
        connection.create_function(udf.name, udf.nargs, udf.fn, deterministic=True)
    for udf in profile.aggregates:
        connection.create_aggregate(udf.name, udf.nargs, udf.fn)


__all__ = [
    "PROFILES",
    "DialectProfile",
    "Udf",
    "double_text",
    "known_dialects",
    "md5_hex",
    "profile_for",
    "register_udfs",
    "short_identifier",
]  # fmt: skip
