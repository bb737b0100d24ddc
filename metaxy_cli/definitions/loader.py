"""From YAML files to a validated Project: schema first, then the semantic checks of spec §1.

Every problem is collected and reported at once, each as `file:line:col: message`. Positions are
only looked up (by a round-trip parse) when there is something to report.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import wraps
from pathlib import Path
from typing import Any

from metaxy_cli.definitions.doc_cache import DocumentCache
from metaxy_cli.definitions.errors import ConfigError, Location, Problem, ProjectNotFoundError
from metaxy_cli.definitions.graph import find_cycle, topological_order
from metaxy_cli.definitions.keys import column_stem, history_table_name, key_problem, table_name
from metaxy_cli.definitions.model import (
    AGGREGATION,
    ALL_UPSTREAM_FIELDS,
    DEFAULT_FIELD,
    EXPANSION,
    IDENTITY,
    DEFAULT_ID_COLUMNS,
    Column,
    DocPath,
    FeatureDep,
    FeatureSpec,
    FieldDep,
    FieldSpec,
    Lineage,
    Origin,
    StoreConfig,
)
from metaxy_cli.definitions.project import Project
from metaxy_cli.definitions.schemas import FEATURES_SCHEMA, PROJECT_SCHEMA, readable_path, validate
from metaxy_cli.definitions.sources import PROJECT_FILE, DefinitionSource, WorktreeSource, resolve_project_file
from metaxy_cli.definitions.suggest import did_you_mean
from metaxy_cli.definitions.yaml_io import PositionIndex, YamlSyntaxError, load_fast


RESERVED_PREFIX = "metaxy"  # store tables of metaxy itself (metaxy_writes, ...)


@dataclass(frozen=True)
class _Pending:
    """A problem whose position is not looked up yet."""

    source: str
    path: DocPath
    message: str
    at_key: bool = False
    quote_hint: bool = False
    also: Origin | None = None  # a second place to name (duplicates)


class _Reporter:
    """Collects problems and resolves their positions against the files' texts, once per file."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}
        self.pending: list[_Pending] = []
        self.located: list[Problem] = []
        self._indexes: dict[str, PositionIndex] = {}

    def add(self, origin: Origin, suffix: DocPath, message: str, **options: Any) -> None:
        self.pending.append(_Pending(origin.source, origin.path + suffix, message, **options))

    def _index(self, source: str) -> PositionIndex:
        if source not in self._indexes:
            self._indexes[source] = PositionIndex(self.texts[source], source)
        return self._indexes[source]

    def _locate(self, source: str, path: DocPath, at_key: bool = False) -> Location:
        return self._index(source).locate(path, at_key=at_key)

    def raise_if_any(self) -> None:
        problems = list(self.located)
        for item in self.pending:
            location = self._locate(item.source, item.path, item.at_key)
            message = item.message
            if item.quote_hint:
                token = self._index(item.source).raw_token(location)
                message += f"; quote it: code_version: \"{token.strip(chr(34) + chr(39))}\""
            if item.also is not None:
                message += f" (first defined at {self._locate(item.also.source, item.also.path)})"
            problems.append(Problem(location, message))
        if problems:
            raise ConfigError(problems)


def load_project(path: str | Path | None = None, *, cache: DocumentCache | None = None) -> Project:
    """Load the project whose metaxy.yaml is at `path` (file or folder), or found upward from cwd.

    Clean documents are remembered in the project's `.metaxy/cache` unless `cache` says otherwise.
    """
    project_file = resolve_project_file(path)
    if cache is None:
        cache = DocumentCache.for_project(project_file.parent)
    return load_from_source(WorktreeSource(project_file.parent), project_file.name, cache=cache)


def _collector_paused(load: Callable[..., Project]) -> Callable[..., Project]:
    """Run `load` with Python's cyclic garbage collector paused.

    Documents and specs are trees, free of reference cycles, yet while hundreds of thousands of
    them are built the collector keeps rescanning them: about 15% of loading 10,000 features.
    """

    @wraps(load)
    def paused(*args: Any, **kwargs: Any) -> Project:
        if not gc.isenabled():
            return load(*args, **kwargs)
        gc.disable()
        try:
            return load(*args, **kwargs)
        finally:
            gc.enable()

    return paused


