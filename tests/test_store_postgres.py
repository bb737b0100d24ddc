"""The PostgreSQL store on a real server (tests/pg_server.py): the store contract, connection
faults as one line with nothing written, doubles hashed like C '%.17g', the index behind the
latest-row reads, concurrent writers, and the overview story giving DuckDB's answers."""

from __future__ import annotations

import json
import re
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from metaxy_cli import engine
from metaxy_cli.definitions.errors import StoreError
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.store.postgres import PostgresStore
from tests import pg_server
from tests import store_contract as contract

pytestmark = pytest.mark.postgres
VIDEO, CROP = "example/video", "example/crop"


def video(uid: str, **values) -> dict:
    """A row of example/video with every declared column."""
    row = {"sample_uid": uid, "path": f"/v/{uid}.mp4", "audio_sha": "a", "frames_sha": "f", "frames": 1, "duration": 1.5, "size": 10}
    return row | values


@pytest.fixture
def store(postgres_url: str) -> Iterator[PostgresStore]:
    opened = pg_server.open_store("postgres")
    yield opened
    opened.close()


def test_tables(store) -> None:
    contract.check_tables(store)


def test_stage_and_fetch(store, tmp_path: Path) -> None:
    contract.check_stage_and_fetch(store, tmp_path)


def test_transaction(store) -> None:
    contract.check_transaction(store)


def test_errors(store) -> None:
    contract.check_errors(store)


def superuser(store: PostgresStore) -> bool:
    return store.fetch_all("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")[0][0]


def with_user(user: str, password: str | None = None) -> str:
    """The test server's URL with another user (and password)."""
    from psycopg.conninfo import make_conninfo

    return make_conninfo(pg_server.url(), user=user, password=password or "")


# ---- opening: every fault one line naming the store, the URL without its password, what to do ---


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_server_missing_database_and_bad_url() -> None:
    port = closed_port()
    url = f"postgresql://metaxy:s3cret@127.0.0.1:{port}/metaxy"
    with pytest.raises(StoreError) as caught:
        PostgresStore.open(url, name="pg", connect_timeout=2)
    message = str(caught.value)
    assert message.startswith(f"cannot open store 'pg' at postgresql://metaxy:***@127.0.0.1:{port}/metaxy: ")
    assert "Connection refused" in message and "is PostgreSQL running there?" in message
    assert "s3cret" not in message and "\n" not in message
    missing = pg_server.url().rsplit("/", 1)[0] + "/no_such_db"
    with pytest.raises(StoreError, match=r'database "no_such_db" does not exist \(create it \(createdb no_such_db\) or fix'):
        PostgresStore.open(missing, name="pg")
    with pytest.raises(StoreError, match=r"^cannot open store 'pg' at postgresql://metaxy@127.0.0.1:notaport/x: .*postgresql://user:password@host:port/database"):
        PostgresStore.open("postgresql://metaxy@127.0.0.1:notaport/x", name="pg")
    with pytest.raises(StoreError, match=r"^store 'pg': a postgres store needs `url`"):
        PostgresStore.from_settings("pg", {}, Path("."))


@contextmanager
def login_role(store: PostgresStore, password: str, *, scram: bool) -> Iterator[str]:
    """A role that logs in with `password`; with `scram`, the server checks it (the throw-away
    cluster trusts loopback: an hba rule for this role alone goes first, and is removed after)."""
    role = f"r_{uuid.uuid4().hex[:10]}"
    store.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    hba = store.fetch_all("SHOW hba_file")[0][0]
    original = store.fetch_all("SELECT pg_read_file(%s)", [hba])[0][0]
    try:
        if scram:
            _write_server_file(store, hba, f"host all {role} 127.0.0.1/32 scram-sha-256\n" + original)
        yield role
    finally:
        if scram:
            _write_server_file(store, hba, original)
        store.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


def _write_server_file(store: PostgresStore, path: str, text: str) -> None:
    """Write a file as the server (a large object exported), then reload its configuration."""
    oid = store.fetch_all("SELECT lo_from_bytea(0, convert_to(%s, 'UTF8'))", [text])[0][0]
    store.execute("SELECT lo_export(%s, %s)", [oid, path])
    store.execute("SELECT lo_unlink(%s)", [oid])
    store.execute("SELECT pg_reload_conf()")


