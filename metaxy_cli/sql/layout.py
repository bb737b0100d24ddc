"""Storage names shared by the query builder and the stores: tables, system columns, their types.

One module owns every name so the store that writes a table and the query that reads it cannot
disagree. Types are portable names (model.COLUMN_TYPES); DialectProfile maps them per engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from metaxy_cli.definitions.keys import column_stem, history_table_name, table_name

if TYPE_CHECKING:
    from collections.abc import Iterable

    from metaxy_cli.definitions.model import FeatureSpec

PREFIX = "metaxy_"
PROVENANCE = "metaxy_provenance"
DATA_VERSION = "metaxy_data_version"
FEATURE_VERSION = "metaxy_feature_version"
PROJECT_VERSION = "metaxy_project_version"
WRITTEN_AT = "metaxy_written_at"
# The write (metaxy_writes) that stored the row; NULL in tables from before write ids.
WRITE_ID = "metaxy_write_id"
DELETED = "metaxy_deleted"
# Increment output only (never stored).
STATUS = "metaxy_status"
# Write staging only (never stored): the increment provenance a written sample was computed for.
CARRIED = "metaxy_carried_provenance"
# Increment output only (never stored): the store's state the increment was computed as of
# (engine/carried.py); a write-back carrying it may store the increment's provenance as computed.
AS_OF = "metaxy_as_of"
STALE_PREFIX = "metaxy_stale__"
# The write log: one row per write transaction (write, delete), ids strictly increasing.
WRITES = "metaxy_writes"
WRITES_COLUMNS = [
    ("write_id", "integer"),
    ("feature", "string"),
    ("operation", "string"),  # 'write' | 'delete' | 'migrate'
    ("rows", "integer"),
    ("feature_version", "string"),
    ("definition", "string"),  # provenance.definition(): how the rows' provenance was computed
    ("written_at", "timestamp"),
]

# Graph snapshots: the full definitions of every project version the store has seen (spec 5).
SNAPSHOTS = "metaxy_snapshots"
SNAPSHOTS_COLUMNS = [
    ("project_version", "string"),
    ("project", "string"),
    ("recorded_at", "timestamp"),
    ("git_commit", "string"),  # NULL when unknown (not a git checkout)
    ("feature_versions", "string"),  # JSON {feature key: feature version}
    ("definitions", "string"),  # definitions/snapshot.py: a metaxy.yaml with every feature inline
]
# Applied migrations (spec 6): one row each, written in the migration's last step.
MIGRATIONS = "metaxy_migrations"
MIGRATIONS_COLUMNS = [
    ("migration_id", "string"),
    ("checksum", "string"),
    ("applied_at", "timestamp"),
    ("summary", "string"),  # JSON {feature: {field: reconciled samples}}
]
MIGRATE = "migrate"  # metaxy_writes.operation of a migration's rows
# Clean checkpoints (sql/changes.py): per feature, the last write id as of which its comparison
# (identified by `digest`) had nothing pending, and how many samples were up to date then.
CHECKPOINTS = "metaxy_checkpoints"
CHECKPOINTS_COLUMNS = [
    ("feature", "string"),
    ("digest", "string"),  # md5 of the feature's summary query: any change to it voids the row
    ("write_id", "integer"),
    ("up_to_date", "integer"),
    ("recorded_at", "timestamp"),
]

NEW, STALE, ORPHANED, UP_TO_DATE = "new", "stale", "orphaned", "up_to_date"
STATUSES = (NEW, STALE, ORPHANED)

Columns = list[tuple[str, str]]  # (column name, portable type)


def current_table(feature: str) -> str:
    """The table of CURRENT rows of a feature: one row per id, tombstoned ids absent."""
    return table_name(feature)


def history_table(feature: str) -> str:
    """The append-only table of every written row and tombstone of a feature."""
    return history_table_name(feature)


def log_table(feature: str) -> str:
    """The append-only log of a feature in stores without multi-statement transactions: every row
    and tombstone ever written; its current and history tables are views over it. Prefixed
    `metaxy`, a prefix feature keys may not use, so it cannot clash with a feature's table."""
    return log_of(table_name(feature))


def log_of(table: str) -> str:
    """The log of the table `table` (in a store publishing rows by commit, the view of its
    committed rows: DialectProfile.committed_log)."""
    return f"{PREFIX}log__{table}"


def id_index(feature: str) -> str:
    """The unique index on the ids of a feature's current table, in stores that index ids.
    Prefixed `metaxy`, a prefix feature keys may not use, so it cannot clash with a table."""
    return f"{PREFIX}ids__{table_name(feature)}"


def write_id_index(table: str) -> str:
    """The index on the write id of a feature's current or history table, in stores whose
    checkpoints read rows by write id; prefixed as `id_index`."""
    return f"{PREFIX}wid__{table}"


def provenance_column(field: str) -> str:
    return f"{PROVENANCE}__{column_stem(field)}"


def increment_columns(fields: Iterable[str]) -> list[str]:
    """An increment's columns, besides `metaxy_provenance`, that let its write-back store the
    provenance as computed (engine/carried.py)."""
    return [*(provenance_column(field) for field in fields), AS_OF]


def data_version_column(field: str) -> str:
    """NULL where the data version is the provenance (read with provenance.data_version)."""
    return f"{DATA_VERSION}__{column_stem(field)}"


def stale_column(field: str) -> str:
    """Increment output: TRUE when this field of the sample must be (re)computed."""
    return STALE_PREFIX + column_stem(field)


def field_keys(spec: FeatureSpec) -> list[str]:
    """Fields in the canonical order used by every per-sample hash: sorted by key."""
    return sorted(spec.field_keys())


def id_columns(spec: FeatureSpec) -> Columns:
    """Id columns, typed from `columns` when declared there, else as an upstream declares them
    (`spec.id_types`, resolved by the loader), else string."""
    return spec.typed_id_columns()


def declared_columns(spec: FeatureSpec) -> Columns:
    """Declared columns that are not id columns, in declaration order."""
    ids = set(spec.id_columns)
    return [(column.name, column.type) for column in spec.columns if column.name not in ids]


def system_columns(spec: FeatureSpec) -> Columns:
    """Provenance and version columns, in table order (after ids and declared columns)."""
    columns: Columns = []
    for field in field_keys(spec):
        columns.append((provenance_column(field), "string"))
        columns.append((data_version_column(field), "string"))
    columns += [
        (PROVENANCE, "string"),
        (DATA_VERSION, "string"),
        (FEATURE_VERSION, "string"),
        (PROJECT_VERSION, "string"),
        (WRITTEN_AT, "timestamp"),
        (WRITE_ID, "integer"),
    ]
    return columns


def table_columns(spec: FeatureSpec, *, history: bool = False) -> Columns:
    """Every column of the current table (or, with `history`, of the history table), in order."""
    columns = id_columns(spec) + declared_columns(spec) + system_columns(spec)
    if history:
        columns.append((DELETED, "boolean"))
    return columns
