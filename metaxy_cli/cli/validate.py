"""`metaxy validate`."""

from __future__ import annotations

from metaxy_cli.cli.context import CliContext, pass_context

import click


@click.command()
@pass_context
def validate(context: CliContext) -> None:
    """Check the project and feature files; silent when valid.

    Prints every problem as FILE:LINE:COL: MESSAGE on stderr and exits 1.
    Usable as a pre-commit hook.

    \b
    Example:
      metaxy --project examples/overview validate
    """
    context.project()