def test_wrong_password(store) -> None:
    if not superuser(store):
        pytest.skip("needs a superuser to add a password rule to pg_hba.conf")
    with login_role(store, "right", scram=True) as role:
        import time

        time.sleep(0.2)  # the postmaster reloads pg_hba.conf on SIGHUP
        with pytest.raises(StoreError) as caught:
            PostgresStore.open(with_user(role, "wrong"), name="pg")
        message = str(caught.value)
        assert f'password authentication failed for user "{role}"' in message
        assert "check the user and password in `url`" in message and "password=***" in message
        assert "wrong" not in message.replace("password=***", "")
        with PostgresStore.open(with_user(role, "right"), name="pg", schema=store.schema) as opened:
            assert opened.fetch_all("SELECT current_user") == [(role,)]


def test_read_only_user_reads_and_writes_nothing(store, overview_dir: Path) -> None:
    if not superuser(store):
        pytest.skip("needs a superuser to create a role")
    project = load_project(overview_dir)
    engine.write(project, store, VIDEO, [video("a", audio_sha="x")])
    # A store from before the write-id indexes: reading must not need to create them.
    store.execute('DROP INDEX "metaxy_wid__example__video"; DROP INDEX "metaxy_wid__example__video__history"')
    with login_role(store, "pw", scram=False) as role:
        store.execute(f'GRANT USAGE ON SCHEMA "{store.schema}" TO {role}; GRANT SELECT ON ALL TABLES IN SCHEMA "{store.schema}" TO {role}')
        with PostgresStore.open(with_user(role, "pw"), name="ro", schema=store.schema) as reader:
            # Reads work (a feature without tables yet would need them created: not by this user).
            assert [s.up_to_date for s in engine.status(project, reader, [VIDEO])] == [1]
            with pytest.raises(StoreError) as caught:
                engine.write(project, reader, VIDEO, [video("b")])
            message = str(caught.value)
            assert message.startswith("store 'ro' (") and "password=***" in message and "\n" not in message
            assert "permission denied for table" in message and "grant it CREATE, INSERT, UPDATE and DELETE" in message
        with pytest.raises(StoreError, match=r"permission denied for database .* \(cannot create schema 'elsewhere': create it as the database owner"):
            PostgresStore.open(with_user(role, "pw"), name="ro", schema="elsewhere")
    assert store.fetch_all('SELECT sample_uid FROM "example__video"') == [("a",)]
    assert store.fetch_all("SELECT count(*) FROM metaxy_writes") == [(1,)]


def pg_project(overview_dir: Path, schema: str, invoke):
    def run(*args: str):
        environ = {"METAXY_PG_URL": pg_server.url(), "METAXY_PG_SCHEMA": schema}
        return invoke("--project", overview_dir, *args, "--store", "pg", env=environ)

    return run


def test_cli_faults_are_one_line_and_exit_1(overview_dir: Path, invoke, tmp_path: Path) -> None:
    videos = tmp_path / "v.csv"
    videos.write_text("sample_uid,audio_sha\na,x\n")
    port = closed_port()
    environ = {"METAXY_PG_URL": f"postgresql://metaxy:hunter2@127.0.0.1:{port}/metaxy"}
    result = invoke("--project", overview_dir, "write", VIDEO, videos, "--store", "pg", env=environ)
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"Error: cannot open store 'pg' at postgresql://metaxy:***@127.0.0.1:{port}/metaxy: ")
    assert "hunter2" not in result.stderr
    unset = invoke("--project", overview_dir, "status", "--store", "pg", env={"METAXY_PG_URL": ""})
    assert unset.exit_code == 1 and "METAXY_PG_URL" in unset.stderr and unset.stderr.count("\n") == 1


# ---- hashing ---------------------------------------------------------------------------------


def interesting_doubles() -> list[float]:
    import random
    import struct

    rng = random.Random(7)
    values = [0.0, -0.0, 1e21, 1e-7, 5e-324, -5e-324, 2.2250738585072014e-308, 2.225073858507201e-308,
              1.7976931348623157e308, -1.7976931348623157e308, 0.1, 1 / 3, 1e16, 1e17, 123456789.125,
              1e-4, 9.9999999999999995e-05, 1e-5, 2.0 ** -25, float("inf"), float("-inf"), 1e20, 1e22]  # fmt: skip
    values += [struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(4000)]
    values += [rng.uniform(-1e6, 1e6) for _ in range(2000)]
    values += [rng.randint(-(2**60), 2**60) * 10.0 ** rng.randint(-30, 30) for _ in range(2000)]
    values += [2.0 ** -k for k in range(0, 1075)] + [3 * 2.0 ** -k for k in range(0, 1074)]
    return [v for v in values if v == v]  # NaN is stored as NULL, never hashed


