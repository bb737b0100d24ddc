"""Static versions: blake3 over canonical, domain-separated encodings (spec section 2).

Each digest hashes a tag (`metaxy/field/v1`), a NUL byte, then canonical JSON (sorted keys, no
whitespace), so no two different inputs can share an encoding. One pass in topological order
computes every version once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from blake3 import blake3

if TYPE_CHECKING:
    from collections.abc import Mapping

    from metaxy_cli.definitions.graph import FeatureGraph
    from metaxy_cli.definitions.model import FeatureSpec

FieldRef = tuple[str, str]


# One encoder for every digest: json.dumps with options builds a new encoder on each call.
_canonical_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def field_prefix_text(fq_name: str, code_version: str) -> str:
    """C_f, the canonical start of every provenance hash of a field: JSON [fq name, code_version].
    Migrations rebuild it for old definitions, so it is made in one place."""
    return json.dumps([fq_name, code_version], ensure_ascii=False, separators=(",", ":"))


def digest(kind: str, payload: Any) -> str:
    """Full-length hex blake3 of `payload` under the domain tag `metaxy/<kind>/v1`."""
    body = _canonical_json(payload)
    return blake3(f"metaxy/{kind}/v1\0{body}".encode()).hexdigest()


@dataclass(frozen=True)
class Versions:
    """Every static version of a project, full length."""

    field: dict[FieldRef, str]
    feature: dict[str, str]
    feature_code: dict[str, str]
    metadata: dict[str, str]
    project: str


def metadata_payload(spec: FeatureSpec) -> dict[str, Any]:
    """The descriptive parts of a feature: they never change a version, only its metadata digest."""
    return {
        "description": spec.description,
        "owner": spec.owner,
        "tags": sorted(spec.tags),
        "id_columns": list(spec.id_columns),
        "cost": spec.cost,
        "deps": sorted([dep.feature, dep.optional] for dep in spec.deps),
        "columns": sorted([c.name, c.type, c.description] for c in spec.columns),
        # A field's cost joins its entry only when declared, so digests of projects without
        # field costs stay what they were.
        "fields": sorted(
            [f.key, f.description, sorted(f.source or ()), f.data_version, *([f.cost] if f.cost is not None else [])]
            for f in spec.fields
        ),
    }


def compute_versions(name: str, features: Mapping[str, FeatureSpec], graph: FeatureGraph) -> Versions:
    """Every version of the project `name`, one pass over `graph` in topological order."""
    field_versions: dict[FieldRef, str] = {}
    feature_versions: dict[str, str] = {}
    code_versions: dict[str, str] = {}
    metadata: dict[str, str] = {}
    for key in graph.order:
        spec = features[key]
        for field in spec.fields:
            parents = graph.field_parents[(key, field.key)]
            field_versions[(key, field.key)] = digest(
                "field",
                {
                    "feature": key,
                    "field": field.key,
                    "code_version": field.code_version,
                    # spec §2: parents sorted by fq name (not by (feature, field) tuple).
                    "parents": sorted([f"{pf}.{pk}", field_versions[(pf, pk)]] for pf, pk in parents),
                    # Only non-identity lineage joins the payload: identity versions stay as before.
                    **({} if spec.lineage.is_identity else {"lineage": [spec.lineage.kind, sorted(spec.lineage.on)]}),
                },
            )
        feature_versions[key] = digest(
            "feature",
            {"feature": key, "fields": sorted([f.key, field_versions[(key, f.key)]] for f in spec.fields)},
        )
        code_versions[key] = digest(
            "feature_code",
            {"feature": key, "fields": sorted([f.key, f.code_version] for f in spec.fields)},
        )
        metadata[key] = digest("metadata", {"feature": key, **metadata_payload(spec)})
    project_version = digest(
        "project",
        {"project": name, "features": sorted([k, v] for k, v in feature_versions.items())},
    )
    return Versions(field_versions, feature_versions, code_versions, metadata, project_version)