@_collector_paused
def load_from_source(
    source: DefinitionSource, project_file: str = PROJECT_FILE, *, cache: DocumentCache | None = None
) -> Project:
    """Load and validate a project from any source (working tree, git revision)."""
    cache = cache if cache is not None else DocumentCache()
    reporter = _Reporter()
    project_label = source.label(project_file)
    try:
        text = source.read_text(project_file)
    except FileNotFoundError:
        raise ProjectNotFoundError(f"{project_label}: project file not found") from None
    document = _parse(reporter, project_label, text, PROJECT_SCHEMA, cache)
    entries: list[tuple[Origin, dict[str, Any]]] = []
    if isinstance(document, dict):
        root = Origin(project_label, ())
        entries += _feature_entries(project_label, document)
        includes = document.get("include")
        for index, pattern in enumerate(includes if isinstance(includes, list) else []):  # else: the schema says
            if not isinstance(pattern, str):
                continue
            if pattern.startswith("/") or ".." in pattern.split("/"):
                reporter.add(root, ("include", index), f"include pattern {pattern!r} must be relative to the project folder (no leading '/' or '..')")
                continue
            try:
                matches = [p for p in source.glob(pattern) if p != project_file]
            except (ValueError, IndexError):  # pathlib refuses it ('', '**x', ...)
                reporter.add(root, ("include", index), f"include pattern {pattern!r} is not a valid glob (e.g. features/*.yaml)")
                continue
            if not matches:
                reporter.add(root, ("include", index), f"include pattern {pattern!r} matches no file")
            for relpath in matches:
                label = source.label(relpath)
                if label in reporter.texts:
                    continue
                included = _parse(reporter, label, source.read_text(relpath), FEATURES_SCHEMA, cache)
                if isinstance(included, dict):
                    entries += _feature_entries(label, included)
    reporter.raise_if_any()
    assert isinstance(document, dict)
    default_ids = tuple(document.get("id_columns") or DEFAULT_ID_COLUMNS)
    specs = [(origin, _build_feature(raw, default_ids, origin)) for origin, raw in entries]
    features = _check_features(reporter, specs)
    stores = _build_stores(reporter, document, project_label)
    reporter.raise_if_any()
    order = topological_order({key: spec.dep_keys for key, spec in features.items()})
    features = _resolve_id_columns(reporter, features, order)
    reporter.raise_if_any()
    return Project(
        name=document["project"],
        root=source.root,
        features={key: features[key] for key in order},
        stores=stores,
        default_store=document.get("default_store") or next(iter(stores), None),
        truncate=(document.get("hash") or {}).get("truncate", 8),
        plan_base=(document.get("plan") or {}).get("base"),
        cost_unit=document.get("cost_unit"),
        migrations_folder=(document.get("migrations") or {}).get("folder", "migrations"),
        source_label=project_label,
    )


def _parse(reporter: _Reporter, label: str, text: str, schema: str, cache: DocumentCache) -> Any:
    reporter.texts[label] = text
    remembered = cache.get(schema, text)
    if remembered is not None:
        return remembered
    try:
        document = load_fast(text, label)
    except YamlSyntaxError as error:
        reporter.located.append(error.problem)
        return None
    if not isinstance(document, dict):
        got = "an empty file" if document is None else f"a {type(document).__name__}"
        wanted = "'project:'" if schema == PROJECT_SCHEMA else "a 'features:' list"
        message = f"expected a YAML mapping with {wanted} at the top level, got {got}"
        reporter.located.append(Problem(Location(label, 1, 1), message))
        return None
    origin = Origin(label, ())
    issues = validate(document, schema)
    for issue in issues:
        reporter.add(origin, issue.path, issue.message, at_key=issue.at_key, quote_hint=issue.quote_hint)
    if not issues:
        cache.put(schema, text, document)
    return document


def _feature_entries(label: str, document: dict[str, Any]) -> list[tuple[Origin, dict[str, Any]]]:
    features = document.get("features")
    if not isinstance(features, list):  # else: the schema says so, located
        return []
    return [(Origin(label, ("features", i)), raw) for i, raw in enumerate(features)]


