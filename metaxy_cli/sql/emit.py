"""Strict, deterministic SQL text from a query tree for one dialect."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from metaxy_cli.definitions.errors import DialectError
from metaxy_cli.sql.dialects import DialectProfile


def to_sql(expression: exp.Expression, profile: DialectProfile, *, pretty: bool = True) -> str:
    """The SQL text of `expression` in the profile's dialect, every identifier quoted.

    Identifiers longer than the engine keeps are spelled short (`DialectProfile.identifier`) in
    every statement, so a table, column or alias is named the same way wherever it appears.
    Raises DialectError when sqlglot cannot express part of the tree in that dialect
    (unsupported_level=RAISE, instead of silently emitting something that would not run).
    """
    if profile.max_identifier_length is not None:
        expression = shortened(expression, profile)
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


def shortened(expression: exp.Expression, profile: DialectProfile) -> exp.Expression:
    """A copy of `expression` whose over-long identifiers are spelled as the engine stores them."""
    limit = profile.max_identifier_length
    if limit is None or not any(_too_long(node, limit) for node in expression.find_all(exp.Identifier)):
        return expression

    def rename(node: exp.Expression) -> exp.Expression:
        if _too_long(node, limit):
            return exp.Identifier(this=profile.identifier(node.name), quoted=node.args.get("quoted"))
        return node

    return expression.transform(rename)


def _too_long(node: exp.Expression, limit: int) -> bool:
    return isinstance(node, exp.Identifier) and len(node.name.encode("utf-8")) > limit
