"""The Spark store's two storages, on the same contract: a local folder (POSIX) and a Hadoop file
system reached by URL (here Hadoop's own `file://` file system, through the session's JVM: the
code path of hdfs://, s3a:// and abfss://). Publishing never overwrites, the lock excludes a
second writer, a killed holder's lease is broken, a live holder's never is."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from metaxy_cli.definitions.errors import StoreError
from metaxy_cli.store.spark_storage import HadoopStorage, LocalStorage, open_storage
from tests.backends import spark_session

pytestmark = pytest.mark.spark


@pytest.fixture(params=["local", "hadoop"])
def storage(request, tmp_path: Path):
    root = tmp_path / "root"
    root.mkdir()
    if request.param == "local":
        return LocalStorage(str(root))
    return HadoopStorage(f"file://{root}", spark_session(), lease=1.0)


def local_path(storage, path: str) -> Path:
    return Path(path.removeprefix("file://"))


def test_open_storage_picks_by_path(tmp_path: Path) -> None:
    assert isinstance(open_storage("s", str(tmp_path), None), LocalStorage)
    local = open_storage("s", f"file://{tmp_path}", None)  # a file: URL keeps flock
    assert isinstance(local, LocalStorage) and local.root == str(tmp_path)
    assert isinstance(open_storage("s", f"file:{tmp_path}", spark_session(), hadoop=True), HadoopStorage)
    with pytest.raises(StoreError, match=r"^store 's': hdfs://nn/x needs a Spark session"):
        open_storage("s", "hdfs://nn/x", None)


def test_a_missing_connector_is_one_line() -> None:
    with pytest.raises(StoreError) as raised:
        open_storage("s", "s3a://bucket/metaxy", spark_session())
    message = str(raised.value)
    assert message.startswith("cannot open store 's' at s3a://bucket/metaxy: Spark has no file system connector")
    assert "\n" not in message and "spark.jars.packages" in message


def test_files_folders_and_listing(storage) -> None:
    folder = storage.join(storage.root, "log")
    storage.mkdirs(folder)
    storage.publish_file(storage.join(folder, "b.json"), '{"x": "é"}')
    storage.replace_file(storage.join(folder, "a"), "1\n")
    storage.replace_file(storage.join(folder, "a"), "2\n")
    storage.mkdirs(storage.join(folder, "sub"))
    listed = [(e.name, e.is_dir) for e in storage.list(folder) if not e.name.startswith(".")]
    assert listed == [("a", False), ("b.json", False), ("sub", True)]
    assert storage.read_text(storage.join(folder, "a")) == "2\n"
    assert storage.read_text(storage.join(folder, "b.json")) == '{"x": "é"}'
    assert storage.list(storage.join(storage.root, "missing")) == []
    assert storage.size(storage.join(folder, "b.json")) == len('{"x": "é"}'.encode())
    with pytest.raises(FileNotFoundError):
        storage.read_text(storage.join(folder, "missing"))


def test_publish_never_overwrites(storage) -> None:
    path = storage.join(storage.root, "entry.json")
    storage.publish_file(path, "first")
    with pytest.raises(FileExistsError):
        storage.publish_file(path, "second")
    assert storage.read_text(path) == "first"
    leftovers = [e.name for e in storage.list(storage.root) if "entry" in e.name and not e.name.endswith(".crc")]
    assert leftovers == ["entry.json"]  # no temporary file stays behind


def test_move_a_folder_and_refuse_an_existing_target(storage) -> None:
    source, target = storage.join(storage.root, "_tmp-1"), storage.join(storage.root, "metaxy_write_id=1")
    storage.mkdirs(source)
    storage.replace_file(storage.join(source, "part-0.parquet"), "rows")
    storage.move(source, target)
    assert not storage.exists(source) and storage.read_text(storage.join(target, "part-0.parquet")) == "rows"
    storage.mkdirs(source)
    with pytest.raises(OSError):
        storage.move(source, target)
    storage.remove(target)
    assert not storage.exists(target)


def test_the_lock_excludes_a_second_writer(storage) -> None:
    storage.mkdirs(storage.join(storage.root, "log"))
    folder = storage.join(storage.root, "log")
    with storage.lock(folder, 1, "s"):
        with pytest.raises(StoreError, match=r"^store 's' \(.*\): another process is writing.*waited 0.3 s"):
            with storage.lock(folder, 0.3, "s"):
                pass
    with storage.lock(folder, 0.3, "s"):  # released
        pass


def test_a_live_holder_keeps_its_lease(tmp_path: Path) -> None:
    """The holder rewrites its lease while it works: a waiter gives up rather than break it,
    even when the work lasts several leases."""
    storage = HadoopStorage(f"file://{tmp_path}", spark_session(), lease=1.2)  # room for a loaded machine
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        with storage.lock(str(tmp_path), 5, "s"):
            held.set()
            done.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        with pytest.raises(StoreError, match=r"another process is writing \(held by .* \d+\)"):
            with storage.lock(f"file://{tmp_path}", 3.0, "s"):
                pass
    finally:
        done.set()
        holder.join()


def test_a_killed_holders_lease_is_broken(tmp_path: Path) -> None:
    """A lease nobody rewrites (its holder was killed) is broken after `lease` seconds."""
    storage = HadoopStorage(f"file://{tmp_path}", spark_session(), lease=0.5)
    (tmp_path / ".lease").write_text("elsewhere 12345 dead")
    started = time.monotonic()
    with storage.lock(f"file://{tmp_path}", 10, "s"):
        waited = time.monotonic() - started
        assert (tmp_path / ".lease").read_text() != "elsewhere 12345 dead"
    assert 0.5 <= waited < 5
    assert not (tmp_path / ".lease").exists()


def test_a_killed_holders_lease_is_broken_even_when_the_timeout_is_shorter(tmp_path: Path) -> None:
    """lock_timeout below the lease: a silent lease is still waited out and broken (only a
    holder seen alive makes a waiter give up at its timeout)."""
    storage = HadoopStorage(f"file://{tmp_path}", spark_session(), lease=1.0)
    (tmp_path / ".lease").write_text("elsewhere 12345 dead")
    started = time.monotonic()
    with storage.lock(f"file://{tmp_path}", 0.2, "s"):
        assert time.monotonic() - started >= 1.0


def test_a_holder_whose_lease_was_taken_knows_it_lost_the_lock(tmp_path: Path) -> None:
    """A holder that stalled past its lease finds another's lease at its next rewrite: the lock
    is marked lost (the store then commits nothing) and the other's lease is left alone."""
    storage = HadoopStorage(f"file://{tmp_path}", spark_session(), lease=0.6)
    with storage.lock(f"file://{tmp_path}", 1, "s") as held:
        assert not held.lost
        take_over(tmp_path / ".lease", until=lambda: held.lost)
        assert held.lost
    assert (tmp_path / ".lease").read_text() == TAKEN


