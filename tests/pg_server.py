"""A real PostgreSQL server for the tests: METAXY_PG_URL when set, else a throw-away cluster.

The throw-away cluster is started by scripts/test-services (initdb + pg_ctl as an unprivileged
user, loopback, a free port) in a private folder per test process, so pytest-xdist workers never
share or stop each other's server; it is stopped when the process exits. Every store a test
opens gets a schema of its own (`fresh_schema`), so tests are isolated on a shared server too;
those schemas are dropped at exit.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "test-services"
ENV = "METAXY_PG_URL"


class _Server:
    def __init__(self) -> None:
        self.url: str | None = None
        self.folder: Path | None = None  # set when this process started the server
        self.schemas: list[str] = []

    def start(self) -> str:
        if self.url is not None:
            return self.url
        given = os.environ.get(ENV)
        if given:
            self.url = given
        else:
            self.url = self._start_cluster()
        atexit.register(self.stop)
        return self.url

    def _start_cluster(self) -> str:
        parent = Path(tempfile.mkdtemp(prefix="metaxy-pytest-pg-"))
        parent.chmod(0o755)  # the server's OS user must reach the state folder inside
        self.folder = parent / "pg"
        env = os.environ | {"METAXY_PG_DIR": str(self.folder)}
        result = subprocess.run(["bash", str(SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=600)
        line = next((l for l in result.stdout.splitlines() if l.startswith(f"export {ENV}=")), None)
        if result.returncode != 0 or line is None:
            raise RuntimeError(f"cannot start a test PostgreSQL server (set {ENV} to use one): {result.stderr.strip()}")
        return line.split("=", 1)[1].strip()

    def stop(self) -> None:
        if self.url is None:
            return
        if self.folder is None:
            self._drop_schemas()
        else:
            env = os.environ | {"METAXY_PG_DIR": str(self.folder)}
            subprocess.run(["bash", str(SCRIPT), "stop"], env=env, capture_output=True, timeout=120)
            shutil.rmtree(self.folder.parent, ignore_errors=True)
        self.url, self.folder = None, None

    def _drop_schemas(self) -> None:
        """On a server the tests did not start, leave nothing behind."""
        if not self.schemas:
            return
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            for schema in self.schemas:
                connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        self.schemas.clear()


SERVER = _Server()


def url() -> str:
    """The server's URL, starting a throw-away one on first use."""
    return SERVER.start()


def fresh_schema() -> str:
    """A schema name no other test uses (created by the store that opens it)."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    SERVER.schemas.append(name)
    return name


def open_store(name: str = "postgres", **options):
    """A PostgresStore on a fresh schema of the test server."""
    from metaxy_cli.store.postgres import PostgresStore

    return PostgresStore.open(url(), name=name, schema=fresh_schema(), **options)
