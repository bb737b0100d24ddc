"""Soft deletes: tombstones appended to history, the current rows removed, in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from metaxy_cli.definitions.errors import DataError, StoreError
from metaxy_cli.engine.tables import drop_temporary, ids_in, log_write_of, next_write_id, prepare_tables
from metaxy_cli.sql import layout

if TYPE_CHECKING:
    from sqlglot import exp

    from metaxy_cli.sql.resolved import ResolvedFeature
    from metaxy_cli.store.base import Store


def delete_samples(
    store: Store, feature: ResolvedFeature, *, ids: Any, where: str | None, deleted_at: datetime | None
) -> int:
    """See `metaxy_cli.engine.deletes`."""
    from sqlglot import exp

    key = feature.key
    if (ids is None) == (where is None):
        raise DataError("delete needs exactly one of ids or where")
    if not store.table_exists(feature.table):
        raise StoreError(f"feature {key} has no data in store {store.name!r}")
    from metaxy_cli.store.batch import BATCH, load_batch

    deleted_at = deleted_at or datetime.now(UTC).replace(tzinfo=None)
    if ids is not None:
        load_batch(store, feature, ids, ids_only=True)
        condition = ids_in(feature, BATCH)
    else:
        condition = _condition(where, store, feature)
        _require_columns(condition, store, feature, where)
    table = exp.to_table(feature.table, quoted=True)
    try:
        with store.transaction():
            prepare_tables(store, feature)
            count = store.fetch_all(store.to_sql(exp.select(exp.Count(this=exp.Star())).from_(table).where(condition)))[0][0]
            write_id = next_write_id(store)
            store.tombstone(feature, *_tombstones(store, feature, condition, deleted_at, write_id))
            store.supersede(feature, condition)
            log_write_of(store, feature, "delete", count, deleted_at, write_id)
    finally:
        drop_temporary(store, BATCH)
    return int(count)


def _condition(where: str, store: Store, feature: ResolvedFeature) -> exp.Expression:
    import sqlglot
    from sqlglot.errors import ParseError

    try:
        condition = store.profile.parse_condition(where)
    except ParseError as error:
        raise DataError(f"{feature.key}: invalid --where condition {where!r}: {str(error).splitlines()[0]}") from None
    if not isinstance(condition, sqlglot.exp.Condition) or isinstance(condition, sqlglot.exp.Query):
        raise DataError(f"{feature.key}: --where must be a condition such as \"duration > 10\", got {where!r}")
    return condition


def _require_columns(condition: exp.Expression, store: Store, feature: ResolvedFeature, where: str) -> None:
    """A --where that names a column the feature's table lacks: say which, with the columns."""
    from sqlglot import exp

    from metaxy_cli.definitions.suggest import did_you_mean

    stored = set(store.list_columns(feature.table) or [])
    columns = [name for name, _ in feature.table_columns if store.identifier(name) in stored]
    for reference in condition.find_all(exp.Column):
        if store.identifier(reference.name) not in stored:
            shown = ", ".join(name for name in columns if not name.startswith(layout.PREFIX))
            raise DataError(
                f"{feature.key}: --where {where!r} refers to unknown column {reference.name!r}"
                f"{did_you_mean(reference.name, columns)} (columns: {shown})"
            )


def _tombstones(store: Store, feature: ResolvedFeature, condition, deleted_at: datetime, write_id: int) -> tuple[list[str], exp.Select]:
    from sqlglot import exp

    from metaxy_cli.sql.writes import write_id_literal

    stamp = store.profile.timestamp_literal(deleted_at)
    columns = list(feature.id_names) + [layout.WRITTEN_AT, layout.WRITE_ID, layout.DELETED]
    values = [exp.column(name) for name in feature.id_names] + [stamp, write_id_literal(write_id, store.profile), exp.true()]
    return columns, exp.select(*values).from_(exp.to_table(feature.table, quoted=True)).where(condition.copy())
