"""One error tree for the library; the CLI formats these once, at the edge."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Location:
    """A place in a source file; `source` is the label shown to users (path, or REV:path)."""

    source: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.source}:{self.line}:{self.col}"
        return self.source


@dataclass(frozen=True, order=True)
class Problem:
    """One user-facing problem: where it is and what is wrong."""

    location: Location
    message: str = field(compare=True)

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class MetaxyError(Exception):
    """Base of every error the library raises on purpose."""


class ConfigError(MetaxyError):
    """The project or feature definitions are invalid; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ProjectNotFoundError(MetaxyError):
    """No metaxy.yaml where one was looked for."""


class UnknownFeatureError(MetaxyError):
    """A feature key given on the command line or in the API does not exist."""


class GitRevisionError(MetaxyError):
    """A git revision cannot be read (unknown, no repository, file missing at that revision)."""


class StoreError(MetaxyError):
    """The metadata store cannot be opened, read or written."""


class DataError(MetaxyError):
    """A batch of samples is invalid (unknown or missing columns, wrong types, duplicate ids)."""


class MigrationError(MetaxyError):
    """A migration cannot be written or applied (an unreconcilable change, a changed applied file)."""


class DialectError(MetaxyError):
    """A query cannot be expressed in the requested SQL dialect."""


class RenderError(MetaxyError):
    """A graph cannot be rendered (for example the Graphviz `dot` program is missing)."""
