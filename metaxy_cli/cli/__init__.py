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
from typing import TYPE_CHECKING

import click

from metaxy_cli.definitions import __version__
from metaxy_cli.cli import context
from metaxy_cli.cli.context import CliContext

if TYPE_CHECKING:
    from metaxy_cli.definitions.errors import MetaxyError

EXIT_INTERNAL = 70  # EX_SOFTWARE (sysexits.h): metaxy failed on an input it does not classify
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader closed
# name -> ("module:attribute", short help). The short help is kept here so `metaxy --help` lists
# the commands without importing them (tests/test_cli.py checks it matches each command's own).
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("metaxy_cli.cli.validate:validate", "Check the project and feature files; silent when valid."),
    "render": ("metaxy_cli.cli.render:render", "Draw the feature graph: features, fields and their versions."),
    "diff": ("metaxy_cli.cli.diff:diff", "Show how features and fields change between two versions of the definitions."),
    "plan": ("metaxy_cli.cli.plan:plan", "What the working tree's definitions make you recompute, compared with BASE."),
    "write": ("metaxy_cli.cli.samples:write", "Append samples of FEATURE from FILE (Parquet, CSV or JSON Lines; - for stdin)."),
    "increment": ("metaxy_cli.cli.samples:increment", "The samples of FEATURE to (re)compute, with the provenance to write back."),
    "status": ("metaxy_cli.cli.samples:status", "One line per feature: new / stale / orphaned / up-to-date samples, and a total."),
    "delete": ("metaxy_cli.cli.samples:delete", "Soft-delete samples of FEATURE: tombstones are appended to its history."),
    "sql": ("metaxy_cli.cli.samples:sql", "Print the versioning query of FEATURE, to run it in your own warehouse."),
    "push": ("metaxy_cli.cli.history:push", "Record the current definitions in the store as a graph snapshot."),
    "history": ("metaxy_cli.cli.history:history", "List the graph snapshots a store keeps, oldest first."),
    "migrate": ("metaxy_cli.cli.migrate:migrate", "Reconcile stored samples with changed definitions, without recomputing."),
    "store": ("metaxy_cli.cli.store:store", "Maintain a metadata store: remove what killed writes left behind."),
}


def report(error: MetaxyError) -> None:
    """Print a library error on stderr: located problems one per line, anything else as `Error: ...`."""
    from metaxy_cli.definitions.errors import ConfigError

    if isinstance(error, ConfigError):
        for problem in error.problems:
            click.echo(str(problem), err=True)
    else:
        click.echo(f"Error: {error}", err=True)


def _shortened(text: str, limit: int) -> str:
    """`text` cut at a word to fit `limit` columns, with "..." (click's own helper goes in Click 9)."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 3, 0)].rsplit(" ", 1)[0].rstrip(" ,;:")
    return f"{cut}..."


class MetaxyGroup(click.Group):
    """Loads commands on demand and turns library errors into one clean message and exit 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if self._available(name)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS or not self._available(name):
            return None
        module_name, attribute = COMMANDS[name][0].split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from COMMANDS, without importing every command for its help."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max((len(name) for name in names), default=0)
        rows = [(name, _shortened(COMMANDS[name][1], limit)) for name in names]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    @staticmethod
    def _available(name: str) -> bool:
        return importlib.util.find_spec(COMMANDS[name][0].split(":")[0]) is not None

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            ctx.exit(EXIT_BROKEN_PIPE)  # the reader went away (`metaxy increment ... | head`)
        except Exception as error:
            from metaxy_cli.definitions.errors import MetaxyError  # imported here: --help stays light

            if os.environ.get("METAXY_TRACEBACK"):
                raise
            if isinstance(error, MetaxyError):
                report(error)
                ctx.exit(1)
            # An input metaxy did not classify: a bug. One line, never a traceback by default.
            message = str(error).strip().splitlines()[0] if str(error).strip() else ""
            click.echo(
                f"internal error: {type(error).__name__}: {message}; rerun with METAXY_TRACEBACK=1 and report it",
                err=True,
            )
            ctx.exit(EXIT_INTERNAL)


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
