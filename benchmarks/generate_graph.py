"""Write a random but seeded metaxy project (metaxy.yaml + feature files) for benchmarks and tests.

The graph is a random DAG: feature i takes its deps among the features generated before it
(mostly recent ones, so the graph is deep, sometimes any earlier one, so it is wide too). Field
keys come from a small pool (`audio`, `frames`, `audio/english`, ...) so that default field
resolution finds same-named upstream fields; each field randomly uses default resolution, `'*'`,
or explicit deps on a subset of one or more upstream features' fields. Some deps are optional.
Features are written in a shuffled order, split across several files, because the loader must
not depend on YAML order.

    python benchmarks/generate_graph.py --features 10000 --fields 3 --deps 2 --seed 0 OUTDIR

Other scripts import `generate_project(outdir, features, fields, deps, seed)`.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

FIELD_POOL = (
    "audio",
    "frames",
    "text",
    "audio/english",
    "audio/french",
    "embedding",
    "caption/short",
    "mask",
)
COLUMN_TYPES = ("string", "integer", "double", "boolean")
FEATURES_PER_FILE = 500
RECENT_WINDOW = 64  # most deps come from the last RECENT_WINDOW features, so the DAG is deep
FILE_PREFIX = "part_"
ROOT_SHARE = 0.02  # a few extra roots, so the graph has several sources


@dataclass
class _Feature:
    key: str
    fields: list[str]
    deps: list[tuple[str, bool]] = field(default_factory=list)  # (feature key, optional)
    field_deps: dict[str, object] = field(default_factory=dict)  # field -> None | "*" | [(feature, [fields] | "*")]
    columns: list[tuple[str, str]] = field(default_factory=list)


def _feature_key(index: int) -> str:
    return f"g{index // 100:03d}/f{index:05d}"


def _field_keys(rng: random.Random, count: int) -> list[str]:
    if count <= len(FIELD_POOL):
        return sorted(rng.sample(FIELD_POOL, count))
    return sorted(FIELD_POOL) + [f"field_{i}" for i in range(count - len(FIELD_POOL))]


def _pick_deps(rng: random.Random, index: int, deps: int) -> list[int]:
    count = min(deps, index)
    chosen: set[int] = set()
    while len(chosen) < count:
        if rng.random() < 0.75:
            candidate = rng.randrange(max(0, index - RECENT_WINDOW), index)
        else:
            candidate = rng.randrange(0, index)
        chosen.add(candidate)
    return sorted(chosen)


def _field_dep(rng: random.Random, upstream: list[_Feature]) -> object:
    """None (default resolution), '*' (everything upstream) or explicit deps on some upstreams."""
    roll = rng.random()
    if roll < 0.45:
        return None
    if roll < 0.55:
        return "*"
    chosen = rng.sample(upstream, rng.randint(1, len(upstream)))
    explicit = []
    for parent in chosen:
        if rng.random() < 0.2:
            explicit.append((parent.key, "*"))
        else:
            explicit.append((parent.key, sorted(rng.sample(parent.fields, rng.randint(1, len(parent.fields))))))
    return explicit


def build_features(features: int, fields: int, deps: int, seed: int) -> list[_Feature]:
    """The random graph, in generation (topological) order."""
    rng = random.Random(seed)
    built: list[_Feature] = []
    for index in range(features):
        spec = _Feature(_feature_key(index), _field_keys(rng, fields))
        is_root = index == 0 or rng.random() < ROOT_SHARE
        upstream = [] if is_root else [built[i] for i in _pick_deps(rng, index, deps)]
        spec.deps = [(parent.key, rng.random() < 0.1) for parent in upstream]
        if upstream:
            spec.field_deps = {key: _field_dep(rng, upstream) for key in spec.fields}
        else:
            spec.columns = [("path", "string"), ("size", rng.choice(COLUMN_TYPES))]
        built.append(spec)
    return built


def _feature_yaml(spec: _Feature) -> list[str]:
    lines = [f"  - key: {spec.key}"]
    if spec.deps:
        lines.append("    deps:")
        for key, optional in spec.deps:
            lines.append(f"      - {{feature: {key}, optional: true}}" if optional else f"      - {key}")
    if spec.columns:
        lines.append("    columns:")
        lines += [f"      {name}: {kind}" for name, kind in spec.columns]
    lines.append("    fields:")
    for index, key in enumerate(spec.fields):
        lines.append(f"      - key: {key}")
        lines.append(f'        code_version: "{1 + index % 2}"')
        dep = spec.field_deps.get(key)
        if dep == "*":
            lines.append('        deps: "*"')
        elif dep:
            lines.append("        deps:")
            for feature, chosen in dep:
                listed = '"*"' if chosen == "*" else "[" + ", ".join(chosen) + "]"
                lines.append(f"          - {{feature: {feature}, fields: {listed}}}")
    return lines


def write_project(outdir: Path, built: list[_Feature], seed: int, name: str) -> Path:
    """Write metaxy.yaml and features/part_NNN.yaml (shuffled); returns the project file."""
    features_dir = outdir / "features"
    features_dir.mkdir(parents=True, exist_ok=True)
    for old in features_dir.glob(f"{FILE_PREFIX}*.yaml"):
        old.unlink()
    shuffled = list(built)
    random.Random(seed + 1).shuffle(shuffled)
    for part, start in enumerate(range(0, len(shuffled), FEATURES_PER_FILE)):
        lines = ["features:"]
        for spec in shuffled[start : start + FEATURES_PER_FILE]:
            lines += _feature_yaml(spec)
        (features_dir / f"{FILE_PREFIX}{part:03d}.yaml").write_text("\n".join(lines) + "\n")
    project_file = outdir / "metaxy.yaml"
    project_file.write_text(
        f"project: {name}\n"
        f"description: Random feature graph ({len(built)} features, seed {seed}) from benchmarks/generate_graph.py.\n"
        "id_columns: [sample_uid]\n"
        "include:\n"
        f"  - features/{FILE_PREFIX}*.yaml\n"
        "stores:\n"
        "  dev:\n"
        "    type: duckdb\n"
        "    path: .metaxy/metadata.duckdb\n"
        "default_store: dev\n"
    )
    return project_file


def generate_project(
    outdir: str | Path, features: int, fields: int = 3, deps: int = 2, seed: int = 0, name: str = "generated"
) -> Path:
    """Write a random project with `features` features into `outdir`; returns its metaxy.yaml."""
    if features < 1 or fields < 1 or deps < 0:
        raise ValueError("need at least one feature and one field, and deps >= 0")
    return write_project(Path(outdir), build_features(features, fields, deps, seed), seed, name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path, help="folder to write metaxy.yaml and features/ into")
    parser.add_argument("--features", type=int, default=1000, help="number of features (default 1000)")
    parser.add_argument("--fields", type=int, default=3, help="fields per feature (default 3)")
    parser.add_argument("--deps", type=int, default=2, help="deps per non-root feature (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--name", default="generated", help="project name (default 'generated')")
    args = parser.parse_args(argv)
    project_file = generate_project(args.outdir, args.features, args.fields, args.deps, args.seed, args.name)
    print(project_file, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
