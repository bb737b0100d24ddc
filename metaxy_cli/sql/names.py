"""The names a store gives a feature's tables and columns, and the check that none collide.

Logical names come from sql/layout.py; an engine with an identifier limit
(DialectProfile.max_identifier_length) spells longer ones short (DialectProfile.identifier).
Shortening is deterministic but could make two names one: `check_unique` refuses that before anything is created, and `storage_names` shows
the mapping (`metaxy status --format json`).
"""

from __future__ import annotations

from collections.abc import Iterable

from metaxy_cli.definitions.errors import DialectError
from metaxy_cli.sql import layout
from metaxy_cli.sql.dialects import DialectProfile
from metaxy_cli.sql.provenance import SRC, STORED_PREFIX
from metaxy_cli.sql.resolved import ResolvedFeature


def relations(feature: ResolvedFeature) -> dict[str, str]:
    """{role: logical name} of the relations a store creates for the feature."""
    return {"table": feature.table, "history": feature.history_table, "ids_index": feature.id_index}


def query_columns(feature: ResolvedFeature) -> list[str]:
    """Every column and alias the feature's queries name in one scope: stored columns, increment
    output, and the aliases compare.py gives stored and upstream columns."""
    names = [name for name, _ in feature.history_columns]
    names += [layout.STATUS, layout.CARRIED, layout.AS_OF]
    for field in feature.fields:
        names += [layout.stale_column(field), STORED_PREFIX + layout.provenance_column(field)]
    names += [STORED_PREFIX + name for name in feature.id_names]
    names += [f"{SRC}__{name}" for name, _ in feature.table_columns]
    for index, dep in enumerate(feature.upstream):
        names += [f"u{index}__{name}" for name, _ in dep.feature.table_columns]
    return list(dict.fromkeys(names))


def storage_names(feature: ResolvedFeature, profile: DialectProfile) -> dict[str, object]:
    """The feature's tables as the store names them, and its columns whose stored name differs
    from the logical one ({logical: stored}; empty where the engine has no identifier limit)."""
    names: dict[str, object] = {role: profile.identifier(name) for role, name in relations(feature).items()}
    columns = (name for name, _ in feature.history_columns)
    names["columns"] = {name: profile.identifier(name) for name in columns if profile.identifier(name) != name}
    return names


def check_unique(features: Iterable[ResolvedFeature], profile: DialectProfile) -> None:
    """Raise DialectError when two relations of the project, or two columns in one feature's
    queries, get the same stored name (only possible past the engine's identifier limit)."""
    if profile.max_identifier_length is None:
        return
    why = f"names past {profile.max_identifier_length} bytes are shortened in {profile.name}"
    tables: dict[str, tuple[str, str]] = {profile.identifier(layout.WRITES): (layout.WRITES, "metaxy")}
    for feature in features:
        for name in relations(feature).values():
            other = tables.setdefault(profile.identifier(name), (name, feature.key))
            if other[0] != name:
                raise DialectError(
                    f"features {other[1]} and {feature.key}: tables {other[0]!r} and {name!r} would both be stored as "
                    f"{profile.identifier(name)!r} ({why}): rename one of the features"
                )
        columns: dict[str, str] = {}
        for name in query_columns(feature):
            other_column = columns.setdefault(profile.identifier(name), name)
            if other_column != name:
                raise DialectError(
                    f"feature {feature.key}: columns {other_column!r} and {name!r} would both be stored as "
                    f"{profile.identifier(name)!r} ({why}): rename one of the columns or fields"
                )
