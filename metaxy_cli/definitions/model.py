"""Features and fields as frozen values: what the YAML says, checked by the loader. No I/O.

The whole project (features in order, their graph and versions) is `project.Project`."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from metaxy_cli.definitions.keys import fq_field, table_name

DocPath = tuple[str | int, ...]
DEFAULT_ID_COLUMNS = ("sample_uid",)
DEFAULT_FIELD = "default"
COLUMN_TYPES = ("string", "integer", "double", "boolean", "date", "timestamp", "binary", "json")


@dataclass(frozen=True)
class Origin:
    """Where a definition was written: a file label and the path inside that document."""

    source: str
    path: DocPath


@dataclass(frozen=True)
class FeatureDep:
    feature: str
    optional: bool = False


IDENTITY, EXPANSION, AGGREGATION = "identity", "expansion", "aggregation"
LINEAGE_KINDS = (IDENTITY, EXPANSION, AGGREGATION)


@dataclass(frozen=True)
class Lineage:
    """How a feature's samples relate to its deps' samples (spec section 7).

    identity: one upstream sample per sample, same ids. expansion: one parent sample -> many,
    every dep has id columns `on` and the feature's ids extend them. aggregation: many members ->
    one group, the feature's ids are `on`; deps whose ids extend `on` are aggregated, deps whose
    ids are `on` are joined at the group's grain.
    """

    kind: str = IDENTITY
    on: tuple[str, ...] = ()

    @property
    def is_identity(self) -> bool:
        return self.kind == IDENTITY


@dataclass(frozen=True)
class FieldDep:
    """Explicit parents from one upstream feature; `fields is None` means all of its fields."""

    feature: str
    fields: tuple[str, ...] | None = None


ALL_UPSTREAM_FIELDS = "*"


@dataclass(frozen=True)
class FieldSpec:
    key: str
    code_version: str = "1"
    # None: default resolution; "*": every field of every upstream; else explicit deps.
    deps: tuple[FieldDep, ...] | str | None = None
    description: str | None = None
    source: tuple[str, ...] | None = None
    data_version: str | None = None
    cost: float | None = None  # per sample, descriptive (plan); never part of a version


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str | None = None


@dataclass(frozen=True)
class FeatureSpec:
    key: str
    fields: tuple[FieldSpec, ...]
    deps: tuple[FeatureDep, ...] = ()
    columns: tuple[Column, ...] = ()
    id_columns: tuple[str, ...] = DEFAULT_ID_COLUMNS
    description: str | None = None
    owner: str | None = None
    tags: tuple[str, ...] = ()
    cost: float | None = None
    lineage: Lineage = Lineage()
    origin: Origin | None = field(default=None, compare=False, repr=False)
    # (id column, type) for id columns this feature does not declare but an upstream does: the
    # loader resolves them so that joined id columns have one type across the graph.
    id_types: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)

    @property
    def is_root(self) -> bool:
        return not self.deps

    @property
    def table(self) -> str:
        return table_name(self.key)

    @cached_property  # read in every graph walk; the spec is frozen, so compute it once
    def dep_keys(self) -> tuple[str, ...]:
        return tuple(dep.feature for dep in self.deps)

    def field(self, key: str) -> FieldSpec:
        for spec in self.fields:
            if spec.key == key:
                return spec
        raise KeyError(f"{self.key} has no field {key!r}")

    def field_keys(self) -> tuple[str, ...]:
        return self._field_keys

    @cached_property
    def _field_keys(self) -> tuple[str, ...]:
        return tuple(spec.key for spec in self.fields)

    def fq(self, field_key: str) -> str:
        return fq_field(self.key, field_key)

    def column(self, name: str) -> Column | None:
        return next((column for column in self.columns if column.name == name), None)

    def typed_id_columns(self) -> list[tuple[str, str]]:
        """(name, portable type) of each id column: declared under `columns`, else as an upstream
        declares it (`id_types`, resolved by the loader), else string."""
        declared = {column.name: column.type for column in self.columns}
        inherited = dict(self.id_types)
        return [(name, declared.get(name) or inherited.get(name, "string")) for name in self.id_columns]


@dataclass(frozen=True)
class StoreConfig:
    name: str
    type: str
    settings: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
