"""What the PostgreSQL store says and converts: URLs with the password masked, libpq errors as one
line with what to do, and Arrow types to and from PostgreSQL's (CSV for COPY, type OIDs)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

MASK = "***"
_CONNINFO_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def masked_url(url: str) -> str:
    """The URL (or key=value conninfo) as shown in messages: never the password."""
    match = re.match(r"^(postgres(?:ql)?://)([^/?#]*)(.*)$", url, re.DOTALL)
    if not match:
        return _CONNINFO_PASSWORD.sub(lambda m: m.group(1) + MASK, url)
    scheme, netloc, rest = match.groups()
    if "@" in netloc:
        user, _, hosts = netloc.rpartition("@")
        if ":" in user:
            user = user.split(":", 1)[0] + ":" + MASK
        netloc = f"{user}@{hosts}"
    return scheme + netloc + _QUERY_PASSWORD.sub(lambda m: m.group(1) + MASK, rest)


# (pattern in libpq's message, what to do) — the first match wins.
_CONNECT_HINTS = (
    (r"password authentication failed|no password supplied|authentication failed",
     "check the user and password in `url` (e.g. the METAXY_PG_URL it expands)"),
    (r'database "([^"]+)" does not exist', "create it (createdb {0}) or fix the database name in `url`"),
    (r'role "([^"]+)" does not exist', "create the role or fix the user name in `url`"),
    (r"resolve host|translate host name|Name or service not known", "fix the host name in `url`"),
    (r"Connection refused|could not connect|timeout expired|No such file or directory|Network is unreachable",
     "is PostgreSQL running there? Start it (scripts/test-services start for a test server) or fix host and port in `url`"),
    (r"invalid|missing \"=\"|unexpected|URI", "`url` must look like postgresql://user:password@host:port/database"),
)  # fmt: skip


def connect_hint(message: str) -> str:
    """libpq's connection failure on one line, without its prefixes, plus what to do."""
    text = " ".join(message.split())
    for prefix in ("connection failed: ", "connection is bad: "):
        text = text.removeprefix(prefix)
    if text.startswith("connection to server") and " failed: " in text:
        text = text.split(" failed: ", 1)[1]
    text = text.replace("FATAL: ", "")
    for pattern, advice in _CONNECT_HINTS:
        found = re.search(pattern, text)
        if found:
            return f"{text} ({advice.format(*found.groups())})"
    return text


def explain(message: str, schema: str | None) -> str:
    """A statement error, with what to do where the cause is the server's setup."""
    where = f"schema {schema!r}" if schema else "the store's schema"
    if message == "canceling statement due to lock timeout":
        return "another process is writing to this store (waited lock_timeout; raise it in the store's settings)"
    if message.startswith("permission denied for database"):
        return f"{message} (cannot create {where}: create it as the database owner, or grant the user CREATE on the database)"
    if message.startswith("permission denied"):
        return f"{message} (the user in `url` cannot write to {where}: grant it CREATE, INSERT, UPDATE and DELETE there, or use a user that has them)"
    if "read-only transaction" in message:
        return f"{message} (the server or the user is read-only, e.g. a standby or default_transaction_read_only: point `url` at a writable primary)"
    return message


_ARROW = {"string": "string", "integer": "int64", "double": "float64", "boolean": "bool",
          "binary": "binary", "json": "string", "date": "date32", "timestamp": "timestamp[us]"}  # fmt: skip
# Built-in type OIDs (pg_type): bool 16, bytea 17, name 19, int8 20, int2 21, int4 23, text 25,
# json 114, float4 700, float8 701, bpchar 1042, varchar 1043, date 1082, timestamp 1114, jsonb 3802.
_OIDS = {16: "bool", 17: "binary", 19: "string", 20: "int64", 21: "int64", 23: "int64", 25: "string",
         114: "string", 700: "float64", 701: "float64", 1042: "string", 1043: "string", 1082: "date32",
         1114: "timestamp[us]", 3802: "string"}  # fmt: skip


def arrow_type(oid: int, portable: str | None) -> pa.DataType | None:
    """The Arrow type of a result column: from the caller's portable type, else from its type
    OID; None for other types (the caller infers it from the values)."""
    import pyarrow as pa

    if portable is not None:
        return pa.type_for_alias(_ARROW[portable])
    if oid == 1184:  # timestamptz, read in the session's UTC
        return pa.timestamp("us", tz="UTC")
    alias = _OIDS.get(oid)
    return None if alias is None else pa.type_for_alias(alias)


def portable_type(arrow: pa.DataType) -> str:
    """The portable column type that stores an Arrow type."""
    import pyarrow as pa

    if pa.types.is_dictionary(arrow):
        arrow = arrow.value_type
    checks = [
        (pa.types.is_boolean, "boolean"), (pa.types.is_integer, "integer"),
        (pa.types.is_floating, "double"), (pa.types.is_date, "date"),
        (pa.types.is_timestamp, "timestamp"), (pa.types.is_binary, "binary"),
        (pa.types.is_large_binary, "binary"),
    ]  # fmt: skip
    return next((name for check, name in checks if check(arrow)), "string")


def csv_ready(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Columns as PostgreSQL's CSV input reads them: NULL is an unquoted empty field and '' a
    quoted one (pyarrow quotes every string), timestamps as naive UTC (PostgreSQL ignores an
    offset given to a `timestamp`), bytea as '\\x' hex, other types as text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    plain = (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean, pa.types.is_date,
             pa.types.is_string, pa.types.is_large_string)  # fmt: skip
    arrays = []
    for column in batch.columns:
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        if pa.types.is_timestamp(column.type):
            column = pc.cast(column, pa.timestamp("us"))  # tz-aware -> its UTC wall time
        elif pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
            column = pa.array([None if v is None else "\\x" + v.hex() for v in column.to_pylist()], pa.string())
        elif not any(check(column.type) for check in plain):
            column = pc.cast(column, pa.string())
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)
