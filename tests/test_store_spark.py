"""The Spark store on a real local[2] session: the store contract, commits that are all or nothing,
a write killed with SIGKILL, vacuum, bad settings and input as one line, output written by Spark.

Every test shares the process's one SparkSession (tests/backends.py); the CLI runs in-process
(joining that session) except where a new process is the point (a kill, a missing Java)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metaxy_cli import engine
from metaxy_cli.definitions.errors import DataError, StoreError
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.store.spark import SparkStore
from tests import store_contract as contract
from tests.backends import open_backend, spark_session
from tests.test_spark_storage import TAKEN, take_over
from tests.test_engine import CROP, VIDEO, compute, videos

pytestmark = pytest.mark.spark
METAXY = [sys.executable, "-m", "metaxy_cli"]


@pytest.fixture
def store(tmp_path: Path):
    opened = SparkStore.open(tmp_path / "store", spark=spark_session(), name="spark")
    yield opened
    opened.close()


def current(store, table: str = "example__video") -> list[tuple]:
    return sorted(store.fetch_all(f'SELECT * FROM "{table}"'), key=repr)


def test_tables(store) -> None:
    contract.check_tables(store)


def test_stage_and_fetch(store, tmp_path: Path) -> None:
    contract.check_stage_and_fetch(store, tmp_path)


def test_errors(store) -> None:
    contract.check_errors(store)


def test_a_failed_transaction_publishes_nothing(store) -> None:
    """Partitions and tables of a transaction appear with its log entry, or not at all."""
    with pytest.raises(ZeroDivisionError), store.transaction():
        store.ensure_table("t", contract.COLUMNS)
        store.stage("incoming", contract.rows())
        store.execute('INSERT INTO "t" SELECT * FROM "incoming"')
        raise ZeroDivisionError
    assert not store.table_exists("t")
    assert not (Path(store.location) / "t").exists() or not any((Path(store.location) / "t").iterdir())
    with store.transaction():
        store.ensure_table("t", contract.COLUMNS)
        store.execute('INSERT INTO "t" SELECT * FROM "incoming"')
    assert store.fetch_all('SELECT count(*) FROM "t"') == [(2,)]
    # Another process (a second store on the same folder) sees the committed table.
    with SparkStore.open(store.location, spark=spark_session(), name="other") as other:
        assert other.fetch_all('SELECT count(*) FROM "t"') == [(2,)]


def test_unopenable_settings_are_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match=rf"^cannot open store 'spark' at {blocker}/store: Not a directory \(choose a `path`"):
        SparkStore.open(blocker / "store", spark=spark_session())
    with pytest.raises(StoreError, match=r"^cannot open store 'spark' at s3a://bucket/metaxy: Spark has no file system connector"):
        SparkStore.open("s3a://bucket/metaxy", spark=spark_session())
    with pytest.raises(StoreError, match=r"^store 'x': conf must be a mapping"):
        SparkStore.from_settings("x", {"conf": "spark.a=b"}, tmp_path)


def test_a_store_at_a_url_goes_through_hadoop(overview_dir: Path, tmp_path: Path) -> None:
    """Through Hadoop's file system (the path of hdfs:// or s3a://, here Hadoop's file:// on a
    local folder): the contract holds, the driver's files are copied in for the executors, and
    the folder it writes is the same store a plain path opens."""
    url = f"file://{tmp_path}/store"
    store = SparkStore.open(url, spark=spark_session(), name="url", hadoop=True)
    assert store.location == url
    contract.check_tables(store)
    contract.check_stage_and_fetch(store, tmp_path)
    store.close()
    store = SparkStore.open(url, spark=spark_session(), name="url", hadoop=True)
    project = load_project(overview_dir)
    listing = tmp_path / "videos.parquet"
    pq.write_table(pa.Table.from_pylist(videos()), listing)
    assert engine.write(project, store, VIDEO, f"file://{listing}").rows == 200  # a local file: copied in
    compute(project, store, CROP)  # its rows come from the driver: copied into the store's _staging
    assert len(engine.increment(project, store, CROP)) == 0
    with SparkStore.open(tmp_path / "store", spark=spark_session(), name="plain") as plain:
        assert plain.fetch_all("SELECT feature, rows FROM metaxy_writes ORDER BY write_id")[-2:] == [(VIDEO, 200), (CROP, 200)]
        assert len(engine.increment(project, plain, CROP)) == 0
    assert (tmp_path / "store" / "_metaxy_writes").is_dir()
    assert store.vacuum() == []
    store.close()
    assert not any((tmp_path / "store" / "_staging").iterdir())  # the copied batches are gone


def test_a_write_whose_lease_was_taken_commits_nothing(tmp_path: Path) -> None:
    """On a Hadoop file system a holder that stalled past its lease may find it broken and taken:
    its transaction then fails as one line and publishes nothing (the other writer's files are
    safe from its commit)."""
    store = SparkStore.open(tmp_path / "store", spark=spark_session(), name="h", hadoop=True)
    store.files.storage.lease = 0.6  # the keeper checks every lease/6 s
    lease = tmp_path / "store" / "_metaxy_writes" / ".lease"
    with pytest.raises(StoreError, match=r"^store 'h' \(.*\): the write lock was lost while writing .*nothing was committed$"):
        with store.transaction():
            store.ensure_table("t", contract.COLUMNS)
            store.stage("incoming", contract.rows())
            store.execute('INSERT INTO "t" SELECT * FROM "incoming"')
            take_over(lease, seconds=1.5)  # the keeper checks about 15 times meanwhile
    assert not store.table_exists("t")
    assert lease.read_text() == TAKEN  # the other holder's lease stays
    store.close()


def spark_project(overview_dir: Path, master: str = "local[2]") -> Path:
    config = overview_dir / "metaxy.yaml"
    config.write_text(config.read_text().replace("${METAXY_SPARK_MASTER:-local[2]}", master))
    return overview_dir


@pytest.mark.parametrize(
    "env, master, message",
    [
        ({"PATH": "/nonexistent", "JAVA_HOME": ""}, "local[2]", r"Java is not installed, and Spark needs it \(install Java 17"),
        ({"JAVA_HOME": "/nonexistent"}, "local[2]", r"JAVA_HOME=/nonexistent has no bin/java"),
        ({}, "spark://127.0.0.1:9", r"Spark master spark://127.0.0.1:9 is unreachable at 127.0.0.1:9 \(Connection refused\); start it"),
    ],
)
def test_java_missing_or_master_unreachable_is_one_line_and_writes_nothing(overview_dir: Path, env, master, message) -> None:
    project = spark_project(overview_dir, master)
    environ = {**os.environ, **env}
    if env.get("JAVA_HOME") == "":
        del environ["JAVA_HOME"]
    result = subprocess.run([*METAXY, "--project", str(project), "status", "--store", "spark"],
                            env=environ, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("Error: cannot open store 'spark': ")
    import re

    assert re.search(message, result.stderr), result.stderr
    assert not (project / ".metaxy" / "spark").exists()


def test_schema_drift_is_a_clear_error(overview_dir: Path, store) -> None:
    project = load_project(overview_dir)
    engine.write(project, store, VIDEO, videos()[:3])
    video = overview_dir / "features" / "video.yaml"
    video.write_text(video.read_text().replace("frames: integer", "frames: string"))
    project = load_project(overview_dir)
    before = current(store)
    with pytest.raises(StoreError, match=r"feature example/video: column 'frames' is stored as BIGINT in store 'spark' but the YAML declares it string"):
        engine.write(project, store, VIDEO, [{**row, "frames": str(row["frames"])} for row in videos()[:3]])
    assert current(store) == before


def test_bad_input_writes_nothing(overview_dir: Path, store, tmp_path: Path) -> None:
    project = load_project(overview_dir)
    engine.write(project, store, VIDEO, videos()[:2])
    bad = tmp_path / "bad.csv"
    bad.write_text("sample_uid,frames\ns1,12\ns2,x7\ns2,3\n")
    with pytest.raises(DataError, match=rf"^example/video: column 'frames' must be integer, got 'x7' in {bad} \(samples: sample_uid='s2'\)$"):
        engine.write(project, store, VIDEO, str(bad), partial=True)
    bad.write_text("sample_uid,frames\ns1,12\ns2,7\ns2,3\n")
    with pytest.raises(DataError, match=r"duplicate ids in .*: sample_uid='s2' \(2 rows\)$"):
        engine.write(project, store, VIDEO, str(bad), partial=True)
    with pytest.raises(DataError, match=r"lacks declared column\(s\) path, audio_sha, frames_sha, duration, size \(give every"):
        engine.write(project, store, VIDEO, str(bad))
    with pytest.raises(DataError, match=r"unknown column 'colour'"):
        engine.write(project, store, VIDEO, [{"sample_uid": "a", "colour": "red"}])
    assert store.fetch_all("SELECT count(*) FROM metaxy_writes") == [(1,)]
    assert len(current(store)) == 2


def test_spark_reads_files_and_a_dataframe(overview_dir: Path, store, tmp_path: Path) -> None:
    """Input files are read by Spark; a caller's DataFrame is written as it is; increments come
    back as DataFrames."""
    project = load_project(overview_dir)
    listing = tmp_path / "videos.parquet"
    pq.write_table(pa.Table.from_pylist(videos()), listing)
    assert engine.write(project, store, VIDEO, str(listing)).rows == 200
    frame = engine.increment(project, store, CROP).dataframe()
    assert type(frame).__module__.startswith("pyspark") and frame.count() == 200
    result = engine.write(project, store, CROP, frame.select("sample_uid", "metaxy_provenance"))
    assert (result.rows, result.outdated) == (200, 0)
    assert len(engine.increment(project, store, CROP)) == 0
    csv = tmp_path / "videos.csv"
    csv.write_text("sample_uid,path,frames\ns000,/moved,007\n")
    engine.write(project, store, VIDEO, str(csv), partial=True)  # the other columns keep their values
    assert store.fetch_all("SELECT path, frames, audio_sha FROM example__video WHERE sample_uid = 's000'") == [("/moved", 7, "audio-0")]


def test_increment_output_is_written_by_spark_and_matches_duckdb(overview_dir: Path, tmp_path: Path, invoke) -> None:
    """`increment --output DIR` is a folder of part files, `--output FILE` one file; both hold
    the same rows as the DuckDB store's increment."""
    project = spark_project(overview_dir)
    listing = tmp_path / "videos.parquet"
    pq.write_table(pa.Table.from_pylist(videos()), listing)
    outputs = {}
    for name in ("dev", "spark"):
        assert invoke("--project", project, "write", VIDEO, listing, "--store", name).exit_code == 0
        target = tmp_path / f"{name}.parquet"
        result = invoke("--project", project, "increment", CROP, "--output", target, "--store", name)
        assert result.exit_code == 0, result.stderr
        # metaxy_as_of is the state of the store it was read from (engine/carried.py): per store.
        outputs[name] = pq.read_table(target).sort_by("sample_uid").drop_columns(["metaxy_as_of"])
    assert outputs["spark"].to_pylist() == outputs["dev"].to_pylist()
    folder = tmp_path / "todo"
    result = invoke("--project", project, "increment", CROP, "--output", folder, "--format", "parquet", "--store", "spark")
    assert result.exit_code == 0 and result.stderr == f"wrote 200 samples to {folder}\n"
    assert {p.suffix for p in folder.iterdir() if not p.name.startswith((".", "_"))} == {".parquet"}
    assert pq.read_table(folder).sort_by("sample_uid").drop_columns(["metaxy_as_of"]).to_pylist() == outputs["dev"].to_pylist()
    jsonl = tmp_path / "todo.jsonl"
    assert invoke("--project", project, "increment", CROP, "--output", jsonl, "--store", "spark").exit_code == 0
    assert len(jsonl.read_text().splitlines()) == 200


