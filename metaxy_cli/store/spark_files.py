"""The Spark store's files: Parquet folders published by a small write log (no transactions).

    <path>/
      _metaxy_writes/            the write log; Spark never lists names starting with _ or .
        .lock                    held (flock) by the one process committing at a time
        _next_id                 the next write id to hand out (ids are never handed out twice)
        00000000000000000007.json  one committed write: its id, the partitions and table
                                 schemas it publishes, and its metaxy_writes row
        00000000000000000008-000001.json  a schema change alone (a read creating tables),
                                 ordered before write 8 and taking no write id
      <table>/                   one folder per feature (its append-only log) or plain table
        _tmp-7/                  a write being staged (Spark writes here first)
        metaxy_write_id=7/       rows of write 7, renamed from _tmp-7 when complete
      _staging/<pid>-<id>/       batches handed to Spark as files (removed at close; vacuum
                                 removes those of processes no longer running)

A write is visible only once its log entry exists, so a killed job leaves nothing half-visible:
its folders are orphans that readers never list (`orphans`, removed by `metaxy store vacuum`).
The entry is created by link(2), which fails rather than replace an existing one, after an fsync.
Ids are taken under the lock from `_next_id`, so they increase in commit order and a lost write's
id is never reused. All of this needs a local (POSIX) folder: rename and link are atomic there,
and flock serialises writers of one machine (and of NFS clients with working locks).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metaxy_cli.definitions.errors import StoreError

LOG = "_metaxy_writes"
STAGING = "_staging"
PARTITION = "metaxy_write_id={}"
_PARTITION = re.compile(r"metaxy_write_id=(\d+)$")
_ENTRY = re.compile(r"(\d{20})(-\d{6})?\.json$")  # a write, or a schema change before write N
LOCK_POLL = 0.1


@dataclass(frozen=True)
class TableMeta:
    """A table's schema in column order; a feature's also names its ids (current rows per id)."""

    columns: tuple[tuple[str, str], ...]
    ids: tuple[str, ...] = ()
    feature: bool = False
    folder: str | None = None  # where its partitions are, when not under its own name (a renamed feature)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"columns": [list(c) for c in self.columns], "ids": list(self.ids), "feature": self.feature}
        if self.folder is not None:
            data["folder"] = self.folder
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TableMeta:
        columns = tuple((str(name), str(kind)) for name, kind in data["columns"])
        return cls(columns, tuple(data.get("ids", ())), bool(data.get("feature", False)), data.get("folder"))

    def folder_of(self, table: str) -> str:
        return self.folder or table


@dataclass
class Committed:
    """The state the write log publishes: table schemas, and the write ids holding each table's rows."""

    tables: dict[str, TableMeta] = field(default_factory=dict)
    partitions: dict[str, list[int]] = field(default_factory=dict)
    writes: list[dict[str, Any]] = field(default_factory=list)  # metaxy_writes rows, in id order
    last_id: int = 0


