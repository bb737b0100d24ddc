"""A straightforward pure-Python model of spec sections 3-4, written apart from the SQL builder.

It keeps each feature's current rows in dicts and hashes with hashlib.md5 over the same canonical
strings the SQL builds, so an SQL increment can be compared with it sample by sample.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from metaxy_cli.definitions.model import FeatureSpec
from metaxy_cli.definitions.project import Project

Id = tuple[Any, ...]
Row = dict[str, Any]


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def canonical_text(value: Any, portable_type: str) -> str:
    """The canonical text of a non-NULL value (independent of dialects.py on purpose)."""
    if portable_type == "boolean":
        return "true" if value else "false"
    if portable_type == "integer":
        return str(int(value))
    if portable_type == "double":
        return "0" if value == 0 else "%.17g" % value  # noqa: UP031 (C printf, on purpose)
    if portable_type == "date":
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if portable_type == "timestamp":
        return (
            value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, dt.datetime) else str(value)
        )
    if portable_type == "binary":
        return bytes(value).hex()
    return str(value)


def stem(key: str) -> str:
    return key.replace("/", "__").replace("-", "_")


@dataclass
class Reference:
    """Current rows per feature: {feature: {id tuple: row}} with per-field provenance/dv."""

    project: Project
    tables: dict[str, dict[Id, Row]] = field(default_factory=dict)

    def spec(self, key: str) -> FeatureSpec:
        return self.project.features[key]

    def types(self, spec: FeatureSpec) -> dict[str, str]:
        declared = {c.name: c.type for c in spec.columns}
        return {name: declared.get(name, "string") for name in [*spec.id_columns, *declared]}

    def root_columns(self, spec: FeatureSpec, field_key: str) -> list[str]:
        chosen = spec.field(field_key).source
        if chosen is None:
            outputs = {f.data_version for f in spec.fields if f.data_version}
            chosen = [
                c.name
                for c in spec.columns
                if c.name not in spec.id_columns and c.name not in outputs
            ]
        return sorted(chosen)

    def prefix(self, spec: FeatureSpec, field_key: str) -> str:
        fq = f"{spec.key}.{field_key}"
        return json.dumps(
            [fq, spec.field(field_key).code_version], separators=(",", ":"), ensure_ascii=False
        )

    def root_provenance(self, spec: FeatureSpec, row: Row) -> dict[str, str]:
        types = self.types(spec)
        result = {}
        for f in spec.field_keys():
            text = self.prefix(spec, f)
            for name in self.root_columns(spec, f):
                value = row.get(name)
                text += f"|{name}=" + (
                    "~" if value is None else md5(canonical_text(value, types[name]))
                )
            result[f] = md5(text)
        return result

    def expected(self, key: str, listing: list[Row] | None = None) -> dict[Id, dict[str, str]]:
        """Expected per-field provenance per sample id."""
        spec = self.spec(key)
        ids = spec.id_columns
        if spec.is_root:
            rows = listing if listing is not None else list(self.tables.get(key, {}).values())
            return {tuple(r[c] for c in ids): self.root_provenance(spec, r) for r in rows}
        required = [d.feature for d in spec.deps if not d.optional]
        if required:
            candidates = set.intersection(*(set(self.tables.get(k, {})) for k in required))
        else:
            candidates = set().union(*(set(self.tables.get(d.feature, {})) for d in spec.deps))
        return {sample: self.field_provenance(spec, sample) for sample in candidates}

    def field_provenance(self, spec: FeatureSpec, sample: Id) -> dict[str, str]:
        result = {}
        for f in spec.field_keys():
            parents = self.project.graph.field_parents[(spec.key, f)]
            text = self.prefix(spec, f)
            for feature, parent in sorted(parents, key=lambda ref: f"{ref[0]}.{ref[1]}"):
                row = self.tables.get(feature, {}).get(sample)
                version = "" if row is None else self.data_version(row, parent)
                text += f"|{feature}.{parent}={version}"
            result[f] = md5(text)
        return result

    @staticmethod
    def data_version(row: Row, field: str) -> str:
        """A stored NULL data version means the field's provenance ('' without one either)."""
        stored = row.get(f"metaxy_data_version__{stem(field)}")
        return row.get(f"metaxy_provenance__{stem(field)}") or "" if stored is None else stored

    def sample_hash(self, spec: FeatureSpec, per_field: dict[str, str]) -> str:
        return md5("|".join(per_field[f] for f in sorted(spec.field_keys())))

    def increment(self, key: str, listing: list[Row] | None = None) -> dict[Id, tuple]:
        """{id: (status, {field: expected provenance} | None, {field: stale flag} | None)}."""
        expected = self.expected(key, listing)
        stored = self.tables.get(key, {})
        result: dict[Id, tuple] = {}
        for sample, provenance in expected.items():
            row = stored.get(sample)
            if row is None:
                result[sample] = ("new", provenance, {f: True for f in provenance})
                continue
            flags = {
                f: row.get(f"metaxy_provenance__{stem(f)}") != p for f, p in provenance.items()
            }
            if any(flags.values()):
                result[sample] = ("stale", provenance, flags)
        for sample in stored.keys() - expected.keys():
            result[sample] = ("orphaned", None, None)
        return result

    def write(self, key: str, rows: list[Row]) -> None:
        """Store rows (ids + declared columns) with the provenance and data versions computed here."""
        spec = self.spec(key)
        types = self.types(spec)
        table = self.tables.setdefault(key, {})
        for row in rows:
            sample = tuple(row[c] for c in spec.id_columns)
            if spec.is_root:
                provenance = self.root_provenance(spec, row)
            else:
                provenance = self.field_provenance(spec, sample)
            stored = dict(row)
            versions = {}  # overrides only: the provenance is stored as NULL
            for f in spec.field_keys():
                override = spec.field(f).data_version
                value = row.get(override) if override else None
                if value is not None and canonical_text(value, types[override]) != "":
                    versions[f] = md5(canonical_text(value, types[override]))
                stored[f"metaxy_provenance__{stem(f)}"] = provenance[f]
                stored[f"metaxy_data_version__{stem(f)}"] = versions.get(f)
            stored["metaxy_provenance"] = self.sample_hash(spec, provenance)
            overrides = any(spec.field(f).data_version for f in spec.field_keys())
            stored["metaxy_data_version"] = (
                self.sample_hash(spec, provenance | versions) if overrides else None
            )
            table[sample] = stored

    def delete(self, key: str, samples: list[Id]) -> None:
        for sample in samples:
            self.tables.get(key, {}).pop(sample, None)