def test_killed_write_leaves_the_store_as_before_and_vacuum_cleans_up(overview_dir: Path, tmp_path: Path, invoke) -> None:
    """SIGKILL while Spark writes a big batch: nothing of it is visible, its id is never reused,
    and `metaxy store vacuum` removes its files."""
    project = spark_project(overview_dir)
    root = project / ".metaxy" / "spark"
    small = tmp_path / "small.csv"
    small.write_text("sample_uid,path\nv1,/old/1\nv2,/old/2\n")
    assert invoke("--project", project, "write", VIDEO, small, "--partial", "--store", "spark").exit_code == 0
    with SparkStore.open(root, spark=spark_session()) as store:
        before = (current(store), store.fetch_all("SELECT * FROM metaxy_writes"))

    big = tmp_path / "big.parquet"
    rows = 3_000_000
    pq.write_table(pa.table({
        "sample_uid": pa.array([f"v{i}" for i in range(rows)]), "path": pa.array([f"/v/{i}" for i in range(rows)]),
    }), big, row_group_size=100_000)  # fmt: skip
    process = subprocess.Popen(
        [*METAXY, "--project", str(project), "write", VIDEO, str(big), "--partial", "--store", "spark"],
        start_new_session=True, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    staging = root / "example__video"
    deadline = time.monotonic() + 600  # a JVM start on a busy machine
    while process.poll() is None and time.monotonic() < deadline:
        if any(p.name.startswith("_tmp-") for p in staging.iterdir()):
            break
        time.sleep(0.05)
    assert process.poll() is None, "the write finished before it could be interrupted"
    os.killpg(process.pid, signal.SIGKILL)  # the CLI and its JVM
    process.wait()

    result = invoke("--project", project, "status", VIDEO, "--store", "spark")
    assert result.stdout.splitlines()[0] == "example/video: 0 new, 0 stale, 0 orphaned, 2 up to date"
    with SparkStore.open(root, spark=spark_session()) as store:
        assert (current(store), store.fetch_all("SELECT * FROM metaxy_writes")) == before
    listed = invoke("--project", project, "store", "vacuum", "--dry-run", "--store", "spark")
    assert listed.exit_code == 0 and "_tmp-2" in listed.stdout
    assert listed.stderr == "would remove 1 orphaned item(s) of store 'spark'\n"
    assert invoke("--project", project, "store", "vacuum", "--store", "spark").exit_code == 0
    assert not any(p.name.startswith("_tmp-") for p in staging.iterdir())
    # The store still works, and the lost write's id 2 is not handed out again.
    assert invoke("--project", project, "write", VIDEO, small, "--partial", "--store", "spark").exit_code == 0
    with SparkStore.open(root, spark=spark_session()) as store:
        assert store.fetch_all("SELECT write_id FROM metaxy_writes ORDER BY 1") == [(1,), (3,)]
    assert invoke("--project", project, "store", "vacuum", "--store", "spark").stderr == "removed 0 orphaned item(s) of store 'spark'\n"


def test_vacuum_on_a_transactional_store_has_nothing_to_do(overview_dir: Path, invoke) -> None:
    result = invoke("--project", overview_dir, "store", "vacuum", "--store", "dev")
    assert result.exit_code == 0 and result.stderr == "removed 0 orphaned item(s) of store 'dev'\n"


def test_ids_increase_in_commit_order_across_stores_on_one_folder(overview_dir: Path, tmp_path: Path) -> None:
    """Two stores (two writers) on one folder: ids are taken under the lock, in commit order."""
    project = load_project(overview_dir)
    first = open_backend("spark", tmp_path, "a")
    second = SparkStore.open(first.location, spark=spark_session(), name="b")
    engine.write(project, first, VIDEO, videos()[:3])
    engine.write(project, second, VIDEO, videos(("s001",))[:3])
    compute(project, first, CROP)  # first must see second's write to compute from it
    assert first.fetch_all("SELECT write_id, feature FROM metaxy_writes ORDER BY 1") == [(1, VIDEO), (2, VIDEO), (3, CROP)]
    assert len(engine.increment(project, second, CROP)) == 0
    first.close()
    second.close()


def test_two_stores_on_one_session_keep_their_own_rows(overview_dir: Path, tmp_path: Path) -> None:
    """Temp views are per session: each store re-registers its own before it queries."""
    project = load_project(overview_dir)
    first = open_backend("spark", tmp_path / "one")
    second = open_backend("spark", tmp_path / "two")
    engine.write(project, first, VIDEO, videos()[:3])
    engine.write(project, second, VIDEO, videos()[:5])
    assert first.fetch_all('SELECT count(*) FROM "example__video"') == [(3,)]
    assert second.fetch_all('SELECT count(*) FROM "example__video"') == [(5,)]
    assert len(engine.increment(project, first, CROP)) == 3
    first.close()
    second.close()


def test_an_empty_increment_to_a_folder(overview_dir: Path, store, tmp_path: Path) -> None:
    project = load_project(overview_dir)
    engine.write(project, store, VIDEO, videos()[:3])
    compute(project, store, CROP)
    assert engine.increment(project, store, CROP).write_to(tmp_path / "empty", "parquet") == 0
    assert pq.read_table(tmp_path / "empty").num_rows == 0
    assert engine.increment(project, store, CROP).write_to(tmp_path / "empty.csv", "csv") == 0
    assert (tmp_path / "empty.csv").read_text().startswith("sample_uid,")


def test_vacuum_leaves_batches_of_running_processes(store) -> None:
    """A batch is staged before its write takes the lock: vacuum removes only those of processes
    that no longer run (a killed write's), never a running writer's."""
    staging = Path(store.location) / "_staging"
    dead, running = staging / "999999999-lost", staging / f"{os.getppid()}-waiting"
    for folder in (dead, running):
        folder.mkdir(parents=True)
        (folder / "batch.parquet").write_bytes(b"PAR1")
    assert store.vacuum() == [f"{dead} (4 bytes)"]
    assert running.exists() and not dead.exists()


def test_checkpoints_are_published_after_their_commit(overview_dir: Path, store) -> None:
    """A write's clean checkpoint appears with its commit, never with a write that failed; a
    no-op increment is answered from it; a migration's forget removes every checkpoint."""
    from metaxy_cli.sql.resolved import resolve

    project = load_project(overview_dir)
    engine.write(project, store, VIDEO, videos()[:3])
    compute(project, store, CROP)
    recorded = store.files.checkpoints()
    assert recorded["example__video"]["up_to_date"] == 3 and recorded["example__crop"]["up_to_date"] == 3
    crop = resolve(project)[CROP]
    assert store.checkpoint(crop) == (recorded["example__crop"]["write_id"], 3)

    with pytest.raises(ZeroDivisionError), store.transaction():
        store.record_checkpoint(crop, 10**6, 99)
        1 / 0
    assert store.files.checkpoints() == recorded
    assert len(engine.increment(project, store, CROP)) == 0
    assert engine.summary(project, store, CROP).up_to_date == 3

    engine.write(project, store, VIDEO, videos(changed=("s001",))[:3])  # a 1% change, compared on s001 only
    summary = engine.summary(project, store, CROP)
    assert (summary.stale, summary.up_to_date) == (1, 2)
    assert summary == engine.summary(project, store, CROP, full=True)

    with store.transaction():
        store.forget_checkpoints()
    assert store.files.checkpoints() == {} and store.checkpoint(crop) is None

    store.files.storage.replace_file(store.files.storage.join(store.files.log, "_checkpoints.json"), "{not json")
    assert store.checkpoint(crop) is None  # a damaged file only costs a full comparison
    assert engine.summary(project, store, CROP) == engine.summary(project, store, CROP, full=True)