class Files:
    """The folders and log of one Spark store root (a local path)."""

    def __init__(self, root: Path):
        self.root = root
        self.log = root / LOG
        self._entries: dict[str, dict[str, Any]] = {}  # parsed log entries by file name

    # -- opening ----------------------------------------------------------------------------
    def create(self) -> None:
        """Make the root and the log folder, and prove they are writable (raises OSError)."""
        self.log.mkdir(parents=True, exist_ok=True)
        probe = self.log / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()

    # -- reading the log --------------------------------------------------------------------
    def committed(self) -> Committed:
        """Fold every log entry, in id order, into the published state."""
        names = sorted(name for name in os.listdir(self.log) if _ENTRY.match(name))
        state = Committed()
        for name in names:
            entry = self._entries.get(name)
            if entry is None:
                entry = self._entries[name] = json.loads((self.log / name).read_text(encoding="utf-8"))
            write_id = int(entry["write_id"])
            logs = entry.get("logs") or ([entry["log"]] if entry.get("log") is not None else [])
            if entry.get("partitions") or logs:
                state.last_id = max(state.last_id, write_id)
            for old, new in entry.get("renames", {}).items():  # a renamed feature keeps its partitions
                state.partitions[new] = state.partitions.pop(old, [])
            for table, meta in entry.get("schemas", {}).items():
                if meta is None:
                    state.tables.pop(table, None)
                    state.partitions.pop(table, None)
                else:
                    state.tables[table] = TableMeta.from_json(meta)
            for table in entry.get("partitions", ()):
                state.partitions.setdefault(table, []).append(write_id)
            state.writes.extend(logs)
        return state

    def entry_names(self) -> list[str]:
        """Names of the committed entries: a cheap check whether anything was committed since."""
        return sorted(name for name in os.listdir(self.log) if _ENTRY.match(name))

    # -- writing ----------------------------------------------------------------------------
    @contextmanager
    def lock(self, timeout: float, store: str) -> Iterator[None]:
        """The store's write lock (one committing process at a time), waited for up to `timeout` s."""
        handle = os.open(self.log / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise StoreError(
                            f"store {store!r} ({self.root}): another process is writing (waited {timeout:g} s; "
                            "lock_timeout in the store's settings)"
                        ) from None
                    time.sleep(LOCK_POLL)
            yield
        finally:
            os.close(handle)  # releases the lock

    def claim_id(self, committed_last: int) -> int:
        """The next write id (call under the lock): larger than every id handed out before."""
        write_id = self.next_id(committed_last)
        _write_atomically(self.log / "_next_id", f"{write_id + 1}\n")
        return write_id

    def next_id(self, committed_last: int) -> int:
        """The id the next write will get (call under the lock), without taking it."""
        try:
            stored = int((self.log / "_next_id").read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            stored = 0
        return max(stored, committed_last + 1, 1)

    def commit_schemas(self, entry: dict[str, Any], committed_last: int) -> None:
        """Publish schema changes alone (no rows): ordered before the next write, no id taken."""
        before = self.next_id(committed_last)
        prefix = f"{before:020d}-"
        sequence = 1 + sum(1 for name in os.listdir(self.log) if name.startswith(prefix) and _ENTRY.match(name))
        self.commit({**entry, "write_id": before}, f"{prefix}{sequence:06d}.json")

    def commit(self, entry: dict[str, Any], name: str | None = None) -> None:
        """Publish a write: its entry appears at once, complete, or not at all."""
        name = name or f"{int(entry['write_id']):020d}.json"
        temporary = self.log / f".{name}.tmp"
        _write_durably(temporary, json.dumps(entry, sort_keys=True))
        try:
            os.link(temporary, self.log / name)  # fails if the entry exists: never overwritten
        finally:
            temporary.unlink()
        _sync_folder(self.log)

    def table_folder(self, table: str) -> Path:
        return self.root / table

    def staging_folder(self, table: str, write_id: int, attempt: int = 0) -> Path:
        suffix = f"-{attempt}" if attempt else ""
        return self.root / table / f"_tmp-{write_id}{suffix}"

    def partition(self, table: str, write_id: int) -> Path:
        return self.root / table / PARTITION.format(write_id)

    def publish(self, staged: Path, table: str, write_id: int) -> None:
        """Move a completely written staging folder into its partition (still invisible until
        the log entry names it); files of a second write of the table in one commit join it."""
        target = self.partition(table, write_id)
        if not target.exists():
            os.replace(staged, target)
            return
        for part in staged.iterdir():
            if not part.name.startswith(("_", ".")):
                os.replace(part, target / part.name)
        shutil.rmtree(staged)

    def discard(self, table: str, write_id: int) -> None:
        """Remove a partition that will not be committed (a failed write)."""
        shutil.rmtree(self.partition(table, write_id), ignore_errors=True)

    # -- orphans ----------------------------------------------------------------------------
    def orphans(self, committed: Committed) -> list[Path]:
        """Folders no committed write names: partitions and staging folders of lost writes, left
        over staged batches. Call under the lock (a write in progress has such folders too)."""
        found: list[Path] = []
        tables = {meta.folder_of(table): table for table, meta in committed.tables.items()}
        for folder in sorted(self.root.iterdir()):
            if folder.name == STAGING:
                found += sorted(child for child in folder.iterdir() if not _alive(child.name.split("-")[0]))
                continue
            if not folder.is_dir() or folder.name.startswith(("_", ".")):
                continue
            if folder.name not in tables:
                found.append(folder)  # created by a write that was never committed
                continue
            kept = set(committed.partitions.get(tables[folder.name], ()))
            for child in sorted(folder.iterdir()):
                match = _PARTITION.match(child.name)
                if child.name.startswith("_tmp-") or (match and int(match.group(1)) not in kept):
                    found.append(child)
        return found


def _alive(pid: str) -> bool:
    """Whether the process that staged a batch (named `<pid>-...`) still runs on this machine:
    its batch is read before its write takes the lock, so vacuum must leave it."""
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(child.stat().st_size for child in path.rglob("*") if child.is_file())


def _write_durably(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    _write_durably(temporary, text)
    os.replace(temporary, path)


def _sync_folder(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
