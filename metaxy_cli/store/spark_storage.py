"""Where a Spark store's files live: a local POSIX folder, or any Hadoop file system by URL.

The write log (spark_files.py) needs five things of its storage: list a folder, read a small
file, publish a small file complete or not at all, move a folder, and a lock that lets one
process commit at a time. Both kinds give them:

- `LocalStorage` (a plain path): rename and link(2) are atomic and `flock` serialises writers;
  a lock dies with its process, so a killed writer never blocks the next one.
- `HadoopStorage` (`hdfs://`, `s3a://`, `abfss://`, `gs://`: what Spark itself reads
  through `org.apache.hadoop.fs.FileSystem`, called over the session's JVM gateway). A small file
  is written beside its name and renamed into place (a rename that finds its target fails). The
  lock is a lease file created only if absent: atomic on HDFS, ABFS with a hierarchical
  namespace and GCS; on S3A through a conditional PUT, asked for where the client has the
  capability (Hadoop 3.4+, when S3A is configured for it: a store that ignores the condition
  gives no exclusion); not on Hadoop's `file://`, which only tests use (a `file:` URL opens the
  local folder). Its holder rewrites it every lease/6 seconds and checks it is still its own; a
  lease nobody rewrote for `lease` seconds (a killed job's) is broken by the next writer, and a
  holder that finds its lease gone or another's (it stalled that long) commits nothing. Clocks
  are never compared: a waiter times a lease's silence on its own monotonic clock.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from metaxy_cli.definitions.errors import StoreError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LOCK_POLL = 0.1
LEASE = 20.0  # seconds a Hadoop lock may go unrefreshed before it counts as abandoned
UNREADABLE = "\0"  # a lease that exists but did not read (being rewritten)
CONDITIONAL_CREATE = "fs.option.create.conditional.overwrite"  # S3A: If-None-Match on the PUT
STAGING = "_staging"  # the store's folder of batches handed to Spark
ABANDONED_STAGING = 24 * 3600.0  # seconds after which another machine's staged batch is an orphan


@dataclass
class Held:
    """A lock while held. `lost`: a Hadoop lease that was broken meanwhile (its holder stalled
    longer than the lease), after which this holder must not commit."""

    lost: bool = False


@dataclass(frozen=True)
class Entry:
    name: str
    is_dir: bool


class Storage(Protocol):
    """The file operations the write log and the store need (paths are location strings)."""

    root: str

    def join(self, *parts: str) -> str: ...
    def mkdirs(self, path: str) -> None: ...
    def list(self, path: str) -> list[Entry]: ...
    def exists(self, path: str) -> bool: ...
    def read_text(self, path: str) -> str: ...
    def publish_file(self, path: str, text: str) -> None: ...
    def replace_file(self, path: str, text: str) -> None: ...
    def move(self, source: str, target: str) -> None: ...
    def remove(self, path: str) -> None: ...
    def size(self, path: str) -> int: ...
    def lock(self, folder: str, timeout: float, store: str) -> Any: ...
    def driver_folder(self) -> Path: ...
    def spark_readable(self, local: Path) -> tuple[str, str | None]: ...
    def staging_name(self) -> str: ...
    def abandoned(self, path: str, name: str) -> bool: ...


def open_storage(name: str, path: str, session: SparkSession | None, *, hadoop: bool = False) -> Storage:
    """A plain path or a `file:` URL is a local folder; another URL (`hdfs://`, `s3a://`, ...),
    or any path with `hadoop`, goes through Hadoop's FileSystem (`hadoop` is for tests: Hadoop's
    own `file://` has no atomic create-if-absent, so the local folder keeps flock)."""
    if hadoop or is_url(path):
        if session is None:
            raise StoreError(f"store {name!r}: {path} needs a Spark session to reach its file system")
        return HadoopStorage(path if "://" in path else f"file://{Path(path).expanduser().absolute()}", session, store=name)
    return LocalStorage(str(Path(local_path(path)).expanduser().absolute()))


def is_url(path: str) -> bool:
    """A location Hadoop's FileSystem reaches and this machine's file system does not."""
    return "://" in path and not path.startswith("file:")


def local_path(path: str) -> str:
    """A local path, from a `file:` URL (`file:///x`, `file:/x`) or a plain path."""
    return "/" + path[len("file:"):].lstrip("/") if path.startswith("file:") else path


class LocalStorage:
    """A folder of this machine (or an NFS mount with working locks)."""

    def __init__(self, root: str):
        self.root = root

    def join(self, *parts: str) -> str:
        return os.path.join(*parts)

    def mkdirs(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)

    def list(self, path: str) -> list[Entry]:
        try:
            with os.scandir(path) as found:
                return sorted((Entry(e.name, e.is_dir()) for e in found), key=lambda e: e.name)
        except FileNotFoundError:
            return []

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def read_text(self, path: str) -> str:
        with open(path, encoding="utf-8") as handle:
            return handle.read()

    def publish_file(self, path: str, text: str) -> None:
        """Durably, then linked into place: fails if the file exists (never overwritten)."""
        temporary = _beside(path, "tmp")
        _write_durably(temporary, text)
        try:
            os.link(temporary, path)
        finally:
            os.unlink(temporary)
        _sync_folder(os.path.dirname(path))

    def replace_file(self, path: str, text: str) -> None:
        temporary = _beside(path, "tmp")
        _write_durably(temporary, text)
        os.replace(temporary, path)

    def move(self, source: str, target: str) -> None:
        os.replace(source, target)

    def remove(self, path: str) -> None:
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            os.unlink(path)

    def size(self, path: str) -> int:
        if os.path.isfile(path):
            return os.path.getsize(path)
        return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())

    @contextmanager
    def lock(self, folder: str, timeout: float, store: str) -> Iterator[Held]:
        """flock on `folder`/.lock, waited for up to `timeout` s; released when the process ends
        (so never lost while held)."""
        import fcntl

        handle = os.open(os.path.join(folder, ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise _busy(store, self.root, timeout) from None
                    time.sleep(LOCK_POLL)
            yield Held()
        finally:
            os.close(handle)  # releases the lock

    def driver_folder(self) -> Path:
        """Files the driver writes for Spark go to the store's staging area (vacuum: whose)."""
        folder = Path(self.root) / STAGING / self.staging_name()
        folder.mkdir(parents=True)
        return folder

    def spark_readable(self, local: Path) -> tuple[str, str | None]:
        """Executors read this machine's files where they are (local[*], or a shared mount)."""
        return str(local), None

    def staging_name(self) -> str:
        return f"{os.getpid()}-{uuid.uuid4().hex}"

    def abandoned(self, path: str, name: str) -> bool:
        """A staged batch is read before its write takes the lock: only a dead process's is."""
        return not _alive(name.split("-")[0])


