"""Hypothesis strategies for random projects, and helpers to write, shuffle and load them.

A project is drawn as plain YAML documents (`ProjectDocs`): a random DAG of features with random
fields, random implicit and explicit field deps, descriptive metadata and root columns. The
helpers here never use metaxy's graph code, so tests can compare the library against them:
`expected_field_parents` resolves field parents straight from the documents (spec section 1).

    from strategies import project_docs, load_docs  # tests/ is on sys.path under pytest
    @given(project_docs())
    def test_something(docs):
        project = load_docs(docs)
"""

from __future__ import annotations

import copy
import random
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from ruamel.yaml import YAML

KEY_PARTS = ("video", "crop", "stt", "a", "b", "x1", "face_detection", "_p", "q-r", "7z")
FIELD_KEYS = ("audio", "frames", "text", "audio/english", "meta-data", "x")
CODE_VERSIONS = ("1", "2", "v3", "2024-01-01", "1.10")
DESCRIPTIONS = ("Raw videos.", "Crops: 224x224", "speech to text", "üñí", "a # not a comment")

FieldRef = tuple[str, str]


@dataclass
class ProjectDocs:
    """A project as YAML-ready documents: the project mapping (without features) and the features."""

    project: dict[str, Any]
    features: list[dict[str, Any]] = field(default_factory=list)

    def feature(self, key: str) -> dict[str, Any]:
        return next(doc for doc in self.features if doc["key"] == key)

    def copy(self) -> ProjectDocs:
        return copy.deepcopy(self)


def _feature_key(first_parts: tuple[str, ...]) -> st.SearchStrategy[str]:
    later = st.lists(st.sampled_from(KEY_PARTS), max_size=2)
    first = st.sampled_from([p for p in first_parts if not p[0].isdigit()])
    return st.tuples(first, later).map(lambda t: "/".join((t[0], *t[1])))


def _dep_entry(draw, key: str) -> Any:
    """A feature dep written as a string or as a mapping (optional or not)."""
    form = draw(st.sampled_from(("string", "string", "mapping", "optional")))
    if form == "string":
        return key
    return {"feature": key, "optional": True} if form == "optional" else {"feature": key}


def _field_deps(draw, dep_keys: list[str], fields_of: dict[str, list[str]]) -> Any:
    """None (implicit), '*' or an explicit list of {feature, fields} over a subset of the deps."""
    kind = draw(st.sampled_from(("implicit", "implicit", "star", "explicit", "explicit")))
    if kind == "implicit":
        return None
    if kind == "star":
        return "*"
    chosen = draw(st.lists(st.sampled_from(dep_keys), unique=True, max_size=len(dep_keys)))
    entries = []
    for dep in chosen:
        upstream = fields_of[dep]
        fields = draw(st.one_of(st.none(), st.just("*"), st.lists(st.sampled_from(upstream), min_size=1, unique=True)))
        entries.append({"feature": dep} if fields is None else {"feature": dep, "fields": fields})
    return entries


def _fields(draw, dep_keys: list[str], fields_of: dict[str, list[str]], columns: list[str]) -> list[dict[str, Any]]:
    keys = draw(st.lists(st.sampled_from(FIELD_KEYS), min_size=0, max_size=3, unique=True))
    fields = []
    for key in keys:
        doc: dict[str, Any] = {"key": key}
        if draw(st.booleans()):
            doc["code_version"] = draw(st.sampled_from(CODE_VERSIONS))
        if draw(st.booleans()):
            doc["description"] = draw(st.sampled_from(DESCRIPTIONS))
        if dep_keys:
            deps = _field_deps(draw, dep_keys, fields_of)
            if deps is not None:
                doc["deps"] = deps
        elif columns and draw(st.booleans()):
            doc["source"] = draw(st.lists(st.sampled_from(columns), min_size=1, unique=True))
        fields.append(doc)
    return fields


@st.composite
def project_docs(draw, min_features: int = 1, max_features: int = 8, max_deps: int = 3) -> ProjectDocs:
    """A valid random project: a DAG in a random YAML order, random fields and field deps."""
    keys = draw(
        st.lists(
            _feature_key(KEY_PARTS), min_size=min_features, max_size=max_features,
            unique_by=lambda key: key.replace("/", "__"),
        )
    )
    fields_of: dict[str, list[str]] = {}
    features = []
    for index, key in enumerate(keys):  # deps only point to earlier keys: acyclic by construction
        dep_keys = draw(st.lists(st.sampled_from(keys[:index]), unique=True, max_size=max_deps)) if index else []
        columns = draw(st.lists(st.sampled_from(("path", "sha", "size")), unique=True, max_size=3)) if not dep_keys else []
        doc: dict[str, Any] = {"key": key}
        if dep_keys:
            doc["deps"] = [_dep_entry(draw, dep) for dep in dep_keys]
        if columns:
            doc["columns"] = {name: draw(st.sampled_from(("string", "integer"))) for name in columns}
        fields = _fields(draw, dep_keys, fields_of, columns)
        if fields:
            doc["fields"] = fields
        fields_of[key] = [f["key"] for f in fields] or ["default"]
        if draw(st.booleans()):
            doc["description"] = draw(st.sampled_from(DESCRIPTIONS))
        if draw(st.booleans()):
            doc["tags"] = draw(st.lists(st.sampled_from(("ml", "raw", "gpu")), unique=True))
        features.append(doc)
    order = draw(st.permutations(range(len(features))))
    return ProjectDocs({"project": "random"}, [features[i] for i in order])


