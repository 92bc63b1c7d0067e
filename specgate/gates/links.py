"""The link gate: which links of Markdown documents are broken, without touching the network.

Decides which links are broken: a relative file target that does not exist, or an anchor
(``#anchor`` or ``file.md#anchor``) that matches no heading of the target document under
GitHub's anchor rules (lowercase, punctuation dropped, spaces to hyphens, ``-1``, ``-2`` for
repeated headings) nor an HTML ``<a id>``/``<a name>``. External ``http(s)`` links are counted,
never fetched. Paths given may be files or directories (searched for ``*.md``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from specgate.paths import display_path
from specgate.readers.markdown import anchors_of, links_of

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_MARKDOWN_SUFFIXES = (".md", ".markdown")


@dataclass(frozen=True)
class Broken:
    file: str
    line: int
    target: str
    reason: str

    def format(self) -> str:
        return f"{self.file}:{self.line}: broken link {self.target!r}: {self.reason}"


@dataclass(frozen=True)
class Report:
    files: int
    internal: int
    external: int
    broken: tuple[Broken, ...]


class _Anchors:
    def __init__(self) -> None:
        self._cache: dict[Path, frozenset[str]] = {}

    def of(self, path: Path) -> frozenset[str]:
        key = path.resolve()
        if key not in self._cache:
            self._cache[key] = anchors_of(path.read_text(encoding="utf-8"))
        return self._cache[key]


def markdown_files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in _MARKDOWN_SUFFIXES))
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def _check_one(source: Path, target: str, root: Path, anchors: _Anchors) -> tuple[str, str | None]:
    """('external' | 'internal' | 'other', reason it is broken or None)."""
    if not target.strip():
        return "internal", "empty target"
    if target.startswith("//") or _SCHEME.match(target):
        kind = "external" if target.lower().startswith(("http:", "https:", "//")) else "other"
        return kind, None
    raw_path, _, anchor = target.partition("#")
    raw_path = raw_path.split("?", 1)[0]
    anchor = unquote(anchor)
    if not raw_path:
        if anchor and anchor not in anchors.of(source):
            return "internal", f"no heading or anchor '#{anchor}' in {display_path(source)}"
        return "internal", None
    rel = unquote(raw_path)
    resolved = (root / rel.lstrip("/")) if rel.startswith("/") else (source.parent / rel)
    if not resolved.exists():
        return "internal", f"{display_path(resolved)} does not exist"
    markdown = resolved.is_file() and resolved.suffix in _MARKDOWN_SUFFIXES
    if anchor and markdown and anchor not in anchors.of(resolved):
        return "internal", f"no heading or anchor '#{anchor}' in {display_path(resolved)}"
    return "internal", None


def check(paths: list[Path], root: Path | None = None) -> Report:
    """Check every link of the Markdown files under ``paths``."""
    base = root or Path.cwd()
    anchors = _Anchors()
    files = markdown_files(paths)
    internal = external = 0
    broken: list[Broken] = []
    for source in files:
        shown = display_path(source)
        for link in links_of(source.read_text(encoding="utf-8")):
            kind, reason = _check_one(source, link.target, base, anchors)
            internal += kind == "internal"
            external += kind == "external"
            if reason is not None:
                broken.append(Broken(shown, link.line, link.target, reason))
    return Report(len(files), internal, external, tuple(broken))
