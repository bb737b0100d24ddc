"""Shared fixtures: example projects copied into a temporary folder, and a CLI runner."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


def copy_example(name: str, destination: Path) -> Path:
    """A private copy of examples/<name> (without local stores), so tests may edit it."""
    target = destination / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns(".metaxy", "__pycache__"))
    return target


@pytest.fixture
def overview_dir(tmp_path: Path) -> Path:
    return copy_example("overview", tmp_path)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def invoke(runner: CliRunner):
    """Run `metaxy ARGS...` in-process; returns click's Result (stdout and stderr separate)."""
    from metaxy_cli.cli import cli

    def run(*args: str, input: str | bytes | None = None, env: dict[str, str] | None = None):
        return runner.invoke(cli, [str(a) for a in args], input=input, env=env, catch_exceptions=False)

    return run


@pytest.fixture(scope="session")
def postgres_url():
    """The test PostgreSQL server's URL (METAXY_PG_URL, else a throw-away server, stopped at the
    end of the session); tests/backends.py opens stores on it through the same module."""
    from tests import pg_server

    yield pg_server.url()
    pg_server.SERVER.stop()
