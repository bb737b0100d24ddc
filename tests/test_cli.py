"""The `metaxy` group: version, help on every command, usage errors and exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from metaxy_cli import __version__
from metaxy_cli.cli import COMMANDS, MetaxyGroup, cli
from metaxy_cli.definitions.errors import ProjectNotFoundError

AVAILABLE = [name for name in COMMANDS if MetaxyGroup._available(name)]


def test_version(invoke) -> None:
    result = invoke("--version")
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"metaxy, version {__version__}\n", "")


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_group_help_lists_commands_and_examples(invoke, flag: str) -> None:
    result = invoke(flag)
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout.splitlines()[0].endswith(" [OPTIONS] COMMAND [ARGS]...")
    assert "--project PATH" in result.stdout and "Examples:" in result.stdout
    listed = result.stdout.split("Commands:")[1]
    assert [line.split()[0] for line in listed.strip().splitlines()] == AVAILABLE


def test_validate_is_always_available() -> None:
    assert "validate" in AVAILABLE


@pytest.mark.parametrize("name", AVAILABLE)
def test_every_command_has_help_with_an_example(invoke, name: str) -> None:
    result = invoke(name, "--help")
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout.startswith("Usage: ") and f" {name} [OPTIONS]" in result.stdout.splitlines()[0]
    assert "Example" in result.stdout


def test_unknown_command_is_a_usage_error(invoke) -> None:
    result = invoke("vaildate")
    assert result.exit_code == 2 and result.stdout == ""
    assert "Error: No such command 'vaildate'" in result.stderr


def test_unknown_option_is_a_usage_error(invoke, overview_dir: Path) -> None:
    result = invoke("--project", overview_dir, "validate", "--strict")
    assert result.exit_code == 2 and result.stdout == ""
    assert "Error: No such option '--strict'." in result.stderr


def test_library_errors_are_one_line_and_exit_1(invoke, tmp_path: Path) -> None:
    result = invoke("--project", tmp_path, "validate")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"Error: {tmp_path / 'metaxy.yaml'}: project file not found\n"


def test_traceback_on_request(invoke, tmp_path: Path) -> None:
    with pytest.raises(ProjectNotFoundError):
        invoke("--project", tmp_path, "validate", env={"METAXY_TRACEBACK": "1"})


def test_project_from_the_environment(invoke, overview_dir: Path, tmp_path: Path) -> None:
    result = invoke("validate", env={"METAXY_PROJECT": str(overview_dir)})
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_real_process_exit_codes(overview_dir: Path, tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "metaxy_cli", *args], capture_output=True, text=True, cwd=tmp_path)

    ok = run("--project", str(overview_dir), "validate")
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, "", "")
    missing = run("validate")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.startswith("Error: no metaxy.yaml found in ")
    usage = run("--bogus")
    assert usage.returncode == 2 and usage.stdout == ""


@pytest.mark.parametrize("name", AVAILABLE)
def test_listed_short_help_is_the_commands_own(name: str) -> None:
    """`metaxy --help` lists commands from COMMANDS without importing them: keep both in step."""
    import click

    command = cli.get_command(click.Context(cli), name)
    assert command.get_short_help_str(limit=1000) == COMMANDS[name][1]


def test_unexpected_exceptions_are_one_line_with_exit_70(invoke, monkeypatch, tmp_path: Path) -> None:
    from metaxy_cli.cli import context

    def broken(self):
        raise ZeroDivisionError("division by zero\nsecond line")

    monkeypatch.setattr(context.CliContext, "project", broken)
    monkeypatch.chdir(tmp_path)
    result = invoke("validate")
    assert result.exit_code == 70
    assert result.stderr == "internal error: ZeroDivisionError: division by zero; rerun with METAXY_TRACEBACK=1 and report it\n"


HELP_PROBE = """
import sys
from metaxy_cli.cli import cli
try:
    cli(["--help"], prog_name="metaxy")
except SystemExit:
    pass
heavy = ("duckdb", "sqlglot", "pyarrow", "ruamel", "jsonschema", "blake3", "graphviz",
         "dataclasses", "metaxy_cli.definitions.errors", "metaxy_cli.definitions.loader", "metaxy_cli.cli.samples")
print("loaded:" + ",".join(sorted(name for name in sys.modules if name.startswith(heavy))))
"""


def test_help_imports_nothing_it_does_not_use() -> None:
    """`metaxy --help` costs little more than starting click: no command, parser or engine loads."""
    result = subprocess.run([sys.executable, "-c", HELP_PROBE], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines()[-1] == "loaded:"


def test_command_list_cuts_long_help_at_a_word_on_narrow_terminals(monkeypatch) -> None:
    from click.testing import CliRunner

    monkeypatch.setenv("COLUMNS", "60")
    result = CliRunner().invoke(cli, ["--help"], prog_name="metaxy", terminal_width=60)
    listed = result.stdout.split("Commands:")[1].strip().splitlines()
    write = next(line for line in listed if line.split()[0] == "write")
    assert write.split(None, 1)[1] == "Append samples of FEATURE from FILE..."
    assert max(len(line) for line in listed) <= 60