def test_double_text_is_c_printf_17g(store) -> None:
    from sqlglot import exp

    from metaxy_cli.sql.dialects import double_text

    values = interesting_doubles()
    text = store.to_sql(store.profile.value_text(exp.column("x"), "double"))
    rows = store.fetch_all(f"SELECT x, {text} FROM unnest(%s::float8[]) WITH ORDINALITY AS t(x, n) ORDER BY n", [values])
    assert [row[0] for row in rows] == values
    mismatches = [(value, got, double_text(value)) for value, (_, got) in zip(values, rows) if got != double_text(value)]
    assert mismatches == []
    assert [double_text(v) for v in (-0.0, 1e21, 1e-7, 5e-324)] == ["0", "1e+21", "9.9999999999999995e-08", "4.9406564584124654e-324"]


# ---- storage ---------------------------------------------------------------------------------


def plan(store: PostgresStore, sql: str) -> str:
    return "\n".join(row[0] for row in store.fetch_all(f"EXPLAIN {sql}"))


def test_latest_rows_are_read_through_the_ids_index_not_a_sort(store, overview_dir: Path) -> None:
    """The current table holds the latest row per id (a write moves the rows it replaces to
    history): reading the latest rows never scans a growing history and never sorts it (history
    is read only for the ids touched since a clean checkpoint, through its write-id BRIN index);
    the one step that finds rows by id, superseding, searches the unique ids index."""
    from metaxy_cli.engine.tables import ids_in

    project = load_project(overview_dir)
    rows = [video(f"s{i:05d}") for i in range(20_000)]
    for version in range(5):
        engine.write(project, store, VIDEO, [dict(row, audio_sha=f"a{version}") for row in rows])
    store.execute('ANALYZE "example__video"; ANALYZE "example__video__history"')
    assert store.fetch_all('SELECT count(*) FROM "example__video__history"') == [(80_000,)]
    increment = engine.increment(project, store, CROP).sql
    summary = engine.increment(project, store, VIDEO).sql
    for sql in (increment, summary):
        shown = plan(store, sql)
        # The only sorts are of a few rows (the write log's DISTINCT ids, the ids touched since
        # the checkpoint), never of the 20,000 samples.
        sorted_rows = [int(n) for n in re.findall(r"Sort  \(cost=[0-9.]+ rows=(\d+)", shown)]
        assert all(n < 100 for n in sorted_rows), shown
        history = [line.strip() for line in shown.splitlines() if "example__video__history" in line]
        assert all(line.startswith(("Bitmap Heap Scan", "->  Bitmap Heap Scan", "->  Bitmap Index Scan on metaxy_wid__")) for line in history), shown
    store.stage("batch", __import__("pyarrow").table({"sample_uid": ["s00042", "s00043"]}))
    condition = store.to_sql(ids_in(engine.resolved(project, VIDEO), "batch"))
    shown = plan(store, f'DELETE FROM "example__video" WHERE {condition}')
    assert "Index Scan using metaxy_ids__example__video" in shown or "Index Only Scan" in shown, shown
    shown = plan(store, 'SELECT * FROM "example__video" WHERE sample_uid = \'s00042\'')
    assert "metaxy_ids__example__video" in shown, shown


def _concurrent_writer(args: tuple[str, str, str, int]) -> list[int]:
    """One writer process on its own connection: the same schema, created by whoever is first."""
    project_dir, url, schema, worker = args
    from metaxy_cli.definitions.loader import load_project
    from metaxy_cli.store.postgres import PostgresStore

    project = load_project(Path(project_dir))
    batch = [video(f"w{worker}-{k}", audio_sha=f"a{worker}") for k in range(500)]
    shared = [video(f"shared-{k}", audio_sha=f"a{worker}") for k in range(500)]
    with PostgresStore.open(url, schema=schema) as store:
        engine.write(project, store, VIDEO, batch)
        engine.write(project, store, VIDEO, shared)
        crop = engine.increment(project, store, CROP).to_arrow().select(["sample_uid", "metaxy_provenance"])
        engine.write(project, store, CROP, crop)
        return [row[0] for row in store.fetch_all("SELECT write_id FROM metaxy_writes")]