class HadoopStorage:
    """A folder of any Hadoop file system, through the Spark session's JVM."""

    def __init__(self, root: str, session: SparkSession, *, store: str = "spark", lease: float = LEASE):
        self.root = root.rstrip("/") or root
        self.lease = lease
        self._conditional_create: bool | None = None
        jvm = session._jvm  # type: ignore[attr-defined]
        self._Path = jvm.org.apache.hadoop.fs.Path
        try:
            self._fs = self._Path(self.root).getFileSystem(session._jsc.hadoopConfiguration())  # type: ignore[attr-defined]
        except Exception as error:  # Py4JJavaError: no such scheme, bad authority
            version = str(jvm.org.apache.hadoop.util.VersionInfo.getVersion())
            raise StoreError(f"cannot open store {store!r} at {root}: {_no_file_system(error, version)}") from None

    def join(self, *parts: str) -> str:
        return "/".join(p.rstrip("/") for p in parts)

    def _p(self, path: str) -> Any:
        return self._Path(path)

    def mkdirs(self, path: str) -> None:
        if not self._call(self._fs.mkdirs, self._p(path)):
            raise OSError(f"cannot create the folder {path}")

    def list(self, path: str) -> list[Entry]:
        try:
            found = self._call(self._fs.listStatus, self._p(path))
        except FileNotFoundError:
            return []
        return sorted((Entry(s.getPath().getName(), bool(s.isDirectory())) for s in found), key=lambda e: e.name)

    def exists(self, path: str) -> bool:
        return bool(self._call(self._fs.exists, self._p(path)))

    def read_text(self, path: str) -> str:
        stream = self._call(self._fs.open, self._p(path))
        try:
            return bytes(self._call(stream.readAllBytes)).decode("utf-8")
        finally:
            stream.close()

    def _write(self, path: str, text: str, *, overwrite: bool) -> None:
        """Write a small file; without `overwrite`, fail (FileExistsError) if it exists. Object
        stores report a lost race when the file is closed (S3A: a conditional PUT)."""
        if overwrite or not self._conditional(path):
            stream = self._call(self._fs.create, self._p(path), overwrite)
        else:
            builder = self._call(self._fs.createFile, self._p(path)).overwrite(False)
            stream = self._call(builder.must(CONDITIONAL_CREATE, True).build)
        try:
            self._call(stream.write, bytearray(text.encode("utf-8")))
        finally:
            self._call(stream.close)

    def _conditional(self, path: str) -> bool:
        """Whether the store creates a file only if absent by a condition on the write itself
        (S3A with conditional writes), which must then be asked for."""
        if self._conditional_create is None:
            parent = self._p(path).getParent()
            self._conditional_create = bool(self._call(self._fs.hasPathCapability, parent, CONDITIONAL_CREATE))
        return self._conditional_create

    def _written_beside(self, path: str, text: str) -> str:
        """`text` in a new file beside `path` (hidden: never listed as an entry); its path."""
        temporary = _beside(path, uuid.uuid4().hex[:8])
        self._write(temporary, text, overwrite=True)
        return temporary

    def publish_file(self, path: str, text: str) -> None:
        """Written beside, then renamed into place (a rename never replaces a file on HDFS; on
        object stores the object appears complete). Fails if the file exists."""
        if self.exists(path):
            raise FileExistsError(f"{path} exists")
        temporary = self._written_beside(path, text)
        try:
            if not self._call(self._fs.rename, self._p(temporary), self._p(path)):
                raise FileExistsError(f"{path} exists")
        finally:
            self._call(self._fs.delete, self._p(temporary), False)

    def replace_file(self, path: str, text: str) -> None:
        """Written beside, then renamed over the old file (HDFS's rename never replaces: the old
        one is deleted first; a kill between the two leaves no file, read as absent)."""
        temporary = self._written_beside(path, text)
        try:
            if self._call(self._fs.rename, self._p(temporary), self._p(path)):
                return
        except FileExistsError:  # S3A raises where HDFS returns false
            pass
        self._call(self._fs.delete, self._p(path), False)
        if not self._call(self._fs.rename, self._p(temporary), self._p(path)):
            raise OSError(f"cannot replace {path}")

    def move(self, source: str, target: str) -> None:
        if self.exists(target) or not self._call(self._fs.rename, self._p(source), self._p(target)):
            raise OSError(f"cannot move {source} to {target}")

    def remove(self, path: str) -> None:
        self._call(self._fs.delete, self._p(path), True)

    def size(self, path: str) -> int:
        return int(self._call(self._fs.getContentSummary, self._p(path)).getLength())

    @contextmanager
    def lock(self, folder: str, timeout: float, store: str) -> Iterator[Held]:
        """`folder`/.lease, created only if absent and rewritten every lease/6 s while held. A
        lease seen to change is a live holder's: waited for up to `timeout` s. One nobody
        rewrote for `lease` s (its holder was killed) is broken, however short `timeout` is."""
        path = self.join(folder, ".lease")
        token = f"{socket.gethostname()} {os.getpid()} {uuid.uuid4().hex}"
        deadline = time.monotonic() + timeout
        give_up = deadline + 2 * self.lease  # a lease that stays unreadable is waited for this long
        seen: tuple[str, int] | None = None  # the lease as last seen, and since when unchanged
        seen_since = time.monotonic()
        alive = False  # the holder rewrote its lease while we waited
        holder = ""  # the last holder read (a lease being rewritten may read empty)
        while True:
            try:
                self._write(path, token, overwrite=False)
                break
            except OSError as error:  # exists; or being created or rewritten right now (HDFS, S3A)
                failure = error
            held = self._lock_state(path)
            if held is not None and held[0].strip(UNREADABLE + " "):
                holder = held[0].rsplit(" ", 1)[0]  # "host pid", for the message
            if held is None and time.monotonic() >= deadline:  # no lease, yet it cannot be made
                raise StoreError(f"store {store!r} ({self.root}): cannot take the write lock {path}: {failure}") from None
            if held != seen:
                alive = alive or seen is not None
                seen, seen_since = held, time.monotonic()
            elif held is not None and time.monotonic() - seen_since >= self.lease:
                self._break(path, held[0])
                seen, alive = None, False
                continue
            if time.monotonic() >= deadline and (alive or time.monotonic() >= give_up):
                raise _busy(store, self.root, timeout, f" (held by {holder})" if holder else "") from None
            time.sleep(LOCK_POLL)
        held_lock = Held()
        stop = threading.Event()
        keeper = threading.Thread(target=self._keep, args=(path, token, stop, held_lock), daemon=True, name="metaxy-lock")
        keeper.start()
        try:
            yield held_lock
        finally:
            stop.set()
            keeper.join()
            state = self._lock_state(path)
            if state is not None and state[0] == token:
                self._call(self._fs.delete, self._p(path), False)

    def _keep(self, path: str, token: str, stop: threading.Event, held: Held) -> None:
        """Rewrite the held lease, so that waiters see its holder alive; a lease that is gone or
        another's (this process stalled past the lease and it was broken) marks the lock lost."""
        while not stop.wait(self.lease / 6):
            try:
                state = self._lock_state(path)
                if state is None or state[0] not in (token, UNREADABLE):
                    held.lost = True
                    return
                self._write(path, token, overwrite=True)
            except Exception:  # noqa: BLE001 - the next round tries again (a lapse costs the lease)
                continue

    def _lock_state(self, path: str) -> tuple[str, int] | None:
        """The lease's token and modification time; None when there is no lease. A lease being
        rewritten may not read: it counts as changed (its holder is alive)."""
        try:
            status = self._call(self._fs.getFileStatus, self._p(path))
            return self.read_text(path), int(status.getModificationTime())
        except FileNotFoundError:
            return None
        except OSError:
            return UNREADABLE, time.monotonic_ns()

    def _break(self, path: str, stale: str) -> None:
        """Move an abandoned lease aside (one waiter wins the rename) and drop it. A lease that
        turns out to be fresh (taken meanwhile) is put back, or, if a third writer took the name
        in between, dropped: its holder's keeper finds it gone and gives the lock up."""
        aside = _beside(path, f"stale-{uuid.uuid4().hex[:8]}")
        try:
            if not self._call(self._fs.rename, self._p(path), self._p(aside)):
                return
            if self.read_text(aside) != stale:
                try:
                    self._call(self._fs.rename, self._p(aside), self._p(path))
                except OSError:
                    pass
        except OSError:
            pass  # another waiter broke it first
        self._call(self._fs.delete, self._p(aside), False)

    def driver_folder(self) -> Path:
        """The driver writes to a local scratch folder; `spark_readable` copies it over."""
        import tempfile

        return Path(tempfile.mkdtemp(prefix="metaxy-spark-"))

    def spark_readable(self, local: Path) -> tuple[str, str | None]:
        """A file or folder of the driver's machine, copied into the store's staging area so that
        every executor reads it: (where to read it, the staged folder to remove later)."""
        folder = self.join(self.root, STAGING, self.staging_name())
        target = self.join(folder, local.name)
        self._call(self._fs.copyFromLocalFile, False, True, self._p(str(local.absolute())), self._p(target))
        return target, folder

    def staging_name(self) -> str:
        return f"{os.getpid()}@{socket.gethostname()}-{uuid.uuid4().hex}"

    def abandoned(self, path: str, name: str) -> bool:
        """This machine's staged batches by their process; another's after a day untouched."""
        pid, _, host = name.rsplit("-", 1)[0].partition("@")  # <pid>@<host>-<uuid>
        if host == socket.gethostname():
            return not _alive(pid)
        return time.time() - self._newest(path) / 1000 > ABANDONED_STAGING

    def _newest(self, path: str) -> int:
        """The newest modification time (ms) of the files under `path` (object stores give
        folders no time of their own), or the folder's when it holds none."""
        newest = 0
        files = self._call(self._fs.listFiles, self._p(path), True)
        while self._call(files.hasNext):
            newest = max(newest, int(self._call(files.next).getModificationTime()))
        return newest or int(self._call(self._fs.getFileStatus, self._p(path)).getModificationTime())

    def _call(self, method: Any, *args: Any) -> Any:
        """A file system call, its Java exceptions as Python's OSError kinds."""
        from py4j.protocol import Py4JJavaError

        try:
            return method(*args)
        except Py4JJavaError as error:
            raise _os_error(error) from None


