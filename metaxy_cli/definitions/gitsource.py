"""Definitions as they were at a git revision, or as staged in the index, read without a checkout.

A `GitRevisionSource` lists the revision's tree once (`git ls-tree -r`), expands include globs
against that listing with pathlib's glob semantics, and reads every blob through one long-lived
`git cat-file --batch` process, so loading 10,000 feature files costs a handful of processes.
Files are labelled `REV:path` (path from the repository root, git's own notation), so a YAML
error at an old revision reads `HEAD~1:features/video.yaml:3:5: ...`.
"""

from __future__ import annotations

import fnmatch
import posixpath
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from metaxy_cli.definitions.doc_cache import DocumentCache
from metaxy_cli.definitions.errors import GitRevisionError
from metaxy_cli.definitions.sources import WorktreeSource, decode_text, display_path

if TYPE_CHECKING:
    from metaxy_cli.definitions.project import Project

_SYMLINK_MODE = "120000"
_MAX_LINK_HOPS = 16
INDEX_LABEL = ""  # git names the index `:path`


def run_git(cwd: Path, *args: str) -> str:
    """Run one git command; its stdout, or GitRevisionError with git's own first error line."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, encoding="utf-8", check=False
        )
    except FileNotFoundError:
        raise GitRevisionError("git is not installed (or not on PATH)") from None
    if done.returncode != 0:
        message = next((line for line in done.stderr.splitlines() if line.strip()), "git failed")
        raise GitRevisionError(f"git {args[0]}: {message.removeprefix('fatal: ')}")
    return done.stdout


class Repository:
    """The git repository holding a project folder, and where that folder sits inside it."""

    def __init__(self, folder: Path):
        self.folder = folder.resolve()
        if not self.folder.is_dir():
            raise GitRevisionError(f"{display_path(self.folder)}: no such folder")
        try:
            out = run_git(self.folder, "rev-parse", "--show-toplevel", "--show-prefix")
        except GitRevisionError as error:
            if "not a git repository" in str(error):
                raise GitRevisionError(f"{display_path(self.folder)} is not inside a git repository") from None
            raise
        lines = out.split("\n")
        self.toplevel = Path(lines[0])
        self.prefix = lines[1]  # "" or "examples/overview/"

    def resolve(self, revision: str) -> str:
        """The commit a revision expression names; `A...B` is the merge base of A and B."""
        if not revision or revision.startswith("-"):
            raise GitRevisionError(f"invalid revision {revision!r}")
        if "..." in revision:
            left, right = revision.split("...", 1)
            left_commit = self.resolve(left or "HEAD")
            right_commit = self.resolve(right or "HEAD")
            try:
                return run_git(self.folder, "merge-base", left_commit, right_commit).strip()
            except GitRevisionError:
                raise GitRevisionError(f"{revision}: {left or 'HEAD'} and {right or 'HEAD'} have no common ancestor") from None
        try:
            return run_git(self.folder, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}").strip()
        except GitRevisionError:
            raise GitRevisionError(f"unknown revision {revision!r} (not a commit, branch or tag of this repository)") from None

    def short(self, commit: str) -> str:
        return run_git(self.folder, "rev-parse", "--short", commit).strip()

    def relative(self, repo_path: str) -> str | None:
        """A repository path relative to the project folder, or None when outside it."""
        if not repo_path.startswith(self.prefix):
            return None
        return repo_path[len(self.prefix) :]


class _BlobReader:
    """One `git cat-file --batch` process answering blob requests in turn."""

    def __init__(self, cwd: Path):
        self.cwd = cwd
        self._process: subprocess.Popen[bytes] | None = None

    def read(self, oid: str) -> bytes:
        process = self._start()
        stdin: IO[bytes] = process.stdin  # type: ignore[assignment]
        stdout: IO[bytes] = process.stdout  # type: ignore[assignment]
        stdin.write(oid.encode() + b"\n")
        stdin.flush()
        header = stdout.readline().split()
        if len(header) != 3:
            raise GitRevisionError(f"cannot read git object {oid}")
        size = int(header[2])
        data = stdout.read(size)
        stdout.read(1)  # the newline after each object
        return data

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            try:
                self._process = subprocess.Popen(
                    ["git", "cat-file", "--batch"], cwd=self.cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE
                )
            except FileNotFoundError:
                raise GitRevisionError("git is not installed (or not on PATH)") from None
        return self._process

    def close(self) -> None:
        if self._process is not None:
            self._process.stdin.close()  # type: ignore[union-attr]
            self._process.stdout.close()  # type: ignore[union-attr]
            self._process.wait()
            self._process = None


class _TreeSource:
    """A DefinitionSource over a listing of (path -> mode, blob id); subclasses provide the listing."""

    def __init__(self, repo: Repository, entries: dict[str, tuple[str, str]], rev_label: str):
        self.repo = repo
        self.root = repo.folder
        self.rev_label = rev_label
        self.entries = entries  # project-relative path -> (mode, oid)
        self._blobs = _BlobReader(repo.toplevel)

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._blobs.close()

    def exists(self, relpath: str) -> bool:
        return self._target(relpath) is not None

    def read_text(self, relpath: str) -> str:
        oid = self._target(relpath)
        if oid is None:
            raise FileNotFoundError(self.label(relpath))
        return decode_text(self._blobs.read(oid), self.label(relpath))

    def glob(self, pattern: str) -> list[str]:
        return sorted(path for path in self.entries if glob_match(pattern, path) and self.exists(path))

    def label(self, relpath: str) -> str:
        return f"{self.rev_label}:{self.repo.prefix}{relpath}"

    def _target(self, relpath: str) -> str | None:
        """The blob id behind `relpath`, following symbolic links inside the tree like a checkout would."""
        path = posixpath.normpath(relpath)
        for _ in range(_MAX_LINK_HOPS):
            entry = self.entries.get(path)
            if entry is None:
                return None
            mode, oid = entry
            if mode != _SYMLINK_MODE:
                return oid
            target = self._blobs.read(oid).decode("utf-8", errors="replace")
            if target.startswith("/"):
                return None
            path = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        return None


class GitRevisionSource(_TreeSource):
    """The project's files as committed at `revision` (any expression git understands, or `A...B`)."""

    def __init__(self, folder: Path, revision: str):
        repo = Repository(folder)
        self.revision = revision
        self.commit = repo.resolve(revision)
        label = repo.short(self.commit) if "..." in revision else revision
        listing = run_git(repo.toplevel, "ls-tree", "-r", "-z", "--full-tree", self.commit, "--", repo.prefix or ".")
        entries: dict[str, tuple[str, str]] = {}
        for (mode, kind, oid), path in _records(listing):
            relative = repo.relative(path)
            if kind == "blob" and relative is not None:
                entries[relative] = (mode, oid)
        super().__init__(repo, entries, label)


