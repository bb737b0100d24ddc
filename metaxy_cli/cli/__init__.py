"""Stage 6, the last: the `metaxy` command, a thin click layer over the library.

Owns argument parsing, output formats on the terminal and exit codes; every decision is made by
the library below. Commands are imported lazily (name -> "module:attribute") so `metaxy --help`
and `metaxy validate` never pay for duckdb, sqlglot or graphviz.

May import: every other package (definitions, sql, store, engine, render).
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from metaxy_cli.definitions import __version__
from metaxy_cli.cli import context
from metaxy_cli.cli.context import CliContext
from metaxy_cli.definitions.errors import ConfigError, MetaxyError

COMMANDS: dict[str, str] = {
    "validate": "metaxy_cli.cli.validate:validate",
    "render": "metaxy_cli.cli.render:render",
    "diff": "metaxy_cli.cli.diff:diff",
    "plan": "metaxy_cli.cli.plan:plan",
    "write": "metaxy_cli.cli.samples:write",
    "increment": "metaxy_cli.cli.samples:increment",
    "status": "metaxy_cli.cli.samples:status",
    "delete": "metaxy_cli.cli.samples:delete",
    "sql": "metaxy_cli.cli.samples:sql",
    "store": "metaxy_cli.cli.store:store",
}


def report(error: MetaxyError) -> None:
    """Print a library error on stderr: located problems one per line, anything else as `Error: ...`."""
    if isinstance(error, ConfigError):
        for problem in error.problems:
            click.echo(str(problem), err=True)
    else:
        click.echo(f"Error: {error}", err=True)


class MetaxyGroup(click.Group):
    """Loads commands on demand and turns library errors into one clean message and exit 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if self._available(name)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None or not self._available(name):
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)

    @staticmethod
    def _available(name: str) -> bool:
        return importlib.util.find_spec(COMMANDS[name].split(":")[0]) is not None

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except MetaxyError as error:
            if os.environ.get("METAXY_TRACEBACK"):
                raise
            report(error)
            ctx.exit(1)


@click.group(name="metaxy", cls=MetaxyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="metaxy")
@click.option(
    "--project",
    "project_path",
    type=click.Path(dir_okay=True, file_okay=True),
    envvar="METAXY_PROJECT",
    help="metaxy.yaml or its folder (default: searched upward from the working directory).",
)
@click.pass_context
def cli(ctx: click.Context, project_path: str | None) -> None:
    """Declarative metadata versioning for multimodal data and ML pipelines.

    \b
    Examples:
      metaxy validate
      metaxy render --format mermaid
      metaxy --project examples/overview plan
    Set METAXY_TRACEBACK=1 to see Python tracebacks of errors.
    """
    ctx.obj = CliContext(project_path)


def main() -> None:
    context.freeze_loaded_project = True
    cli(prog_name="metaxy")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
