"""Parsed, schema-valid definition documents, remembered by the digest of their text.

Parsing YAML and checking it against the JSON Schema is most of the cost of loading a large
project, and most files do not change between two runs (or between the two sides of a diff).
A document is remembered only after it parsed and validated cleanly; its key covers the text,
the schema it was checked against and the metaxy version, so a hit is exactly what a fresh parse
would give. On disk the entries live under `.metaxy/cache/documents/`; any I/O problem simply
means a miss. Set METAXY_NO_CACHE=1 to bypass the disk.
"""

from __future__ import annotations

import json
import os
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from blake3 import blake3

from metaxy_cli.definitions import __version__

CACHE_FOLDER = Path(".metaxy") / "cache" / "documents"
_FORMAT = "metaxy/document-cache/v1"


@cache
def _schema_digest(schema: str) -> str:
    return blake3(resources.files("metaxy_cli.definitions").joinpath("schemas", schema).read_bytes()).hexdigest()


class DocumentCache:
    """In-memory, plus an on-disk folder when one is given."""

    def __init__(self, folder: Path | None = None):
        self.folder = folder
        self._memory: dict[str, Any] = {}

    @classmethod
    def for_project(cls, root: Path) -> DocumentCache:
        """The project's on-disk cache, or memory only when METAXY_NO_CACHE is set."""
        return cls(None if os.environ.get("METAXY_NO_CACHE") else root / CACHE_FOLDER)

    @staticmethod
    def key(schema: str, text: str) -> str:
        header = f"{_FORMAT}\0{__version__}\0{schema}\0{_schema_digest(schema)}\0"
        return blake3(header.encode() + text.encode()).hexdigest()

    def get(self, schema: str, text: str) -> Any | None:
        key = self.key(schema, text)
        if key in self._memory:
            return self._memory[key]
        if self.folder is None:
            return None
        try:
            document = json.loads((self.folder / f"{key}.json").read_bytes())
        except (OSError, ValueError):
            return None
        self._memory[key] = document
        return document

    def put(self, schema: str, text: str, document: Any) -> None:
        """Remember a clean document; one that JSON cannot hold exactly is kept in memory only."""
        key = self.key(schema, text)
        self._memory[key] = document
        if self.folder is None:
            return
        encoded = json.dumps(document, ensure_ascii=False, allow_nan=False)
        if json.loads(encoded) != document:
            return
        try:
            if not self.folder.is_dir():
                self.folder.mkdir(parents=True)
                (self.folder.parent / ".gitignore").write_text("*\n")  # never committed by accident
            with tempfile.NamedTemporaryFile("w", dir=self.folder, suffix=".tmp", delete=False, encoding="utf-8") as handle:
                handle.write(encoded)
            os.replace(handle.name, self.folder / f"{key}.json")
        except OSError:
            pass
