"""spec-extract: generate one requirements YAML per Markdown spec.

Decides the generated files: ``<out-dir>/<stem>.yaml`` for each ``<spec-dir>/*.md`` (sorted),
holding that spec's requirements sorted by ID (numeric-aware) as ``{id, title, text, section,
level, link, source, fingerprint}``. Files are rewritten only when their content changes and
generated files of removed specs are deleted, so a second run changes nothing.

Exit codes: 0 done / up to date; 1 ``--check`` found stale, missing or extra files (a unified
diff is printed); 2 usage error, or problems that cost or risk an ID (look-alike hyphens,
malformed IDs, duplicate definitions, invisible definitions, unreadable files, normative text
citing IDs that define nothing), each printed as ``file:line:col: CODE message``. Never
all-or-nothing: every well-formed definition is still written (the first of a duplicate).
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from specgate.cache import cache_dir_from, no_gc
from specgate.gates.lint import analyze_corpus
from specgate.paths import display_path
from specgate.render.yaml import HEADER, Output, requirement_files


def _generated_files(out_dir: Path) -> list[Path]:
    found = []
    for path in sorted(out_dir.glob("*.yaml")):
        try:
            with path.open(encoding="utf-8") as handle:
                first = handle.readline()
        except (OSError, UnicodeDecodeError):
            continue
        if first.strip() == f"# {HEADER}":
            found.append(path)
    return found


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class Plan:
    """What a run would change: files to write (new or changed) and generated files to delete."""

    write: tuple[Output, ...]
    delete: tuple[Path, ...]
    unchanged: int
    diff: str


def plan(outputs: list[Output], out_dir: Path) -> Plan:
    write: list[Output] = []
    diff: list[str] = []
    unchanged = 0
    wanted = {o.path.resolve() for o in outputs}
    for out in outputs:
        current = _read(out.path)
        if current == out.content:
            unchanged += 1
            continue
        write.append(out)
        shown = display_path(out.path)
        diff.extend(
            difflib.unified_diff(
                (current or "").splitlines(keepends=True),
                out.content.splitlines(keepends=True),
                fromfile=shown if current is not None else "/dev/null",
                tofile=shown,
            )
        )
    delete = [p for p in _generated_files(out_dir) if p.resolve() not in wanted]
    for path in delete:
        diff.extend(
            difflib.unified_diff(
                path.read_text(encoding="utf-8").splitlines(keepends=True),
                [],
                fromfile=display_path(path),
                tofile="/dev/null",
            )
        )
    return Plan(tuple(write), tuple(delete), unchanged, "".join(diff))


def _write_atomic(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with tmp.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(content)
    tmp.replace(path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spec-extract",
        description="Generate one requirements YAML per Markdown spec.",
        epilog="exit codes: 0 ok / up to date; 1 --check found differences; "
        "2 usage error, or IDs lost or at risk (listed; the rest is still written)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--spec-dir", default="spec", help="directory of *.md specs (default: spec)"
    )
    parser.add_argument(
        "--out-dir",
        default="spec/requirements",
        help="directory of generated YAML (default: spec/requirements)",
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 with a diff when stale"
    )
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="accepted for old scripts: what can be extracted is always written",
    )
    parser.add_argument("--cache-dir", help="parse cache (default: reports/.specgate-cache)")
    parser.add_argument("--no-cache", action="store_true", help="do not use a parse cache")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    spec_dir = Path(args.spec_dir)
    out_dir = Path(args.out_dir)
    if not spec_dir.is_dir():
        print(f"spec-extract: spec directory not found: {spec_dir}", file=sys.stderr)
        return 2
    cache_dir = cache_dir_from(args.cache_dir, disabled=args.no_cache)
    with no_gc():
        corpus = analyze_corpus(spec_dir, cache_dir, write_cache=not args.check)
    unsafe = corpus.unsafe
    for diag in unsafe:
        print(diag.format(), file=sys.stderr)
    if unsafe:
        print(
            f"spec-extract: {len(unsafe)} problem(s) above lose or risk an ID; "
            "every well-formed ID is still extracted",
            file=sys.stderr,
        )
    todo = plan(requirement_files(corpus, out_dir), out_dir)
    failed = 2 if unsafe else 0
    if args.check:
        if todo.write or todo.delete:
            sys.stdout.write(todo.diff)
            print(
                f"spec-extract: {len(todo.write) + len(todo.delete)} file(s) out of date; "
                "run spec-extract",
                file=sys.stderr,
            )
            return failed or 1
        print(f"spec-extract: {todo.unchanged} file(s) up to date")
        return failed
    for out in todo.write:
        _write_atomic(out.path, out.content)
    for path in todo.delete:
        path.unlink()
    print(
        f"spec-extract: {len(corpus.requirements)} requirements from {len(corpus.files)} spec(s); "
        f"{len(todo.write)} written, {todo.unchanged} unchanged, {len(todo.delete)} removed"
    )
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