def _records(listing: str) -> Iterator[tuple[list[str], str]]:
    """The NUL-separated `meta<TAB>path` records of `git ls-tree -z` / `ls-files -s -z`."""
    for record in listing.split("\0"):
        if record:
            meta, path = record.split("\t", 1)
            yield meta.split(), path


class IndexSource(_TreeSource):
    """The project's files as staged in git's index (what `git commit` would record)."""

    def __init__(self, folder: Path):
        repo = Repository(folder)
        listing = run_git(repo.toplevel, "ls-files", "-s", "-z", "--full-name", "--", repo.prefix or ".")
        entries: dict[str, tuple[str, str]] = {}
        conflicted: list[str] = []
        for (mode, oid, stage), path in _records(listing):
            relative = repo.relative(path)
            if relative is None or mode == "160000":
                continue
            if stage != "0":
                conflicted.append(path)
            entries[relative] = (mode, oid)
        if conflicted:
            raise GitRevisionError(f"the index has unmerged files (resolve the conflicts first): {', '.join(sorted(set(conflicted)))}")
        super().__init__(repo, entries, INDEX_LABEL)


def glob_match(pattern: str, path: str) -> bool:
    """Whether `path` (POSIX, relative) matches `pattern` as `Path.glob` + `is_file()` would select it."""
    parts = [part for part in pattern.split("/") if part not in ("", ".")]
    if not parts or pattern.startswith("/"):
        return False
    return _match(parts, path.split("/"), 0, 0)