def test_concurrent_writers_create_the_schema_once_and_lose_nothing(overview_dir: Path) -> None:
    """Writers race to create the schema and tables (concurrent CREATE IF NOT EXISTS fails on
    PostgreSQL's catalog unless serialised) and to take write ids: all land, ids 1..n in order."""
    import multiprocessing

    schema = pg_server.fresh_schema()
    jobs = [(str(overview_dir), pg_server.url(), schema, worker) for worker in range(4)]
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_concurrent_writer, jobs)
    with PostgresStore.open(pg_server.url(), schema=schema) as store:
        log = store.fetch_all("SELECT write_id, written_at FROM metaxy_writes ORDER BY write_id")
        assert [row[0] for row in log] == list(range(1, 13))
        assert store.fetch_all('SELECT count(*), count(DISTINCT sample_uid) FROM "example__video"') == [(2_500, 2_500)]
        assert store.fetch_all('SELECT count(*) FROM "example__video__history"') == [(1_500,)]
        project = load_project(overview_dir)
        # Every crop sample written back from an increment: nothing left but the shared samples
        # whose video row another writer replaced after that increment.
        summary = engine.summary(project, store, CROP)
        assert summary.new + summary.stale + summary.up_to_date == 2_500 and summary.up_to_date >= 2_000


def test_lock_timeout_names_the_other_writer(store, overview_dir: Path) -> None:
    project = load_project(overview_dir)
    engine.write(project, store, VIDEO, [video("a")])
    with PostgresStore.open(pg_server.url(), name="other", schema=store.schema, lock_timeout=0.3) as other:
        with store.transaction():
            with pytest.raises(StoreError, match=r"^store 'other' \(.*\): another process is writing to this store \(waited lock_timeout"):
                engine.write(project, other, VIDEO, [video("b")])
        engine.write(project, other, VIDEO, [video("b")])
    assert store.fetch_all('SELECT sample_uid FROM "example__video" ORDER BY 1') == [("a",), ("b",)]


# ---- the overview story and the CLI: DuckDB's answers ------------------------------------------


def test_overview_story_on_postgres(capsys, monkeypatch) -> None:
    import importlib.util

    from conftest import EXAMPLES

    spec = importlib.util.spec_from_file_location("overview_pipeline_pg", EXAMPLES / "overview" / "pipeline.py")
    pipeline = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pipeline)
    monkeypatch.setenv("METAXY_PG_URL", pg_server.url())
    monkeypatch.setenv("METAXY_PG_SCHEMA", pg_server.fresh_schema())
    outputs = []
    for options in (["--store", "pg"], ["--store", "pg"]):  # a second run starts from an emptied store
        assert pipeline.main(["--samples", "1000", *options]) == 0
        outputs.append(capsys.readouterr().out)
    assert "12 of 12 checks passed" in outputs[0] and "FAIL" not in outputs[0]
    assert "store 'pg' (postgres; 0 samples already there soft-deleted)" in outputs[0]
    assert "store 'pg' (postgres; 4,000 samples already there soft-deleted)" in outputs[1]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(EXAMPLES.parent)
        assert pipeline.main(["--samples", "1000", "--store-dir", str(Path(pg_server.SERVER.folder or "/tmp") / "duck")]) == 0
    duck = capsys.readouterr().out
    assert outputs[0].split("\n", 1)[1] == duck.split("\n", 1)[1]  # every line but the store's name


def _without_token(csv: str) -> str:
    """An increment's CSV without `metaxy_as_of`: the state of the store it was read from
    (engine/carried.py), the one column that differs between two stores by design."""
    lines = csv.splitlines()
    if not lines or not lines[0].endswith(",metaxy_as_of"):
        return csv
    return "\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n"


