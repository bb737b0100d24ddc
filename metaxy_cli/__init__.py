"""metaxy: declarative, YAML-first metadata versioning for multimodal data and ML pipelines.

The library API a pipeline calls; the `metaxy` command is a thin layer over it. Public names are
imported on first use (PEP 562), so `metaxy --help` and `import metaxy_cli.cli` stay cheap.

The package reads as the data path, one stage per folder, each importing only the ones before it
(tests/test_architecture.py): definitions -> sql -> store -> engine -> render -> cli.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from metaxy_cli.definitions import __version__

if TYPE_CHECKING:
    from metaxy_cli.definitions.errors import ConfigError, MetaxyError
    from metaxy_cli.definitions.loader import load_project
    from metaxy_cli.definitions.model import FeatureSpec, FieldSpec
    from metaxy_cli.definitions.project import Project
    from metaxy_cli.engine import (
        Increment, Summary, delete, history, increment, migrate, plan, push, status, summary, write,
    )  # fmt: skip
    from metaxy_cli.store.config import open_store

_PUBLIC = {
    "ConfigError": "metaxy_cli.definitions.errors",
    "MetaxyError": "metaxy_cli.definitions.errors",
    "load_project": "metaxy_cli.definitions.loader",
    "FeatureSpec": "metaxy_cli.definitions.model",
    "FieldSpec": "metaxy_cli.definitions.model",
    "Project": "metaxy_cli.definitions.project",
    "Increment": "metaxy_cli.engine",
    "Summary": "metaxy_cli.engine",
    "delete": "metaxy_cli.engine",
    "history": "metaxy_cli.engine",
    "increment": "metaxy_cli.engine",
    "migrate": "metaxy_cli.engine",
    "plan": "metaxy_cli.engine",
    "push": "metaxy_cli.engine",
    "status": "metaxy_cli.engine",
    "summary": "metaxy_cli.engine",
    "write": "metaxy_cli.engine",
    "open_store": "metaxy_cli.store.config",
}
__all__ = sorted([*_PUBLIC, "__version__"])


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'metaxy_cli' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
