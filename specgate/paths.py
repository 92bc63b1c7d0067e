"""Display paths shared by every specgate tool.

Decides how a file is named in output and in generated files: POSIX, relative to the current
directory when it lies inside it (so output is the same on every checkout), else as given.
"""

from __future__ import annotations

from pathlib import Path


def display_path(path: Path) -> str:
    """POSIX path relative to the current directory when inside it, else as given."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()
