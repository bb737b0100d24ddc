"""The Spark store's files: Parquet folders published by a small write log (no transactions).

    <path>/
      _metaxy_writes/            the write log; Spark never lists names starting with _ or .
        .lock / .lease           held by the one process committing at a time (flock on a
                                 local folder; a lease file on a Hadoop file system)
        _next_id                 the next write id to hand out (ids are never handed out twice)
        00000000000000000007.json  one committed write: its id, the partitions and table
                                 schemas it publishes, and its metaxy_writes row
        00000000000000000008-000001.json  a schema change alone (a read creating tables),
                                 ordered before write 8 and taking no write id
        _checkpoints.json        per feature table, its clean checkpoint (engine/changes.py):
                                 written under the lock, after the commit that proved it
      <table>/                   one folder per feature (its append-only log) or plain table
        _tmp-7/                  a write being staged (Spark writes here first)
        metaxy_write_id=7/       rows of write 7, renamed from _tmp-7 when complete
      _staging/<pid>-<id>/       batches handed to Spark as files (removed at close; vacuum
                                 removes those of processes no longer running)

A write is visible only once its log entry exists, so a killed job leaves nothing half-visible:
its folders are orphans that readers never list (`orphans`, removed by `metaxy store vacuum`).
An entry is written completely beside its name and then moved into place, never replacing one.
Ids are taken under the lock from `_next_id`, so they increase in commit order and a lost write's
id is never reused. The folder is a local one or any Hadoop file system (spark_storage.py says
what each gives: atomic moves and a lock).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from metaxy_cli.store.spark_storage import STAGING, Storage

LOG = "_metaxy_writes"
CHECKPOINTS = "_checkpoints.json"
PARTITION = "metaxy_write_id={}"
_PARTITION = re.compile(r"metaxy_write_id=(\d+)$")
_ENTRY = re.compile(r"(\d{20})(-\d{6})?\.json$")  # a write, or a schema change before write N


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
    """The folders and log of one Spark store root."""

    def __init__(self, storage: Storage):
        self.storage = storage
        self.root = storage.root
        self.log = storage.join(self.root, LOG)
        self._entries: dict[str, dict[str, Any]] = {}  # parsed log entries by file name

    # -- opening ----------------------------------------------------------------------------
    def create(self) -> None:
        """Make the root and the log folder, and prove they are writable (raises OSError)."""
        self.storage.mkdirs(self.log)
        probe = self.storage.join(self.log, f".probe-{self.storage.staging_name()}")
        self.storage.replace_file(probe, "")
        self.storage.remove(probe)

    # -- reading the log --------------------------------------------------------------------
    def committed(self, names: list[str]) -> Committed:
        """Fold the log entries `names` (entry_names, in id order) into the published state."""
        state = Committed()
        for name in names:
            entry = self._entries.get(name)
            if entry is None:
                entry = self._entries[name] = json.loads(self.storage.read_text(self.storage.join(self.log, name)))
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
        return [e.name for e in self.storage.list(self.log) if _ENTRY.match(e.name)]

    # -- writing ----------------------------------------------------------------------------
    def lock(self, timeout: float, store: str) -> Any:
        """The store's write lock (one committing process at a time), waited for up to `timeout` s."""
        return self.storage.lock(self.log, timeout, store)

    def claim_id(self, committed_last: int) -> int:
        """The next write id (call under the lock): larger than every id handed out before."""
        write_id = self.next_id(committed_last)
        self.storage.replace_file(self.storage.join(self.log, "_next_id"), f"{write_id + 1}\n")
        return write_id

    def next_id(self, committed_last: int) -> int:
        """The id the next write will get (call under the lock), without taking it."""
        try:
            stored = int(self.storage.read_text(self.storage.join(self.log, "_next_id")).strip() or 0)
        except (FileNotFoundError, ValueError):
            stored = 0
        return max(stored, committed_last + 1, 1)

    def commit_schemas(self, entry: dict[str, Any], committed_last: int) -> None:
        """Publish schema changes alone (no rows): ordered before the next write, no id taken."""
        before = self.next_id(committed_last)
        prefix = f"{before:020d}-"
        sequence = 1 + sum(1 for name in self.entry_names() if name.startswith(prefix))
        self.commit({**entry, "write_id": before}, f"{prefix}{sequence:06d}.json")

    def commit(self, entry: dict[str, Any], name: str | None = None) -> None:
        """Publish a write: its entry appears at once, complete, or not at all."""
        name = name or f"{int(entry['write_id']):020d}.json"
        self.storage.publish_file(self.storage.join(self.log, name), json.dumps(entry, sort_keys=True))

    def table_folder(self, table: str) -> str:
        return self.storage.join(self.root, table)

    def staging_folder(self, table: str, write_id: int, attempt: int = 0) -> str:
        suffix = f"-{attempt}" if attempt else ""
        return self.storage.join(self.root, table, f"_tmp-{write_id}{suffix}")

    def partition(self, table: str, write_id: int) -> str:
        return self.storage.join(self.root, table, PARTITION.format(write_id))

    def publish(self, staged: str, table: str, write_id: int) -> None:
        """Move a completely written staging folder into its partition (still invisible until
        the log entry names it); files of a second write of the table in one commit join it."""
        target = self.partition(table, write_id)
        if not self.storage.exists(target):
            self.storage.move(staged, target)
            return
        for part in self.storage.list(staged):
            if not part.name.startswith(("_", ".")):
                self.storage.move(self.storage.join(staged, part.name), self.storage.join(target, part.name))
        self.storage.remove(staged)

    def discard(self, table: str, write_id: int) -> None:
        """Remove a partition that will not be committed (a failed write)."""
        self.storage.remove(self.partition(table, write_id))

    # -- clean checkpoints ------------------------------------------------------------------
    def checkpoints(self) -> dict[str, dict[str, Any]]:
        """Every table's checkpoint ({digest, write_id, up_to_date}); replaced whole, so a reader
        never sees half of one."""
        try:
            found = json.loads(self.storage.read_text(self.storage.join(self.log, CHECKPOINTS)))
        except (FileNotFoundError, ValueError):  # none, or not ours to trust: compare in full
            return {}
        return found if isinstance(found, dict) else {}

    def record_checkpoints(self, recorded: dict[str, dict[str, Any]]) -> None:
        """Replace these tables' checkpoints (call under the lock, after the commit)."""
        merged = {**self.checkpoints(), **recorded}
        self.storage.replace_file(self.storage.join(self.log, CHECKPOINTS), json.dumps(merged, sort_keys=True))

    def forget_checkpoints(self) -> None:
        self.storage.remove(self.storage.join(self.log, CHECKPOINTS))

    # -- orphans ----------------------------------------------------------------------------
    def orphans(self, committed: Committed) -> list[str]:
        """Folders no committed write names: partitions and staging folders of lost writes, left
        over staged batches. Call under the lock (a write in progress has such folders too)."""
        found: list[str] = []
        tables = {meta.folder_of(table): table for table, meta in committed.tables.items()}
        for folder in self.storage.list(self.root):
            path = self.storage.join(self.root, folder.name)
            if folder.name == STAGING:
                for child in self.storage.list(path):
                    staged = self.storage.join(path, child.name)
                    if self.storage.abandoned(staged, child.name):
                        found.append(staged)
                continue
            if not folder.is_dir or folder.name.startswith(("_", ".")):
                continue
            if folder.name not in tables:
                found.append(path)  # created by a write that was never committed
                continue
            kept = set(committed.partitions.get(tables[folder.name], ()))
            for child in self.storage.list(path):
                match = _PARTITION.match(child.name)
                if child.name.startswith("_tmp-") or (match and int(match.group(1)) not in kept):
                    found.append(self.storage.join(path, child.name))
        return found
