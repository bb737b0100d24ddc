"""The ClickHouse store on the embedded engine (chdb, a real folder): the contract, the log and its
views, write ids, the folder lock, concurrent writers, bad input; the server settings (no server
runs here: parsing and the unreachable case only)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlglot import exp

from metaxy_cli import engine
from metaxy_cli.definitions.errors import StoreError
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.store.clickhouse import WRITE_IDS, ClickHouseStore
from metaxy_cli.store.config import open_store
from metaxy_cli.store.duckdb import DuckDBStore
from tests import store_contract as contract

VIDEO, CROP = "example/video", "example/crop"
GOLDEN = Path(__file__).resolve().parent / "golden" / "sql"


@pytest.fixture
def store(tmp_path: Path):
    opened = ClickHouseStore.open(tmp_path / "store", name="ch")
    yield opened
    opened.close()


def videos(count: int, prefix: str = "s", audio: str = "a") -> list[dict]:
    return [
        {"sample_uid": f"{prefix}{i}", "path": f"/v/{i}", "audio_sha": f"{audio}{i}", "frames_sha": f"f{i}",
         "frames": i, "duration": i / 4, "size": 10 * i}
        for i in range(count)
    ]  # fmt: skip


def visible(store: ClickHouseStore) -> dict[str, list[tuple]]:
    """What readers see: every view and the write log, rows sorted."""
    names = store.fetch_all(
        "SELECT name FROM system.tables WHERE database = currentDatabase() AND (engine = 'View' OR name = 'metaxy_writes')"
    )
    return {name: sorted(store.fetch_all(f'SELECT * FROM "{name}"'), key=repr) for (name,) in names}


# -- the contract every store meets -----------------------------------------------------------------


def test_tables(store) -> None:
    contract.check_tables(store)


def test_stage_and_fetch(store, tmp_path: Path) -> None:
    contract.check_stage_and_fetch(store, tmp_path)


def test_transaction(store) -> None:
    contract.check_transaction(store)


def test_errors(store) -> None:
    contract.check_errors(store)


def test_unopenable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"garbage" * 1000)
    with pytest.raises(StoreError, match=rf"^cannot open store 'clickhouse' at {blocker}: it is a file, and a ClickHouse store is a folder$"):
        ClickHouseStore.open(blocker)
    with pytest.raises(StoreError, match=r"^cannot open store 'clickhouse' at .*: Not a directory$"):
        ClickHouseStore.open(blocker / "sub")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "data").write_bytes(b"not a folder")
    with pytest.raises(StoreError) as raised:
        ClickHouseStore.open(broken)
    message = str(raised.value)
    assert message.startswith(f"cannot open store 'clickhouse' at {broken}: Code: ") and "\n" not in message
    assert "Stack trace" not in message and blocker.read_bytes() == b"garbage" * 1000


def test_folder_persists_and_memory_store(tmp_path: Path) -> None:
    with ClickHouseStore.open(tmp_path / "deep" / "er") as store:
        store.ensure_table("t", contract.COLUMNS)
    with ClickHouseStore.open(tmp_path / "deep" / "er") as store:
        assert store.list_columns("t") == [name for name, _ in contract.COLUMNS]
    with ClickHouseStore.open(":memory:") as store:
        assert store.list_columns("t") is None


# -- storage: one log per feature, views over the published writes ---------------------------------


def test_log_is_a_merge_tree_by_ids_and_views_read_published_rows(overview_dir: Path, store) -> None:
    project = load_project(overview_dir)
    engine.write(project, store, VIDEO, videos(3))
    engine.write(project, store, VIDEO, videos(2, audio="b"))
    tables = dict(store.fetch_all(
        "SELECT name, engine || ' ' || sorting_key FROM system.tables WHERE database = currentDatabase() AND name LIKE '%video%'"
    ))  # fmt: skip
    assert tables == {
        "metaxy_log__example__video": "MergeTree sample_uid, metaxy_write_id",
        "example__video": "View ", "example__video__history": "View ",
    }  # fmt: skip
    assert store.fetch_all('SELECT count() FROM "metaxy_log__example__video"') == [(5,)]
    current = store.fetch_all('SELECT sample_uid, audio_sha, metaxy_write_id FROM "example__video" ORDER BY 1')
    assert current == [("s0", "b0", 2), ("s1", "b1", 2), ("s2", "a2", 1)]
    # Columns of the current view: the feature's table columns, as in every store.
    assert store.list_columns("example__video") == [name for name, _ in engine.resolved(project, VIDEO).table_columns]


def test_a_write_that_never_published_stays_invisible_and_its_id_is_never_reused(overview_dir: Path, store) -> None:
    """What a write killed before its write-log row leaves: rows in the log, a reserved id."""
    project = load_project(overview_dir)
    engine.write(project, store, VIDEO, videos(2))
    before = visible(store)
    feature = engine.resolved(project, VIDEO)
    lost = store.next_write_id()  # outside a transaction: nothing undoes it, as after SIGKILL
    store.execute(
        f'INSERT INTO "{feature.log_table}" (sample_uid, audio_sha, metaxy_write_id) VALUES (\'s0\', \'lost\', {lost}), (\'zz\', \'lost\', {lost})'
    )
    assert visible(store) == before
    engine.write(project, store, VIDEO, videos(1, audio="new"))
    ids = store.fetch_all("SELECT write_id FROM metaxy_writes ORDER BY 1")
    assert lost == 2 and ids == [(1,), (3,)]
    assert store.fetch_all(f'SELECT max(write_id) FROM "{WRITE_IDS}"') == [(3,)]
    current = store.fetch_all('SELECT sample_uid, audio_sha FROM "example__video" ORDER BY 1')
    assert current == [("s0", "new0"), ("s1", "a1")]


def test_checkpoints_are_appended_after_their_block(overview_dir: Path, store, monkeypatch) -> None:
    """A clean checkpoint is appended once its block succeeded, and only while the write it was
    proved at is still the newest (a write published meanwhile, e.g. by another process on a
    server, voids it); rows of a write that never published are not counted; a migration's
    forget removes every checkpoint."""
    from metaxy_cli.engine import changes

    monkeypatch.setattr(changes, "DELTA_LIMIT", 1e9)  # a few samples: the checkpoint path all the same
    project = load_project(overview_dir)
    crop = engine.resolved(project, CROP)
    engine.write(project, store, VIDEO, videos(3))
    engine.write(project, store, CROP, [{"sample_uid": f"s{i}"} for i in range(3)])
    found = store.checkpoint(crop)
    assert found is not None and found[1] == 3

    with pytest.raises(ZeroDivisionError), store.transaction():
        store.record_checkpoint(crop, found[0], 99)
        1 / 0
    with store.transaction():
        store.record_checkpoint(crop, found[0], 99)
        engine.write(project, store, VIDEO, videos(1, audio="new"))  # published in the block
    assert store.checkpoint(crop) == found
    assert len(engine.increment(project, store, CROP)) == 1

    lost = store.next_write_id()  # a crop write killed before publishing: rows never counted
    store.execute(f'INSERT INTO "{crop.log_table}" (sample_uid, metaxy_write_id) VALUES (\'s1\', {lost}), (\'zz\', {lost})')
    engine.delete(project, store, CROP, ids=[{"sample_uid": "s2"}])
    summary = engine.summary(project, store, CROP)
    assert (summary.new, summary.stale, summary.orphaned, summary.up_to_date) == (1, 1, 0, 1)
    assert summary == engine.summary(project, store, CROP, full=True)
    assert sorted(r["sample_uid"] for r in engine.increment(project, store, CROP).rows()) == ["s0", "s2"]

    with store.transaction():
        store.forget_checkpoints()
    assert store.checkpoint(crop) is None


def test_a_failed_write_is_undone(overview_dir: Path, store) -> None:
    """A write that raises after its tables were created and rows appended leaves nothing."""
    project = load_project(overview_dir)
    engine.write(project, store, VIDEO, videos(2))
    before = visible(store)
    with pytest.raises(Exception, match="no upstream rows"):
        engine.write(project, store, CROP, [{"sample_uid": "s0"}, {"sample_uid": "nope"}])
    assert visible(store) == before
    assert store.list_columns("metaxy_log__example__crop") is None
    assert store.fetch_all(f'SELECT count() FROM "{WRITE_IDS}"') == [(2,)]  # the failed write's id stays taken


def test_stream_read_after_another_statement(store) -> None:
    """A chdb session runs one query at a time: a reader still open is read to its end first."""
    store.execute("CREATE TABLE n ENGINE = MergeTree ORDER BY x AS SELECT number AS x FROM numbers(10000)")
    reader = store.fetch_batches('SELECT x FROM "n" ORDER BY x', 1000)
    first = reader.read_next_batch()
    assert store.fetch_all("SELECT 42") == [(42,)]
    rest = [value for batch in reader for value in batch.column(0).to_pylist()]
    assert first.column(0).to_pylist() + rest == list(range(10000))


def test_golden_sql_runs_on_chdb_like_duckdb(overview_dir: Path, tmp_path: Path) -> None:
    """tests/golden/sql/clickhouse/*.sql, run as they are on chdb, give the rows that the
    DuckDB files give on DuckDB for the same stored data."""
    from metaxy_cli.store.batch import load_batch

    project = load_project(overview_dir)
    results = {}
    for backend, dialect in ((DuckDBStore, "duckdb"), (ClickHouseStore, "clickhouse")):
        with backend.open(tmp_path / dialect) as store:
            engine.write(project, store, VIDEO, videos(6))
            for key in (CROP, "example/face_detection", "example/stt"):
                engine.write(project, store, key, engine.increment(project, store, key).to_arrow())
            engine.write(project, store, VIDEO, videos(3, audio="b"))
            found = {}
            for path in sorted((GOLDEN / dialect).glob("*.sql")):
                key = path.name.split(".")[0].replace("__", "/")
                feature = engine.resolved(project, key)
                batch = videos(4) if feature.is_root else [{"sample_uid": f"s{i}"} for i in range(4)]
                load_batch(store, feature, batch)
                found[path.name] = sorted(tuple(map(_plain, row)) for row in store.fetch_all(path.read_text()))
                store.drop_table("metaxy_batch")
            results[dialect] = found
    assert sorted(results["clickhouse"]) == sorted(results["duckdb"]) and len(results["duckdb"]) == 8
    assert results["clickhouse"] == results["duckdb"]
    assert any(rows for name, rows in results["duckdb"].items() if name.endswith("increment.sql"))


def _plain(value):
    """chdb returns flags computed by comparisons as 0/1."""
    return int(value) if isinstance(value, bool) else value


# -- bad input --------------------------------------------------------------------------------------


def test_stored_type_differs_from_declared(overview_dir: Path, store) -> None:
    project = load_project(overview_dir)
    engine.write(project, store, VIDEO, videos(2))
    before = visible(store)
    video = overview_dir / "features" / "video.yaml"
    video.write_text(video.read_text().replace("frames: integer", "frames: string"))
    changed = load_project(overview_dir)
    expected = (
        "feature example/video: column 'frames' is stored as Nullable(Int64) in store 'ch' but the YAML declares it "
        "string (Nullable(String)): declare its stored type again, or give the new type a new column name"
    )
    for attempt in (lambda: engine.write(changed, store, VIDEO, videos(2)), lambda: engine.increment(changed, store, CROP)):
        with pytest.raises(StoreError) as raised:
            attempt()
        assert str(raised.value) == expected
    assert visible(store) == before


RESERVED = """\
project: reserved
features:
  - key: items
    columns: {order: integer, select: string, user: string, "group": json}
  - key: scored
    deps: [items]
"""
AWKWARD = ["it's", 'say "hi"', "back\\slash", "tab\tnew\nline", "é 日本 🙂", "", "--; DROP TABLE x", "\\'"]


def test_reserved_words_quotes_and_unicode(tmp_path: Path) -> None:
    """Columns named order/select/user/group and awkward values: the same versions as DuckDB,
    and a --where on a reserved column name deletes the right rows."""
    (tmp_path / "metaxy.yaml").write_text(RESERVED)
    project = load_project(tmp_path)
    rows = [
        {"sample_uid": value or "empty", "order": i, "select": value, "user": value[::-1], "group": '{"k": "' + str(i) + '"}'}
        for i, value in enumerate(AWKWARD)
    ]  # fmt: skip
    rows.append({"sample_uid": "ü'\"", "order": None, "select": None, "user": None, "group": None})
    stored = {}
    for backend in (DuckDBStore, ClickHouseStore):
        with backend.open(tmp_path / backend.engine) as store:
            engine.write(project, store, "items", rows)
            engine.write(project, store, "scored", engine.increment(project, store, "scored").to_arrow())
            assert engine.delete(project, store, "items", where='"order" >= 6') == 2
            orphans = engine.increment(project, store, "scored", orphaned=True).rows()
            assert sorted(row["sample_uid"] for row in orphans) == ["--; DROP TABLE x", "\\'"]
            select = 'SELECT sample_uid, "order", "select", "user", "group", metaxy_provenance FROM "items"'
            stored[backend.engine] = sorted(store.fetch_all(select), key=repr)
            stored[backend.engine + " scored"] = sorted(store.fetch_all('SELECT sample_uid, metaxy_provenance FROM "scored"'))
    assert stored["clickhouse"] == stored["duckdb"] and len(stored["duckdb"]) == len(rows) - 2
    assert stored["clickhouse scored"] == stored["duckdb scored"]
    assert ("it's", 0, "it's", "s'ti", '{"k": "0"}') in [row[:5] for row in stored["clickhouse"]]


# -- the server code path ------------------------------------------------------------------------


@pytest.fixture
def client_store(tmp_path: Path):
    """The store over clickhouse-connect (ServerConnection, what `url:` uses), with the client
    that library ships for chdb: every statement goes through the server path but HTTP."""
    import clickhouse_connect

    from metaxy_cli.store.clickhouse_connection import SESSION_SETTINGS, ServerConnection

    client = clickhouse_connect.get_client(dsn=f"chdb://{tmp_path / 'client'}", settings=dict(SESSION_SETTINGS))
    opened = ClickHouseStore("client", ServerConnection(client, "chdb through clickhouse-connect"))
    yield opened
    opened.close()


def test_server_path_meets_the_contract(client_store, tmp_path: Path) -> None:
    import pyarrow as pa

    assert client_store.batch_relation(pa.schema([("sample_uid", pa.string())])) is None  # rows hashed in DuckDB
    contract.check_tables(client_store)
    client_store.drop_table("t")
    contract.check_stage_and_fetch(client_store, tmp_path)
    client_store.drop_table("t")
    contract.check_transaction(client_store)
    contract.check_errors(client_store)


def test_server_path_versions_like_chdb(overview_dir: Path, client_store, tmp_path: Path) -> None:
    project = load_project(overview_dir)
    found = []
    # One chdb folder per process: the client's is closed before the embedded one opens.
    for opener in (lambda: client_store, lambda: ClickHouseStore.open(tmp_path / "embedded")):
        with opener() as store:
            engine.write(project, store, VIDEO, videos(20))
            engine.write(project, store, CROP, engine.increment(project, store, CROP).to_arrow())
            engine.write(project, store, VIDEO, videos(3, audio="b"))
            stale = sorted(row["sample_uid"] for row in engine.increment(project, store, CROP).rows())
            assert engine.delete(project, store, VIDEO, where="frames >= 18") == 2
            versions = store.fetch_all('SELECT sample_uid, metaxy_provenance FROM "example__crop" ORDER BY 1')
            found.append((stale, versions, engine.summary(project, store, CROP)))
    assert found[0] == found[1] and found[0][0] == ["s0", "s1", "s2"]


@pytest.mark.parametrize("pandas_loaded", [False, True], ids=["file", "in place"])
def test_the_embedded_engine_hashes_a_root_batch_as_it_loads_it(
    overview_dir: Path, store, tmp_path: Path, monkeypatch, pandas_loaded: bool
) -> None:
    """chdb reads the checked batch's Arrow stream (a file of it, or in place once the process
    has pandas) in the INSERT that hashes it (a server cannot: test_server_path_versions_like_chdb),
    and stores the bytes DuckDB computes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    listing = tmp_path / "videos.parquet"  # a file: Arrow built from Python objects imports pandas
    table = pa.Table.from_pylist(videos(30))
    # frames as int32: DuckDB casts the batch to the declared BIGINT (a Parquet file of the declared
    # types is read by chdb itself: test_a_root_write_reads_its_parquet_listing_in_place).
    pq.write_table(table.set_column(4, "frames", table["frames"].cast(pa.int32())), listing)
    if pandas_loaded:
        import pandas  # noqa: F401
    else:
        monkeypatch.delitem(sys.modules, "pandas", raising=False)
    commands = []
    command = store.connection.command
    monkeypatch.setattr(store.connection, "command", lambda sql: commands.append(sql) or command(sql))

    schema = pa.schema([("sample_uid", pa.string()), ("frames", pa.int64())])
    assert "FROM file('metaxy_arrow_input', 'ArrowStream')" in store.to_sql(store.batch_relation(schema))
    project = load_project(overview_dir)
    columns = "sample_uid, metaxy_provenance__audio, metaxy_provenance__frames, metaxy_provenance"
    found = []
    with DuckDBStore.open(tmp_path / "reference.duckdb") as reference:
        for opened in (store, reference):
            engine.write(project, opened, VIDEO, listing)
            found.append(opened.fetch_all(f'SELECT {columns} FROM "example__video" ORDER BY 1'))
    assert found[0] == found[1] and len(found[0]) == 30
    (insert,) = [sql for sql in commands if sql.startswith('INSERT INTO "metaxy_log__example__video"')]
    assert ("FROM Python(metaxy_arrow_input)" in insert) is pandas_loaded
    assert ("ArrowStream" in insert) is not pandas_loaded


READINGS = """\
project: readings
features:
  - key: readings
    columns: {label: string, count: integer, score: double, flag: boolean}
  - key: dated
    columns: {label: string, day: date}
"""


@pytest.mark.parametrize(
    "key, name, read_in_place",
    [("readings", "o'brien 日本.parquet", True), ("readings", "glob{1,2}.parquet", False), ("dated", "dated.parquet", False)],
    ids=["in place", "a glob-like name", "a date column"],
)
def test_a_root_write_reads_its_parquet_listing_in_place(
    tmp_path: Path, store, monkeypatch, key: str, name: str, read_in_place: bool
) -> None:
    """A Parquet listing whose columns have their declared types is read by chdb itself, in the
    INSERT that hashes it (no copy of the batch in DuckDB, no stream), with NaN read as NULL as a
    checked batch has it. A name that file() would take for a glob, or a type the two engines
    read differently from Parquet (dates, timestamps), goes through the stream. DuckDB's bytes
    either way."""
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "metaxy.yaml").write_text(READINGS)
    project = load_project(tmp_path)
    labels = [*AWKWARD, None]
    columns = {"sample_uid": [f"r{i}" for i in range(len(labels))], "label": labels}
    if key == "readings":
        columns["count"] = pa.array([i - 3 for i in range(len(labels) - 1)] + [None], pa.int64())
        columns["score"] = [0.25, float("nan"), None, -0.0, 1e300, 2.5e-8, float("inf"), -1.5, 7.0]
        columns["flag"] = [True, False, None, True, False, True, False, True, None]
    else:
        columns["day"] = [datetime.date(2024, 2, 1 + i) for i in range(len(labels) - 1)] + [None]
    listing = tmp_path / name
    pq.write_table(pa.table(columns), listing)
    monkeypatch.delitem(sys.modules, "pandas", raising=False)
    commands = []
    command = store.connection.command
    monkeypatch.setattr(store.connection, "command", lambda sql: commands.append(sql) or command(sql))

    found = []
    with DuckDBStore.open(tmp_path / "reference.duckdb") as reference:
        for opened in (store, reference):
            engine.write(project, opened, key, listing)
            stored = [name for name in columns if name != "sample_uid"]
            select = ", ".join(f'"{column}"' for column in ["sample_uid", *stored, "metaxy_provenance"])
            found.append([tuple(map(_plain, row)) for row in opened.fetch_all(f'SELECT {select} FROM "{key}" ORDER BY 1')])
    assert found[0] == found[1] and len(found[0]) == len(labels)
    if key == "readings":
        assert [row[3] for row in found[0][:3]] == [0.25, None, None]  # NaN stored as NULL
    (insert,) = [sql for sql in commands if sql.startswith(f'INSERT INTO "metaxy_log__{key}"')]
    assert ("'Parquet')" in insert) is read_in_place
    assert ("ArrowStream" in insert) is not read_in_place


def test_the_catalog_is_read_once_until_the_store_runs_a_statement(store, monkeypatch, tmp_path: Path) -> None:
    """chdb's folder is this process's alone: lookups of several tables cost one catalog query,
    a statement that may be DDL makes the next lookups read it again, then per table; inserts,
    deletes and queries keep what was read."""
    queries = []
    query_arrow = store.connection.query_arrow
    monkeypatch.setattr(store.connection, "query_arrow", lambda sql: queries.append(sql) or query_arrow(sql))
    assert store.list_columns("t") is None and store.list_columns("u") is None
    assert len(queries) == 1
    store.execute('CREATE TABLE "t" ("a" Int64) ENGINE = MergeTree ORDER BY "a"')
    assert store.list_columns("t") == ["a"] and store.list_columns("t") == ["a"]
    assert len(queries) == 2 and "IN ('t')" in queries[-1]
    store.execute('ALTER TABLE "t" ADD COLUMN "b" String')
    assert store.list_columns("t") == ["a", "b"] and store.list_columns("u") is None and store.list_columns("u") is None
    assert len(queries) == 4
    store.execute('INSERT INTO "t" SELECT 1, \'x\'')
    store.execute('DELETE FROM "t" WHERE "a" = 2')
    store.execute(f"INSERT INTO FUNCTION file('{tmp_path / 'one.csv'}', 'CSV') SELECT 1")
    assert store.list_columns("t") == ["a", "b"] and store.list_columns("u") is None
    assert len(queries) == 4
    store.execute('  alter TABLE "t" DROP COLUMN "b"')
    assert store.list_columns("t") == ["a"] and len(queries) == 5
    # The session's temporary tables, made and dropped (also one that was never made), keep it;
    # a stored table's drop does not.
    assert store.list_columns("never_made") is None and len(queries) == 6
    store.create_table("scratch", [("x", "string")], temporary=True)
    store.create_temporary_as("scratch_too", exp.select(exp.Literal.number(1).as_("y")))
    store.drop_temporary("scratch")
    store.drop_temporary("scratch_too")
    store.drop_temporary("never_made")
    assert store.list_columns("t") == ["a"] and len(queries) == 6
    assert store.fetch_all("SELECT count() FROM system.tables WHERE is_temporary") == [(0,)]
    store.drop_table("t")
    assert store.list_columns("t") is None and len(queries) == 8
    # Another store of this process on the folder: its statements count too.
    with ClickHouseStore.open(store.location) as other:
        other.execute('CREATE TABLE "u" ("c" Int64) ENGINE = MergeTree ORDER BY "c"')
        assert store.list_columns("u") == ["c"]


WITHOUT_PANDAS = """
import sys
from metaxy_cli import engine
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.store.clickhouse import ClickHouseStore
store = ClickHouseStore.open(sys.argv[2])
project = load_project(sys.argv[1])
engine.write(project, store, "example/video", sys.argv[3])
engine.summary(project, store, "example/crop")
engine.increment(project, store, "example/crop").to_arrow()
engine.increment(project, store, "example/crop").write_to(sys.argv[4], "parquet")
engine.write(project, store, "example/crop", sys.argv[4])
print("pandas" in sys.modules)
"""


def test_writes_and_reads_do_not_import_pandas(overview_dir: Path, tmp_path: Path) -> None:
    """chdb's ArrowTable results and its Python() input import pandas (0.25-0.35 s a command):
    the store reads Arrow IPC itself and hands batches over as a file, removed once read (files
    in, as the CLI writes them: DuckDB's scan of an Arrow object imports pandas itself)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(videos(5)), tmp_path / "videos.parquet")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    files = [str(tmp_path / name) for name in ("store", "videos.parquet", "crop.parquet")]
    command = [sys.executable, "-c", WITHOUT_PANDAS, str(overview_dir), *files]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "TMPDIR": str(scratch)})
    assert (done.returncode, done.stderr) == (0, "") and done.stdout.strip() == "False"
    assert list(scratch.iterdir()) == []


# -- settings, the folder lock, concurrent writers ---------------------------------------------------


def test_settings(overview_dir: Path, tmp_path: Path) -> None:
    project = load_project(overview_dir)
    with open_store(project, "ch") as store:
        assert store.location == str(overview_dir / ".metaxy" / "clickhouse")
    with ClickHouseStore.from_settings("c", {}, tmp_path) as store:
        assert store.location == str(tmp_path / ".metaxy" / "clickhouse")
    with pytest.raises(StoreError, match=r"^store 'c': lock_timeout must be a number of seconds, got 'soon'$"):
        ClickHouseStore.from_settings("c", {"lock_timeout": "soon"}, tmp_path)
    with pytest.raises(StoreError, match=r"^store 'c': give path \(an embedded ClickHouse folder\) or url \(a server\), not both$"):
        ClickHouseStore.from_settings("c", {"path": "x", "url": "clickhouse://h"}, tmp_path)
    with pytest.raises(StoreError, match=r"^store 'c': url postgresql://u:\*\*\*@h/db must start with clickhouse://, clickhouses://, http://, https:// \(got postgresql scheme\)$"):
        ClickHouseStore.from_settings("c", {"url": "postgresql://u:secret@h/db"}, tmp_path)


def test_unreachable_server_is_one_line_with_the_password_masked(overview_dir: Path, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = f'  server:\n    type: clickhouse\n    url: "clickhouse://metaxy:${{CH_PASSWORD}}@127.0.0.1:{port}/meta"\n'
    settings = overview_dir / "metaxy.yaml"
    settings.write_text(settings.read_text().replace("default_store:", server + "default_store:"))
    project = load_project(overview_dir)
    started = time.monotonic()
    with pytest.raises(StoreError) as raised:
        open_store(project, "server", environ={"CH_PASSWORD": "s3cret"})
    assert str(raised.value) == (
        f"cannot open store 'server' at clickhouse://metaxy:***@127.0.0.1:{port}/meta: cannot reach the server "
        "(is it running? check host and port in the store's url)"
    )
    assert time.monotonic() - started < 30


HOLD = """
import sys, time
from metaxy_cli.store.clickhouse import ClickHouseStore
store = ClickHouseStore.open(sys.argv[1])
print("open", flush=True)
time.sleep(float(sys.argv[2]))
store.close()
"""


def _holder(folder: Path, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(folder), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "open"
    return holder


def test_another_process_holding_the_folder(tmp_path: Path, capfd) -> None:
    folder = tmp_path / "held"
    holder = _holder(folder, 60)
    try:
        started = time.monotonic()
        with pytest.raises(StoreError) as raised:
            ClickHouseStore.open(folder, name="ch", lock_timeout=0.5)
        assert time.monotonic() - started >= 0.5
        assert str(raised.value) == (
            f"cannot open store 'ch' at {folder}: another process has it open (waited 0.5 s; lock_timeout in the store's settings)"
        )
        assert capfd.readouterr().err == ""  # chdb's own lines stay out of the terminal
    finally:
        holder.kill()
        holder.wait()
    with ClickHouseStore.open(folder, lock_timeout=10) as store:  # freed by the holder's death
        assert store.fetch_all("SELECT 1") == [(1,)]
    holder = _holder(folder, 1.5)
    with ClickHouseStore.open(folder, lock_timeout=60) as store:  # queues until it closes
        assert store.fetch_all("SELECT 1") == [(1,)]
    holder.wait()


def _write_batches(args: tuple[str, str, int]) -> list[int]:
    """One writer process: its own videos twice, a shared batch, then crop for its videos."""
    project_dir, folder, worker = args
    project = load_project(Path(project_dir))
    with ClickHouseStore.open(folder, lock_timeout=300) as store:
        engine.write(project, store, VIDEO, videos(2_000, prefix=f"w{worker}-"))
        engine.write(project, store, VIDEO, videos(2_000, prefix=f"w{worker}-", audio="b"))
        engine.write(project, store, VIDEO, videos(2_000, prefix="shared-", audio=f"w{worker}"))
        engine.write(project, store, CROP, [{"sample_uid": f"w{worker}-{i}"} for i in range(2_000)])
    return [worker]


@pytest.mark.slow
def test_concurrent_writer_processes_lose_nothing(overview_dir: Path, tmp_path: Path) -> None:
    """Four processes writing the same feature and another one: each waits for the folder,
    every write lands with its own id, ids follow commit order, the views keep one row per id."""
    import multiprocessing

    folder = str(tmp_path / "shared")
    jobs = [(str(overview_dir), folder, worker) for worker in range(4)]
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_write_batches, jobs)
    with ClickHouseStore.open(folder) as store:
        log = store.fetch_all("SELECT write_id, feature, written_at FROM metaxy_writes ORDER BY write_id")
        assert [row[0] for row in log] == list(range(1, 17))
        assert [row[2] for row in log] == sorted(row[2] for row in log)  # ids in commit order
        assert store.fetch_all('SELECT count(), uniqExact(sample_uid) FROM "example__video"') == [(10_000, 10_000)]
        assert store.fetch_all('SELECT count() FROM "example__video__history"') == [(4 * 2_000 + 3 * 2_000,)]
        assert store.fetch_all('SELECT count(), uniqExact(sample_uid) FROM "example__crop"') == [(8_000, 8_000)]