def test_cli_gives_the_answers_of_duckdb(overview_dir: Path, invoke, tmp_path: Path) -> None:
    """write / increment / status / delete through the CLI, on `--store pg` and on DuckDB."""
    videos = tmp_path / "videos.csv"
    videos.write_text("sample_uid,path,audio_sha,frames_sha,frames,duration,size\n" + "".join(
        f"v{i},/v/{i}.mp4,a{i},f{i},{i},{i}.25,{i * 7}\n" for i in range(40)))  # fmt: skip
    changed = tmp_path / "changed.csv"
    changed.write_text("sample_uid,path,audio_sha,frames_sha,frames,duration,size\nv3,/v/3.mp4,new,f3,3,3.25,21\n")
    pg = pg_project(overview_dir, pg_server.fresh_schema(), invoke)

    def duck(*args: str):
        return invoke("--project", overview_dir, *args, "--store", "dev", env={"METAXY_DB": str(tmp_path / "d.duckdb")})

    transcript = {}
    for name, run in (("pg", pg), ("duckdb", duck)):
        steps = [
            run("write", VIDEO, videos),
            run("increment", CROP, "--format", "csv"),
            run("write", CROP, _increment_file(run, tmp_path / f"{name}.parquet")),
            run("write", VIDEO, changed),
            run("increment", CROP),
            run("increment", "example/stt", "--summary"),
            run("delete", VIDEO, "--where", "frames >= 38"),
            run("increment", CROP, "--orphaned"),
            run("status", "--format", "json"),
            run("status"),
        ]
        assert all(step.exit_code == 0 for step in steps), [step.stderr for step in steps]
        transcript[name] = [(_without_token(step.stdout), step.stderr.replace(f"'{name if name == 'pg' else 'dev'}'", "'S'")) for step in steps]
    for pg_step, duck_step in zip(transcript["pg"], transcript["duckdb"]):
        if pg_step[0].startswith("{"):
            pg_json, duck_json = json.loads(pg_step[0]), json.loads(duck_step[0])
            assert [f["names"]["table"] for f in pg_json["features"]] == [f["names"]["table"] for f in duck_json["features"]]
            for features in (pg_json["features"], duck_json["features"]):
                for feature in features:
                    feature.pop("names")
            assert pg_json == duck_json
        else:
            assert _sorted_lines(pg_step[0]) == _sorted_lines(duck_step[0]) and pg_step[1] == duck_step[1]
    assert transcript["pg"][-1][0].splitlines()[-1] == "total: 78 new, 1 stale, 2 orphaned, 75 up to date"


def _increment_file(run, path: Path) -> Path:
    result = run("increment", CROP, "--output", path)
    assert result.exit_code == 0, result.stderr
    return path


def _sorted_lines(text: str) -> list[str]:
    """Rows of an increment come in no particular order; headers stay first."""
    lines = text.splitlines()
    return lines[:1] + sorted(lines[1:])


@pytest.mark.slow
def test_kill_during_write_leaves_store_unchanged(overview_dir: Path, tmp_path: Path) -> None:
    """A `metaxy write` SIGKILLed while its INSERT runs: the server rolls the transaction back
    (and frees the writers' lock); the store holds what it held, and takes the next write."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import duckdb

    schema = pg_server.fresh_schema()
    environ = os.environ | {"METAXY_PG_URL": pg_server.url(), "METAXY_PG_SCHEMA": schema}
    base = [sys.executable, "-m", "metaxy_cli", "--project", str(overview_dir)]
    small = tmp_path / "small.csv"
    small.write_text("sample_uid,path\nv1,/old/1\nv2,/old/2\n")
    subprocess.run([*base, "write", VIDEO, str(small), "--partial", "--store", "pg"], check=True, env=environ)
    big = tmp_path / "big.parquet"
    duckdb.connect().execute(
        f"COPY (SELECT 'v' || i AS sample_uid, '/v/' || i AS path, md5('a' || i) AS audio_sha, md5('f' || i) AS frames_sha, "
        f"i AS frames, i / 7 AS duration, i * 10 AS size FROM range(300000) t(i)) TO '{big}' (FORMAT PARQUET)"
    )
    with PostgresStore.open(pg_server.url(), schema=schema) as store:
        before = store.fetch_all('SELECT * FROM "example__video" ORDER BY 1'), store.fetch_all("SELECT * FROM metaxy_writes")
        process = subprocess.Popen([*base, "write", VIDEO, str(big), "--store", "pg"], env=environ)
        deadline = time.monotonic() + 120
        active = "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'INSERT INTO \"example__video%'"
        while store.fetch_all(active)[0][0] == 0:
            assert process.poll() is None and time.monotonic() < deadline, "the write ended before it could be killed"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        after = store.fetch_all('SELECT * FROM "example__video" ORDER BY 1'), store.fetch_all("SELECT * FROM metaxy_writes")
        assert after == before
    done = subprocess.run([*base, "write", VIDEO, str(small), "--partial", "--store", "pg"], env=environ, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
