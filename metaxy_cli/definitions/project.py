"""A loaded project: its features in topological order, their graph and versions, its stores.

Sits above model, graph and versions: the graph and the versions are computed from the features
on first use and kept, so every caller of one Project sees the same values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from metaxy_cli.definitions.errors import UnknownFeatureError
from metaxy_cli.definitions.graph import FeatureGraph
from metaxy_cli.definitions.model import FeatureSpec, StoreConfig
from metaxy_cli.definitions.suggest import did_you_mean
from metaxy_cli.definitions.versions import Versions, compute_versions


@dataclass(frozen=True, eq=False)
class Project:
    """A loaded, validated project. `features` are in topological order."""

    name: str
    root: Path
    features: dict[str, FeatureSpec]
    stores: dict[str, StoreConfig] = field(default_factory=dict)
    default_store: str | None = None
    truncate: int = 8
    plan_base: str | None = None
    cost_unit: str | None = None
    migrations_folder: str = "migrations"  # relative to root (`migrations.folder` in metaxy.yaml)
    source_label: str = "metaxy.yaml"

    def feature(self, key: str) -> FeatureSpec:
        try:
            return self.features[key]
        except KeyError:
            raise UnknownFeatureError(
                f"unknown feature {key!r}{did_you_mean(key, self.features)}"
            ) from None

    @cached_property
    def graph(self) -> FeatureGraph:
        return FeatureGraph(self.features)

    @cached_property
    def versions(self) -> Versions:
        return compute_versions(self.name, self.features, self.graph)

    def short(self, version: str) -> str:
        """A version truncated for display."""
        return version[: self.truncate]
