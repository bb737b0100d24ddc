"""Strict, deterministic SQL text from a query tree for one dialect."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from metaxy_cli.definitions.errors import DialectError
from metaxy_cli.sql.dialects import DialectProfile


def to_sql(expression: exp.Expression, profile: DialectProfile, *, pretty: bool = True) -> str:
    """The SQL text of `expression` in the profile's dialect, every identifier quoted.

    Raises DialectError when sqlglot cannot express part of the tree in that dialect
    (unsupported_level=RAISE, instead of silently emitting something that would not run).
    """
    try:
        return expression.sql(
            dialect=profile.name,
            unsupported_level=ErrorLevel.RAISE,
            identify=True,
            pretty=pretty,
        )
    except SqlglotError as error:
        raise DialectError(
            f"cannot express the query in dialect {profile.name!r}: {error}"
        ) from error