def _build_field(raw: dict[str, Any]) -> FieldSpec:
    deps = raw.get("deps")
    if isinstance(deps, list):
        deps = tuple(
            FieldDep(d["feature"], None if d.get("fields", "*") == "*" else tuple(d["fields"])) for d in deps
        )
    return FieldSpec(
        key=raw["key"],
        code_version=raw.get("code_version", "1"),
        deps=deps,
        description=raw.get("description"),
        source=tuple(raw["source"]) if "source" in raw else None,
        data_version=raw.get("data_version"),
        cost=raw.get("cost"),
    )


def _build_feature(raw: dict[str, Any], default_ids: tuple[str, ...], origin: Origin) -> FeatureSpec:
    columns = tuple(
        Column(name, value) if isinstance(value, str) else Column(name, value["type"], value.get("description"))
        for name, value in (raw.get("columns") or {}).items()
    )
    deps = tuple(
        FeatureDep(d) if isinstance(d, str) else FeatureDep(d["feature"], bool(d.get("optional", False)))
        for d in raw.get("deps") or []
    )
    fields = tuple(_build_field(f) for f in raw.get("fields") or []) or (FieldSpec(DEFAULT_FIELD),)
    return FeatureSpec(
        key=raw["key"],
        fields=fields,
        deps=deps,
        columns=columns,
        id_columns=tuple(raw.get("id_columns") or default_ids),
        description=raw.get("description"),
        owner=raw.get("owner"),
        tags=tuple(raw.get("tags") or ()),
        cost=raw.get("cost"),
        lineage=_build_lineage(raw.get("lineage")),
        origin=origin,
    )


def _build_lineage(raw: dict[str, Any] | None) -> Lineage:
    if not raw:
        return Lineage()
    return Lineage(raw.get("kind", IDENTITY), tuple(raw.get("on") or ()))


def _check_features(reporter: _Reporter, specs: list[tuple[Origin, FeatureSpec]]) -> dict[str, FeatureSpec]:
    features: dict[str, FeatureSpec] = {}
    tables: dict[str, FeatureSpec] = {}
    for origin, spec in specs:
        problem = key_problem(spec.key)
        if problem:
            reporter.add(origin, ("key",), f"{readable_path(origin.path + ('key',))}: invalid feature key: {problem}")
        if spec.key in features:
            first = features[spec.key].origin
            reporter.add(origin, ("key",), f"duplicate feature {spec.key!r}", also=Origin(first.source, first.path + ("key",)))
            continue
        if spec.key.startswith(RESERVED_PREFIX):
            reporter.add(origin, ("key",), f"feature key {spec.key!r}: keys starting with {RESERVED_PREFIX!r} are reserved for metaxy's own tables")
        owned = (table_name(spec.key), history_table_name(spec.key))
        clash = next((tables[name] for name in owned if name in tables), None)
        if clash is not None:
            reporter.add(origin, ("key",), f"feature {spec.key!r} has the same table name as {clash.key!r}")
        features[spec.key] = spec
        tables.update(dict.fromkeys(owned, spec))
    for spec in features.values():
        _check_feature(reporter, spec, features)
    _check_cycles(reporter, features)
    return features


def _check_cycles(reporter: _Reporter, features: dict[str, FeatureSpec]) -> None:
    """Report one cycle per group of features that depend on each other (self-deps are separate)."""
    deps = {key: [d for d in spec.dep_keys if d in features and d != key] for key, spec in features.items()}
    while (cycle := find_cycle(deps)) is not None:
        reporter.add(features[cycle[0]].origin, ("deps",), "dependency cycle: " + " -> ".join(cycle))
        for key in cycle:
            deps.pop(key, None)


