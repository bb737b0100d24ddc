"""metaxy: declarative, YAML-first metadata versioning for multimodal data and ML pipelines.

The library API a pipeline calls; the `metaxy` command is a thin layer over it.
"""

from __future__ import annotations

__version__ = "0.1.0"

from metaxy_cli.errors import ConfigError, MetaxyError
from metaxy_cli.loader import load_project
from metaxy_cli.model import FeatureSpec, FieldSpec, Project
from metaxy_cli.engine import Increment, Summary, delete, increment, status, summary, write
from metaxy_cli.store.config import open_store

__all__ = [
    "ConfigError", "FeatureSpec", "FieldSpec", "Increment", "MetaxyError", "Project", "Summary",
    "__version__", "delete", "increment", "load_project", "open_store", "status", "summary", "write",
]
