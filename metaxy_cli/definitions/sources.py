"""Where definitions are read from. The working tree here; git revisions in `gitsource`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from metaxy_cli.definitions.errors import ConfigError, Location, Problem, ProjectNotFoundError

PROJECT_FILE = "metaxy.yaml"


class DefinitionSource(Protocol):
    """Read access to a project's files, addressed by POSIX paths relative to the project root."""

    root: Path

    def read_text(self, relpath: str) -> str:
        """The file's text; raises FileNotFoundError when it does not exist."""

    def glob(self, pattern: str) -> list[str]:
        """Relative paths matching `pattern`, sorted."""

    def label(self, relpath: str) -> str:
        """How the file is named in messages (`examples/overview/metaxy.yaml`, `HEAD~1:metaxy.yaml`)."""


_BOM = b"\xef\xbb\xbf"


def decode_text(data: bytes, label: str) -> str:
    """A definition file's bytes as text: UTF-8, an optional BOM dropped. Anything else is a
    located ConfigError (`x.yaml:5:18: not UTF-8 text (byte 0xff)`), never a UnicodeDecodeError."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line_start = data.rfind(b"\n", 0, error.start) + 1
        line = data.count(b"\n", 0, error.start) + 1
        col = len(data[line_start : error.start].decode("utf-8", errors="replace")) + 1
        message = f"not UTF-8 text (byte 0x{data[error.start]:02x}); save the file as UTF-8"
        raise ConfigError([Problem(Location(label, line, col), message)]) from None


def display_path(path: Path) -> str:
    """`path` relative to the working directory when it is below it, else absolute."""
    try:
        return os.path.relpath(path) if path.is_absolute() and Path.cwd() in path.parents else str(path)
    except ValueError:
        return str(path)


class WorktreeSource:
    """Files as they are on disk now."""

    def __init__(self, root: Path):
        self.root = root.resolve()

    def read_text(self, relpath: str) -> str:
        path = self.root / relpath
        try:
            data = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            raise FileNotFoundError(relpath) from None
        except OSError as error:
            raise ConfigError([Problem(Location(self.label(relpath)), f"cannot read: {error.strerror or error}")]) from None
        return decode_text(data, self.label(relpath))

    def glob(self, pattern: str) -> list[str]:
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.glob(pattern) if p.is_file())

    def label(self, relpath: str) -> str:
        return display_path(self.root / relpath)


def find_project_file(start: Path | None = None) -> Path:
    """The nearest metaxy.yaml at or above `start` (default: the working directory)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    raise ProjectNotFoundError(f"no {PROJECT_FILE} found in {display_path(here)} or any parent folder (use --project PATH)")


def resolve_project_file(path: str | Path | None) -> Path:
    """`--project` may name the file or its folder; None searches upward from the working directory."""
    if path is None:
        return find_project_file()
    candidate = Path(path)
    if candidate.is_dir():
        candidate = candidate / PROJECT_FILE
    if not candidate.is_file():
        raise ProjectNotFoundError(f"{candidate}: project file not found")
    return candidate.resolve()