def _check_feature(reporter: _Reporter, spec: FeatureSpec, features: dict[str, FeatureSpec]) -> None:
    origin = spec.origin
    seen_deps: set[str] = set()
    for index, dep in enumerate(spec.deps):
        where = ("deps", index)
        if dep.feature == spec.key:
            reporter.add(origin, where, f"feature {spec.key!r} depends on itself")
        elif dep.feature not in features:
            reporter.add(origin, where, f"{spec.key}: unknown dependency {dep.feature!r}{did_you_mean(dep.feature, features)}")
        elif dep.feature in seen_deps:
            reporter.add(origin, where, f"{spec.key}: dependency {dep.feature!r} listed twice")
        seen_deps.add(dep.feature)
    _check_lineage(reporter, spec)
    column_names = [c.name for c in spec.columns]
    seen_fields: set[str] = set()
    stems: dict[str, str] = {}
    for index, field in enumerate(spec.fields):
        where = ("fields", index)
        fq = spec.fq(field.key)
        problem = key_problem(field.key)
        if problem:
            reporter.add(origin, where + ("key",), f"{fq}: invalid field key: {problem}")
        if field.key in seen_fields:
            reporter.add(origin, where + ("key",), f"{spec.key}: duplicate field {field.key!r}")
        elif stems.get(column_stem(field.key), field.key) != field.key:
            other = stems[column_stem(field.key)]
            reporter.add(origin, where + ("key",), f"{spec.key}: fields {other!r} and {field.key!r} map to the same column name {column_stem(field.key)!r}")
        seen_fields.add(field.key)
        stems.setdefault(column_stem(field.key), field.key)
        for source_index, column in enumerate(field.source or ()):
            if column not in column_names:
                reporter.add(origin, where + ("source", source_index), f"{fq}: source column {column!r} is not a declared column{did_you_mean(column, column_names)}")
        if field.source is not None and not spec.is_root:
            reporter.add(origin, where + ("source",), f"{fq}: 'source' is only for root features (its inputs come from deps)")
        if field.data_version is not None and field.data_version not in column_names:
            reporter.add(origin, where + ("data_version",), f"{fq}: data_version column {field.data_version!r} is not a declared column{did_you_mean(field.data_version, column_names)}")
        if field.deps is None:
            continue
        if spec.is_root:
            reporter.add(origin, where + ("deps",), f"{fq}: field deps on a root feature (it has no deps to take fields from)")
            continue
        if field.deps == ALL_UPSTREAM_FIELDS:
            continue
        for dep_index, field_dep in enumerate(field.deps):
            dep_where = where + ("deps", dep_index, "feature")
            if field_dep.feature not in spec.dep_keys:
                reporter.add(origin, dep_where, f"{fq}: field dep on {field_dep.feature!r}, which is not a dep of {spec.key!r}{did_you_mean(field_dep.feature, spec.dep_keys)}")
                continue
            upstream = features.get(field_dep.feature)
            if upstream is None:
                continue
            for key_index, key in enumerate(field_dep.fields or ()):
                if key not in upstream.field_keys():
                    reporter.add(origin, where + ("deps", dep_index, "fields", key_index), f"{fq}: unknown field {key!r} of {upstream.key!r}{did_you_mean(key, upstream.field_keys())}")


def _check_lineage(reporter: _Reporter, spec: FeatureSpec) -> None:
    """What the lineage says on its own (its relation to the deps' ids: _resolve_id_columns)."""
    lineage, origin = spec.lineage, spec.origin
    if lineage.is_identity:
        if lineage.on:
            reporter.add(origin, ("lineage", "on"), f"{spec.key}: 'on' is for expansion and aggregation lineage (identity matches all id columns)")
        return
    if spec.is_root:
        reporter.add(origin, ("lineage", "kind"), f"{spec.key}: {lineage.kind} lineage needs deps (a root feature has no upstream samples)")
        return
    if not lineage.on:
        reporter.add(origin, ("lineage",), f"{spec.key}: {lineage.kind} lineage needs 'on', the id columns shared with its deps")
        return
    for index, name in enumerate(lineage.on):
        if lineage.kind == EXPANSION and name not in spec.id_columns:
            reporter.add(origin, ("lineage", "on", index), f"{spec.key}: lineage 'on' column {name!r} is not one of its id columns [{', '.join(spec.id_columns)}] (a child's ids extend its parent's)")
    if lineage.kind == EXPANSION and set(lineage.on) == set(spec.id_columns):
        reporter.add(origin, ("id_columns",), f"{spec.key}: expansion lineage needs id columns beyond 'on' [{', '.join(lineage.on)}] (such as clip_idx) to tell a parent's children apart")
    if lineage.kind == AGGREGATION and set(lineage.on) != set(spec.id_columns):
        reporter.add(origin, ("lineage", "on"), f"{spec.key}: aggregation lineage 'on' [{', '.join(lineage.on)}] must be its id columns [{', '.join(spec.id_columns)}] (one sample per group)")
    for index, dep in enumerate(spec.deps):
        if dep.optional:
            reporter.add(origin, ("deps", index), f"{spec.key}: optional deps are for identity lineage only ({lineage.kind} needs every upstream sample)")