def _os_error(error: Any) -> OSError:
    java = error.java_exception
    kind = java.getClass().getName()
    message = str(java.getMessage() or kind).strip().splitlines()[0]  # Azure and HDFS add lines
    if kind.endswith(("FileNotFoundException", "NoSuchFileException")):
        return FileNotFoundError(message)
    if kind.endswith(("FileAlreadyExistsException", "RemoteFileChangedException")):  # S3A: a lost conditional PUT
        return FileExistsError(message)
    if kind.endswith(("AccessControlException", "AccessDeniedException")):
        return PermissionError(message)
    return OSError(message)


def _no_file_system(error: Any, hadoop_version: str) -> str:
    message = str(getattr(getattr(error, "java_exception", None), "getMessage", lambda: error)())
    connector = re.search(r'No FileSystem for scheme "?(\w+)|Class (\S+) not found', message)
    if connector:
        missing = f"for {connector.group(1)}://" if connector.group(1) else f"class {connector.group(2)}"
        return (
            f"Spark has no file system connector ({missing} is missing): add it to the store's conf, "
            f"e.g. spark.jars.packages: org.apache.hadoop:hadoop-aws:{hadoop_version} for s3a://"
        )
    return message.strip().splitlines()[0] if message.strip() else type(error).__name__


def _busy(store: str, root: str, timeout: float, holder: str = "") -> StoreError:
    return StoreError(
        f"store {store!r} ({root}): another process is writing{holder} (waited {timeout:g} s; "
        "lock_timeout in the store's settings)"
    )


def _beside(path: str, tag: str) -> str:
    head, _, name = path.rpartition("/")
    return f"{head}/.{name}.{tag}" if head else f".{name}.{tag}"


def _alive(pid: str) -> bool:
    """Whether a process of this machine still runs."""
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_durably(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _sync_folder(path: str) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