# Python 3.13 made a trailing `**` match files too (3.11 and 3.12 match only directories).
_TRAILING_STARSTAR_MATCHES_FILES = sys.version_info >= (3, 13)


def _match(parts: list[str], names: list[str], i: int, j: int) -> bool:
    if i == len(parts):
        return j == len(names)
    part = parts[i]
    if part == "**":
        if i == len(parts) - 1:
            return _TRAILING_STARSTAR_MATCHES_FILES and j < len(names)
        # `**` consumes zero or more directories, never the file name itself.
        return any(_match(parts, names, i + 1, k) for k in range(j, len(names)))
    if j == len(names):
        return False
    if part == "..":
        return False  # never selects a file inside the tree listing of this folder
    return fnmatch.fnmatchcase(names[j], part) and _match(parts, names, i + 1, j + 1)


def open_source(folder: Path, revision: str | None, *, staged: bool = False) -> WorktreeSource | _TreeSource:
    """The working tree (revision None), the index (`staged`), or a revision, for a project folder."""
    if staged:
        return IndexSource(folder)
    if revision is None:
        return WorktreeSource(folder)
    return GitRevisionSource(folder, revision)


def load_side(project_file: Path, revision: str | None, *, staged: bool = False, cache: DocumentCache | None = None):
    """Load the project whose metaxy.yaml is `project_file` as it is at one side of a comparison.

    The working tree when `revision` is None and not `staged`; else the index or the revision.
    Returns a Project; a metaxy.yaml absent at that revision is a GitRevisionError.
    """
    from metaxy_cli.definitions.loader import load_from_source

    source = open_source(project_file.parent, revision, staged=staged)
    if isinstance(source, WorktreeSource):
        return load_from_source(source, project_file.name, cache=cache)
    with source:
        if not source.exists(project_file.name):
            where = "in the index" if staged else f"at revision {revision}"
            raise GitRevisionError(f"{source.repo.prefix}{project_file.name} does not exist {where}")
        return load_from_source(source, project_file.name, cache=cache)


def load_pair(project_file: Path, base: str | None, head: str | None, *, staged: bool = False) -> tuple[Project, Project]:
    """Both sides of a comparison, with their versions computed.

    Files identical on both sides (most of them, in a typical change) are parsed only once, and
    not at all when the project's document cache already holds them.
    """
    cache = DocumentCache.for_project(project_file.parent)
    old = load_side(project_file, base, cache=cache)
    new = load_side(project_file, head, staged=staged, cache=cache)
    old.versions, new.versions  # noqa: B018 - cached on the projects
    return old, new


def configured_base(project_file: Path) -> str | None:
    """`plan.base` from metaxy.yaml, read without loading the features (None when unset or unreadable).

    An invalid project file is reported by the full load that follows, with its location.
    """
    from metaxy_cli.definitions.yaml_io import YamlSyntaxError, load_fast

    try:
        document = load_fast(project_file.read_text(encoding="utf-8"), project_file.name)
    except (OSError, UnicodeDecodeError, YamlSyntaxError):
        return None
    plan = document.get("plan") if isinstance(document, dict) else None
    base = plan.get("base") if isinstance(plan, dict) else None
    return base if isinstance(base, str) and base else None


def side_label(revision: str | None, *, staged: bool = False) -> str:
    """How a side is named in diff and plan headers."""
    if staged:
        return "index"
    return "working tree" if revision is None else revision


__all__ = [
    "GitRevisionSource",
    "IndexSource",
    "Repository",
    "configured_base",
    "glob_match",
    "load_pair",
    "load_side",
    "open_source",
    "run_git",
    "side_label",
]