def _dep_ids_problem(spec: FeatureSpec, upstream: FeatureSpec) -> str | None:
    """Why the id columns of `spec` and of its dep `upstream` do not fit its lineage, or None.

    identity: equal. expansion: the dep's ids are `on` (the parent grain). aggregation: the dep's
    ids are `on` (joined at the group grain) or extend it (its members are aggregated)."""
    mine, theirs, on = set(spec.id_columns), set(upstream.id_columns), set(spec.lineage.on)
    kind = spec.lineage.kind
    if kind == IDENTITY:
        if mine != theirs:
            return (
                f"id columns [{', '.join(spec.id_columns)}] differ from those of its dep {upstream.key!r} "
                f"[{', '.join(upstream.id_columns)}] (samples are matched by id: give both the same id_columns, "
                "or declare lineage: {kind: expansion|aggregation, on: [...]})"
            )
        return None
    if not on <= theirs:
        missing = ", ".join(sorted(on - theirs))
        return f"{kind} lineage 'on' column(s) {missing} are not id columns of its dep {upstream.key!r} [{', '.join(upstream.id_columns)}]"
    if kind == EXPANSION and theirs != on:
        return (
            f"expansion lineage: its dep {upstream.key!r} has id columns [{', '.join(upstream.id_columns)}], "
            f"not the parent ids 'on' [{', '.join(spec.lineage.on)}] (every dep of an expansion is a parent)"
        )
    return None


def _resolve_id_columns(reporter: _Reporter, features: dict[str, FeatureSpec], order: list[str]) -> dict[str, FeatureSpec]:
    """Samples are matched by id (one upstream sample per sample): a feature has the id columns of
    each of its deps, with the same types. An id column a feature does not declare takes its
    upstream's type (`id_types`), so joined columns never differ in type."""
    resolved: dict[str, FeatureSpec] = {}
    for key in order:
        spec = features[key]
        mine = {column.name: column.type for column in spec.columns if column.name in spec.id_columns}
        inherited: dict[str, tuple[str, str]] = {}  # column -> (type, from which dep)
        for index, dep in enumerate(spec.deps):
            upstream = resolved[dep.feature]
            problem = _dep_ids_problem(spec, upstream)
            if problem is not None:
                where = ("deps", index) if spec.lineage.is_identity else ("lineage", "on")
                reporter.add(spec.origin, where, f"{key}: {problem}")
                continue
            for name, kind in upstream.typed_id_columns():
                if name not in spec.id_columns:
                    continue  # an aggregated member's own id (chunk_idx): not a column here
                if name in mine:
                    if mine[name] != kind:
                        reporter.add(spec.origin, ("columns", name), f"{key}: id column {name!r} is {mine[name]} here but {kind} in its dep {dep.feature!r}")
                    continue
                first_kind, first_dep = inherited.setdefault(name, (kind, dep.feature))
                if first_kind != kind:
                    reporter.add(spec.origin, ("deps", index), f"{key}: id column {name!r} is {first_kind} in dep {first_dep!r} but {kind} in dep {dep.feature!r} (give it one type in both)")
        if spec.lineage.kind == AGGREGATION and all(set(resolved[d.feature].id_columns) == set(spec.id_columns) for d in spec.deps if d.feature in resolved):
            reporter.add(spec.origin, ("lineage", "kind"), (
                f"{key}: aggregation lineage needs a dep whose id columns extend 'on' [{', '.join(spec.lineage.on)}] "
                "(its members); every dep here has the group's ids"
            ))  # fmt: skip
        undeclared = tuple((name, inherited.get(name, ("string", ""))[0]) for name in spec.id_columns if name not in mine)
        resolved[key] = replace(spec, id_types=undeclared) if undeclared else spec
    return resolved


def _build_stores(reporter: _Reporter, document: dict[str, Any], label: str) -> dict[str, StoreConfig]:
    stores = {
        name: StoreConfig(name, settings["type"], {k: v for k, v in settings.items() if k != "type"})
        for name, settings in (document.get("stores") or {}).items()
    }
    default = document.get("default_store")
    if default is not None and default not in stores:
        reporter.add(Origin(label, ()), ("default_store",), f"default_store {default!r} is not a defined store{did_you_mean(default, stores)}")
    return stores