TAKEN = "elsewhere 4242 taken-over"


def take_over(lease: Path, until=lambda: False, seconds: float = 5.0) -> None:
    """Another writer's lease in place of ours, kept alive as its holder would: rewritten
    whenever our keeper (which may have read it just before) wrote over it. Python's write
    leaves Hadoop's local checksum file stale, so that goes first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not until():
        if not lease.exists() or lease.read_text() != TAKEN:
            (lease.parent / f".{lease.name}.crc").unlink(missing_ok=True)
            lease.write_text(TAKEN)
        time.sleep(0.02)
    time.sleep(0.2)  # the keeper's last round, if it was mid-way


def test_a_lease_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "log"
    blocker.write_text("a file, not a folder")
    storage = HadoopStorage(f"file://{tmp_path}", spark_session(), lease=0.5)
    with pytest.raises(StoreError, match=r"^store 's' \(.*\): cannot take the write lock .*/log/\.lease: ") as raised:
        with storage.lock(f"file://{blocker}", 0.2, "s"):
            pass
    assert "\n" not in str(raised.value)


def test_files_of_the_driver_reach_the_executors(storage, tmp_path: Path) -> None:
    """A local store reads the driver's files in place; a URL store copies them into its
    staging area (the executors of a cluster cannot read the driver's disk)."""
    folder = storage.driver_folder()
    (folder / "batch.parquet").write_bytes(b"PAR1")
    location, staged = storage.spark_readable(folder / "batch.parquet")
    if isinstance(storage, LocalStorage):
        assert (location, staged) == (str(folder / "batch.parquet"), None)
        assert folder.parent == Path(storage.root) / "_staging"
    else:
        assert location.startswith(storage.root + "/_staging/") and location.endswith("/batch.parquet")
        assert storage.read_text(location) == "PAR1" and location.startswith(staged)
        assert not folder.is_relative_to(local_path(storage, storage.root))


def test_abandoned_staging(storage) -> None:
    name = storage.staging_name()
    path = storage.join(storage.root, "_staging", name)
    storage.mkdirs(path)
    assert not storage.abandoned(path, name)  # this process's
    dead = name.replace(str(os.getpid()), "999999999", 1)
    assert storage.abandoned(path, dead)
    if isinstance(storage, HadoopStorage):  # another machine's: by age (a day untouched)
        assert not storage.abandoned(path, "123@another-host-x")