# --- an independent model of spec section 1, from the documents alone ---------------------------


def _dep_key(entry: Any) -> str:
    return entry if isinstance(entry, str) else entry["feature"]


def field_keys(doc: dict[str, Any]) -> list[str]:
    return [f["key"] for f in doc.get("fields") or []] or ["default"]


def expected_field_parents(docs: ProjectDocs) -> dict[FieldRef, set[FieldRef]]:
    """Each field's parent fields, resolved per spec section 1 without metaxy's graph code."""
    by_key = {doc["key"]: doc for doc in docs.features}
    parents: dict[FieldRef, set[FieldRef]] = {}
    for doc in docs.features:
        deps = [_dep_key(entry) for entry in doc.get("deps") or []]
        for fdoc in doc.get("fields") or [{"key": "default"}]:
            found: set[FieldRef] = set()
            explicit = fdoc.get("deps")
            if not deps:
                pass
            elif explicit == "*":
                found = {(dep, k) for dep in deps for k in field_keys(by_key[dep])}
            elif explicit is not None:
                for entry in explicit:
                    chosen = entry.get("fields", "*")
                    keys = field_keys(by_key[entry["feature"]]) if chosen == "*" else chosen
                    found |= {(entry["feature"], k) for k in keys}
            else:
                for dep in deps:
                    upstream = field_keys(by_key[dep])
                    found |= {(dep, k) for k in ([fdoc["key"]] if fdoc["key"] in upstream else upstream)}
            parents[(doc["key"], fdoc["key"])] = found
    return parents


def expected_field_downstream(docs: ProjectDocs, start: FieldRef) -> set[FieldRef]:
    """Every field reachable from `start` through field-level deps (excluding `start`)."""
    children: dict[FieldRef, set[FieldRef]] = {}
    for child, parents in expected_field_parents(docs).items():
        for parent in parents:
            children.setdefault(parent, set()).add(child)
    seen: set[FieldRef] = set()
    todo = [start]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


# --- rewriting documents without changing their meaning ------------------------------------------


def shuffled(docs: ProjectDocs, seed: int) -> ProjectDocs:
    """The same project with mapping keys, features, fields and deps in another order."""
    rng = random.Random(seed)

    def mix(value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            items = [(k, mix(v, k)) for k, v in value.items()]
            rng.shuffle(items)
            return dict(items)
        if isinstance(value, list):
            items = [mix(v) for v in value]
            if key != "id_columns":  # id column order is meaningful
                rng.shuffle(items)
            return items
        return value

    return ProjectDocs(mix(docs.project), mix(docs.features))


def _dump(document: Any) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[attr-defined]
    from io import StringIO

    out = StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def with_comments(text: str, seed: int) -> str:
    """`text` with full-line and end-of-line comments added at random places."""
    rng = random.Random(seed)
    lines = []
    for line in text.splitlines():
        if rng.random() < 0.3:
            lines.append(" " * rng.randrange(0, 8) + "# a comment: key: value, - item")
        lines.append(line + ("  # trailing note" if rng.random() < 0.3 else ""))
    lines.append("# the end")
    return "\n".join(lines) + "\n"


def write_docs(docs: ProjectDocs, folder: Path, *, files: int = 0, comments_seed: int | None = None) -> Path:
    """Write the project into `folder`: inline features (files=0) or split over `files` include files.

    Returns the path of metaxy.yaml.
    """
    folder.mkdir(parents=True, exist_ok=True)
    project = dict(docs.project)
    if files:
        project["include"] = ["features/*.yaml"]
        (folder / "features").mkdir(exist_ok=True)
        for index in range(files):
            part = docs.features[index::files]
            text = _dump({"features": part})
            if comments_seed is not None:
                text = with_comments(text, comments_seed + index)
            (folder / "features" / f"part{index}.yaml").write_text(text, encoding="utf-8")
    else:
        project["features"] = docs.features
    text = _dump(project)
    if comments_seed is not None:
        text = with_comments(text, comments_seed)
    path = folder / "metaxy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@contextmanager
def written(docs: ProjectDocs, **options: Any) -> Iterator[Path]:
    """A temporary folder holding the project (hypothesis-friendly: no function-scoped fixture)."""
    with tempfile.TemporaryDirectory(prefix="metaxy-") as folder:
        yield write_docs(docs, Path(folder) / "project", **options)


def load_docs(docs: ProjectDocs, **options: Any):
    """Write `docs` to a temporary folder and load them with metaxy (see `write_docs` options)."""
    from metaxy_cli.definitions.loader import load_project

    with written(docs, **options) as path:
        return load_project(path)
