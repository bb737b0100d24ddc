"""What every command shares: the project, loaded at most once, on demand."""

from __future__ import annotations

from dataclasses import dataclass, field

import click

from metaxy_cli.model import Project


@dataclass
class CliContext:
    project_path: str | None
    _project: Project | None = field(default=None, repr=False)

    def project(self) -> Project:
        if self._project is None:
            from metaxy_cli.loader import load_project

            self._project = load_project(self.project_path)
        return self._project


pass_context = click.make_pass_decorator(CliContext)
