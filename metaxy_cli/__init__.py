"""metaxy: declarative, YAML-first metadata versioning for multimodal data and ML pipelines.

The library API a pipeline calls; the `metaxy` command is a thin layer over it.
"""

from __future__ import annotations

from metaxy_cli.definitions import __version__
from metaxy_cli.definitions.errors import ConfigError, MetaxyError
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.definitions.model import FeatureSpec, FieldSpec
from metaxy_cli.definitions.project import Project
from metaxy_cli.engine import Increment, Summary, delete, increment, status, summary, write
from metaxy_cli.store.config import open_store

__all__ = [
    "ConfigError", "FeatureSpec", "FieldSpec", "Increment", "MetaxyError", "Project", "Summary",
    "__version__", "delete", "increment", "load_project", "open_store", "status", "summary", "write",
]
