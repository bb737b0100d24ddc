"""The two ways to reach ClickHouse, behind one small interface: the embedded engine (chdb) on a
folder, and a server (clickhouse-connect). The store (clickhouse.py) sends both the same SQL text.

Every session runs with the same settings (SESSION_SETTINGS): UTC, standard NULL and alias
semantics, NULL never silently stored as '' or 0, and synchronous deletes.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from metaxy_cli.definitions.errors import StoreError

if TYPE_CHECKING:
    import pyarrow as pa

SESSION_SETTINGS: dict[str, Any] = {
    # Naive timestamps are read and written as UTC, whatever the machine's or server's zone.
    "session_timezone": "UTC",
    # Unmatched FULL / LEFT JOIN columns are NULL, not the type's default ('' / 0).
    "join_use_nulls": 1,
    # An alias never shadows a column of the same name (standard SQL scoping).
    "prefer_column_name_to_alias": 1,
    # Inserting NULL into a non-Nullable column fails instead of storing '' or 0.
    "insert_null_as_default": 0,
    # ALTER ... DELETE (staged rows, rolled-back writes) finishes before the statement returns.
    "mutations_sync": 2,
    "lightweight_deletes_sync": 2,
}
LOCK_POLL = 0.2
ARROW_INPUT = "metaxy_arrow_input"  # the name `insert_over_arrow`'s statement reads its data by
ARROW_FORMAT = "ArrowStream"  # the format chdb reads that data in (file(ARROW_INPUT, ARROW_FORMAT))
# Statements that leave every table's columns as they were: they do not invalidate what was read
# of the catalog (an INSERT, a lightweight DELETE, a query, the session's temporary tables; any
# other statement may be DDL).
_KEEPS_CATALOG = re.compile(r"\s*(INSERT|SELECT|WITH|SET|DELETE|(CREATE|DROP)\s+TEMPORARY)\b", re.IGNORECASE)
_LOCKED = "Failed to create connection"  # chdb: another process holds the folder's lock


class EngineError(Exception):
    """A ClickHouse error, as one line (the store adds its name)."""


def one_line(error: BaseException | str) -> str:
    """ClickHouse's message on one line, without the echoed query (`In scope SELECT ...`) or a
    stack trace."""
    text = " ".join(str(error).split())
    text = re.sub(r"^(Streaming query failed|Failed to create connection): ", "", text)
    text = re.sub(r",? Stack trace .*?(?=( \([A-Z_]+\))?$)", "", text, count=1)
    text = re.sub(r" In scope .*?(?=( \([A-Z_]+\))?$)", "", text, count=1)
    return text or type(error).__name__


class Connection:
    """What the store needs from a session: statements, Arrow results, Arrow in."""

    location: str
    # The table function through which `insert_over_arrow`'s statement reads its data, or None
    # when this connection's statements cannot read Arrow data in place (a server).
    arrow_function: str | None = None

    def catalog_version(self) -> int | None:
        """A number that changes whenever a statement that may change a table's columns runs on
        this database, or None when that cannot be known (a server: other clients change it),
        and nothing read of the catalog may be kept."""
        return None

    def command(self, sql: str) -> None:
        raise NotImplementedError

    def query_arrow(self, sql: str) -> pa.Table:
        raise NotImplementedError

    def stream(self, sql: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
        """The result in batches; an empty result yields none (the store asks for its schema)."""
        yield from self.query_arrow(sql).to_batches(batch_rows)

    def insert_arrow(self, table: str, data: pa.Table | pa.RecordBatchReader) -> None:
        raise NotImplementedError

    def insert_over_arrow(self, insert_sql: str, data: pa.Table | pa.RecordBatchReader) -> None:
        """Run an INSERT ... SELECT whose SELECT reads `data` as
        `arrow_function('ARROW_INPUT', 'ARROW_FORMAT')`."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class ChdbConnection(Connection):
    """The embedded engine on a folder. chdb opens one folder per process, and a folder in one
    process at a time (an OS lock, released when the holder exits, even by SIGKILL)."""

    # A file of the Arrow stream, unless the process has pandas (insert_over_arrow): chdb's
    # Python() reads the stream in place but imports pandas on first use (0.25-0.35 s, every
    # write command of the CLI), and a first write of 1M rows through it took 2.4-3.9 s against
    # 1.5-1.8 s through the file (warm: 1.26-1.34 s against 1.39-1.55 s).
    arrow_function = "file"
    # Statements that may change the catalog, run per folder by this process: no other process
    # opens the folder meanwhile (the folder's lock), and every store of this process on it
    # counts here.
    _statements: dict[str, int] = {}

    def __init__(self, session: Any, location: str):
        self.session = session
        self.location = location

    @classmethod
    def open(cls, name: str, path: str, lock_timeout: float) -> ChdbConnection:
        """Open the folder, waiting up to `lock_timeout` s while another process has it open."""
        from chdb import session as chdb_session

        deadline = time.monotonic() + lock_timeout
        while True:
            with _captured_stderr() as captured:
                try:
                    opened = chdb_session.Session(path)
                    break
                except RuntimeError as error:
                    failure = error
            reason = _lock_reason(captured())
            # Another process starting on the folder at the same moment can also fail the start
            # with no reason printed at all: as transient as a held lock, so waited out too.
            racing = not reason and "EmbeddedServer" in str(failure) and not _engine_reason(captured())
            if (reason or racing) and time.monotonic() < deadline:
                time.sleep(LOCK_POLL)
                continue
            if reason:
                message = f"another process has it open (waited {lock_timeout:g} s; lock_timeout in the store's settings)"
            elif "already initialized with path" in str(failure):
                message = "this process already has another ClickHouse store folder open (chdb opens one folder per process)"
            else:
                message = _engine_reason(captured()) or one_line(failure)
            raise StoreError(f"cannot open store {name!r} at {path}: {message}") from None
        connection = cls(opened, path)
        try:
            for setting, value in SESSION_SETTINGS.items():
                connection.command(f"SET {setting} = {_literal(value)}")
        except EngineError as error:
            connection.close()
            raise StoreError(f"cannot open store {name!r} at {path}: {error}") from None
        return connection

    def _session(self) -> Any:
        if self.session is None:
            raise StoreError(f"the ClickHouse store at {self.location} is closed")
        return self.session

    def command(self, sql: str) -> None:
        if not _KEEPS_CATALOG.match(sql):
            self._statements[self.location] = self._statements.get(self.location, 0) + 1
        self._run(sql, "CSV")

    def catalog_version(self) -> int | None:
        return self._statements.get(self.location, 0)

    def query_arrow(self, sql: str) -> pa.Table:
        import pyarrow as pa

        # The Arrow IPC bytes read here: chdb's "ArrowTable" format imports pandas first (0.25 s).
        result = self._run(sql, "Arrow")
        if len(result) == 0:
            return pa.table({})
        return pa.ipc.open_file(result.get_memview().view()).read_all()

    def stream(self, sql: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
        try:
            reader = self._session().send_query(sql, "Arrow").record_batch(rows_per_batch=batch_rows)
        except RuntimeError as error:
            raise EngineError(one_line(error)) from None
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except RuntimeError as error:
                raise EngineError(one_line(error)) from None
            # The engine's batches follow its own blocks: at most `batch_rows` rows each here.
            for start in range(0, batch.num_rows, batch_rows):
                yield batch.slice(start, batch_rows)

    def insert_arrow(self, table: str, data: pa.Table | pa.RecordBatchReader) -> None:
        columns = ", ".join(quote(name) for name in data.schema.names)  # by name, as the server path
        source = f"{self.arrow_function}('{ARROW_INPUT}', '{ARROW_FORMAT}')"
        self.insert_over_arrow(f"INSERT INTO {quote(table)} ({columns}) SELECT * FROM {source}", data)

    def insert_over_arrow(self, insert_sql: str, data: pa.Table | pa.RecordBatchReader) -> None:
        import pyarrow as pa
        import pyarrow.ipc  # noqa: F401 (pa.ipc)

        source = f"{self.arrow_function}('{ARROW_INPUT}', '{ARROW_FORMAT}')"
        if insert_sql.count(source) != 1:
            raise ValueError(f"an insert over Arrow data reads {source} once: {insert_sql[:200]}")
        reader = data.to_reader() if isinstance(data, pa.Table) else data
        if sys.modules.get("pandas") is not None:  # Python()'s import is paid: it reads in place
            # chdb's Python() table function finds the data by this local variable's name.
            metaxy_arrow_input = pa.RecordBatchReader.from_batches(reader.schema, map(_zero_null_slots, reader))  # noqa: F841
            self.command(insert_sql.replace(source, f"Python({ARROW_INPUT})"))
            return
        # The stream written to a file chdb reads (removed when done, also on an error).
        with tempfile.NamedTemporaryFile(prefix="metaxy-batch-", suffix=".arrows") as handle:
            with pa.ipc.new_stream(handle, reader.schema) as writer:
                for batch in reader:
                    writer.write_batch(_zero_null_slots(batch))
            handle.flush()
            path = handle.name.replace("\\", "\\\\").replace("'", "\\'")
            self.command(insert_sql.replace(source, f"{self.arrow_function}('{path}', '{ARROW_FORMAT}')"))

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def _run(self, sql: str, fmt: str) -> Any:
        try:
            return self._session().query(sql, fmt)
        except RuntimeError as error:  # chdb._exceptions.ChdbError is a RuntimeError
            raise EngineError(one_line(error)) from None


class ServerConnection(Connection):
    """A ClickHouse server over HTTP(S), or any clickhouse-connect client (its chdb client in
    tests). Results are read whole (`stream` materialises them); temporary tables live in the
    client's session."""

    def __init__(self, client: Any, location: str):
        self.client = client
        self.location = location

    @classmethod
    def open(cls, name: str, url: str, connect_timeout: float) -> ServerConnection:
        import clickhouse_connect
        from clickhouse_connect.driver.exceptions import ClickHouseError

        shown = masked(url)
        problem = _url_problem(url)
        if problem:
            raise StoreError(f"store {name!r}: url {shown} {problem}")
        try:
            client = clickhouse_connect.get_client(
                dsn=_http_dsn(url), settings=dict(SESSION_SETTINGS), connect_timeout=connect_timeout,
                autogenerate_session_id=True,
            )  # fmt: skip
        except ClickHouseError as error:
            raise StoreError(f"cannot open store {name!r} at {shown}: {_server_problem(error)}") from None
        return cls(client, shown)

    def command(self, sql: str) -> None:
        self._call(lambda client: client.command(sql))

    def query_arrow(self, sql: str) -> pa.Table:
        # Strings as Arrow strings, not binary (the chdb session's default too).
        return self._call(lambda client: client.query_arrow(sql, use_strings=True))

    def insert_arrow(self, table: str, data: pa.Table | pa.RecordBatchReader) -> None:
        import pyarrow as pa

        batches = data.to_batches() if isinstance(data, pa.Table) else data
        for batch in batches:
            self._call(lambda client, batch=batch: client.insert_arrow(table, pa.Table.from_batches([batch])))

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def _call(self, action: Any) -> Any:
        from clickhouse_connect.driver.exceptions import ClickHouseError

        if self.client is None:
            raise StoreError(f"the ClickHouse store at {self.location} is closed")
        try:
            return action(self.client)
        except ClickHouseError as error:
            raise EngineError(one_line(error)) from None


def masked(url: str) -> str:
    """The url with its password replaced by ***, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


_SCHEMES = {"clickhouse": "http", "clickhouses": "https", "http": "http", "https": "https"}


def _url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        return f"must start with {', '.join(s + '://' for s in _SCHEMES)} (got {parts.scheme or 'no'} scheme)"
    if not parts.hostname:
        return "names no host"
    try:
        _ = parts.port  # parsed on access
    except ValueError:
        return "has an invalid port"
    return None


def _http_dsn(url: str) -> str:
    """clickhouse:// (HTTP, port 8123) and clickhouses:// (HTTPS) as the http(s) DSN the client reads."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme=_SCHEMES[parts.scheme]))


def _server_problem(error: BaseException) -> str:
    text = one_line(error)
    if "Connection refused" in text or "Failed to establish" in text or "timed out" in text.lower():
        return "cannot reach the server (is it running? check host and port in the store's url)"
    if "Authentication failed" in text or "AUTHENTICATION_FAILED" in text or "REQUIRED_PASSWORD" in text:
        return "the server refused the user or password (check the store's url)"
    if "UNKNOWN_DATABASE" in text:
        return "the database does not exist (create it, or fix the url's path)"
    return text


def _engine_reason(stderr: str) -> str | None:
    """The engine's own error line, which chdb writes only to stderr when a folder cannot open."""
    found = re.search(r"Code: \d+\. DB::Exception: .*", stderr)
    return one_line(found.group(0)) if found else None


def _lock_reason(stderr: str) -> bool:
    return "Cannot lock file" in stderr or "Another server instance" in stderr


@contextmanager
def _captured_stderr() -> Iterator[Any]:
    """Collect what chdb writes to file descriptor 2 while opening (the reason a folder cannot be
    opened goes only there), instead of letting it reach the terminal."""
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        text: list[str] = []
        try:
            yield lambda: text[0] if text else ""
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text.append(sink.read().decode("utf-8", "replace"))


def _zero_null_slots(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Dates and timestamps with 0 under their NULLs: chdb's Arrow input range-checks the value
    stored under a NULL too, and DuckDB leaves INT_MIN there (out of Date32's range)."""
    import pyarrow as pa

    columns = []
    for column in batch.columns:
        temporal = pa.types.is_date32(column.type) or pa.types.is_timestamp(column.type)
        if temporal and column.null_count:
            import pyarrow.compute as pc  # here: its import is 0.07 s of a command that may not need it

            storage = pa.int32() if pa.types.is_date32(column.type) else pa.int64()
            filled = pc.fill_null(column.view(storage), 0)
            validity = pc.is_valid(column).buffers()[1]
            column = pa.Array.from_buffers(column.type, len(column), [validity, filled.buffers()[1]], null_count=column.null_count)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


def _literal(value: Any) -> str:
    return str(value) if isinstance(value, int) else "'" + str(value).replace("'", "\\'") + "'"


def quote(identifier: str) -> str:
    """A ClickHouse identifier, quoted."""
    from sqlglot import exp

    return exp.to_identifier(identifier, quoted=True).sql("clickhouse")
