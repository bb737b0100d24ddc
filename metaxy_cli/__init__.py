"""metaxy: declarative, YAML-first metadata versioning for multimodal data and ML pipelines.

The library API a pipeline calls; the `metaxy` command is a thin layer over it.
"""

from __future__ import annotations

__version__ = "0.1.0"

from metaxy_cli.errors import ConfigError, MetaxyError
from metaxy_cli.loader import load_project
from metaxy_cli.model import FeatureSpec, FieldSpec, Project

__all__ = ["ConfigError", "FeatureSpec", "FieldSpec", "MetaxyError", "Project", "__version__", "load_project"]
