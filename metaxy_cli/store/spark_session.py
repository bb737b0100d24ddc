"""Starting (or joining) the SparkSession of a Spark store, with the checks that make a missing
Java, an unreachable master or a missing pyspark one clear line instead of a JVM stack trace.

Settings every metaxy session gets (a caller's session too, where they are runtime settings):
  - session time zone UTC: a zoned input timestamp is stored as its UTC wall time, as on DuckDB;
  - ANSI mode with double-quoted identifiers: `"col"` names a column, as in standard SQL;
  - Parquet timestamps as INT64 microseconds (readable by DuckDB and Arrow as they are).
Sessions metaxy starts itself also get: no UI, the C1 JIT and serial GC (half the JVM start-up
on small machines), a quiet log4j configuration (errors only), and on local masters small
shuffles, a 4g heap and the driver on loopback. Any of these can be changed with `conf`.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

from metaxy_cli.definitions.errors import StoreError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from metaxy_cli.definitions.errors import MetaxyError
    from metaxy_cli.sql.dialects import DialectProfile

DEFAULT_MASTER = "local[*]"


class SparkHost(Protocol):
    """What the batch reader and the output writer use of a Spark store (store/spark.py)."""

    engine: str
    location: str

    @property
    def profile(self) -> DialectProfile: ...
    @property
    def session(self) -> SparkSession: ...
    def staging_folder(self) -> Path: ...
    def readable(self, local: Path) -> str: ...
    def register(self, name: str, frame: DataFrame) -> None: ...
    def _error(self, error: Exception) -> MetaxyError: ...

LOG4J = Path(__file__).with_name("spark_log4j2.properties")
RUNTIME: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.ansi.doubleQuotedIdentifiers": "true",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.sources.partitionOverwriteMode": "static",
}
STARTUP: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
    "spark.driver.extraJavaOptions": f"-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dlog4j2.configurationFile=file:{LOG4J}",
}
# Local masters run everything in the driver's JVM: Spark's default heap (1g) makes a 1M-sample
# write-back spend half its time in GC (65 s; 32 s with 3g), so 4g, like DuckDB's memory_limit.
LOCAL = {
    "spark.sql.shuffle.partitions": "4", "spark.driver.memory": "4g",
    "spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1",
}  # fmt: skip
CONNECT_TIMEOUT = 3.0


def start_session(name: str, master: str, conf: Mapping[str, Any]) -> SparkSession:
    """A SparkSession for store `name` on `master` (the active one when the process has one)."""
    check_startable(name, master)
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # Python UDF workers: this interpreter
    builder = SparkSession.builder.master(master).appName(f"metaxy-{name}")
    settings = {**STARTUP, **(LOCAL if master.startswith("local") else {}), **RUNTIME}
    settings.update({str(key): str(value) for key, value in conf.items()})
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except (*spark_errors(), RuntimeError, OSError) as error:  # all mean "did not start"
        raise StoreError(f"cannot open store {name!r}: Spark did not start on master {master!r}: {_first_line(error)}") from None
    session.sparkContext.setLogLevel("ERROR")
    return session


def check_startable(name: str, master: str) -> None:
    """pyspark, Java and the master are there: each missing one is a StoreError saying what to do."""
    _require_pyspark(name)
    _require_java(name)
    _require_reachable(name, master)


def join_session(session: SparkSession) -> SparkSession:
    """Apply metaxy's runtime settings to a caller's session (see the module doc)."""
    import logging

    for key, value in RUNTIME.items():
        session.conf.set(key, value)
    # PySpark logs every failed query as a multi-KB JSON record; metaxy reports it in one line.
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    return session


def _require_pyspark(name: str) -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise StoreError(f"cannot open store {name!r}: pyspark is not installed (pip install 'metaxy-cli[spark]')") from None


def _require_java(name: str) -> None:
    home = os.environ.get("JAVA_HOME")
    if home:
        if not (Path(home) / "bin" / "java").exists():
            raise StoreError(f"cannot open store {name!r}: JAVA_HOME={home} has no bin/java (point it at a Java 17+ installation)")
        return
    if shutil.which("java") is None:
        raise StoreError(
            f"cannot open store {name!r}: Java is not installed, and Spark needs it "
            "(install Java 17 or newer, e.g. apt-get install openjdk-17-jre-headless, or set JAVA_HOME)"
        )


def _require_reachable(name: str, master: str) -> None:
    """A standalone or Kubernetes master that does not answer fails now, not after Spark's
    minute of retries."""
    for host, port in _endpoints(master):
        try:
            socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise StoreError(
                f"cannot open store {name!r}: Spark master {master} is unreachable at {host}:{port} ({reason}); "
                "start it, or fix `master` in the store's settings"
            ) from None


def _endpoints(master: str) -> list[tuple[str, int]]:
    if master.startswith("spark://"):
        found = []
        for address in master[len("spark://"):].split(","):
            host, _, port = address.rpartition(":")
            found.append((host or address, int(port) if port.isdigit() else 7077))
        return found
    if master.startswith("k8s://"):
        url = urlparse(master[len("k8s://"):] if "://" in master[len("k8s://"):] else "https://" + master[len("k8s://"):])
        return [(url.hostname or "", url.port or 443)]
    return []


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def spark_errors() -> tuple[type[Exception], ...]:
    """What Spark raises for a failed query or job: PySpark's errors and the JVM's (via py4j)."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    return (PySparkException, Py4JError)


def spark_message(error: Exception) -> str:
    """The first line of a Spark error, without the JVM stack or PySpark's query context."""
    from metaxy_cli.store.base import database_message

    text = database_message(error)
    return text.split("SQLSTATE:")[0].strip() if "SQLSTATE:" in text else text
