"""What every command shares: the project, loaded at most once, on demand."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field

import click

from metaxy_cli.definitions.project import Project

# Set by the console-script entry point, whose process ends with the command (in-process callers
# such as tests leave it off): the loaded project then lives until exit, so it is moved out of the
# garbage collector's reach (gc.freeze) instead of being rescanned, ~10% of a 10,000-feature render.
freeze_loaded_project = False


@dataclass
class CliContext:
    project_path: str | None
    _project: Project | None = field(default=None, repr=False)

    def project(self) -> Project:
        if self._project is None:
            from metaxy_cli.definitions.loader import load_project

            self._project = load_project(self.project_path)
            if freeze_loaded_project:
                gc.freeze()
        return self._project


pass_context = click.make_pass_decorator(CliContext)
