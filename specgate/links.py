"""spec-links: check the links of Markdown documents without touching the network.

The command: paths (files or directories searched for ``*.md``; default ``README.md spec``),
one ``file:line: broken link ...`` line per broken link (decided by ``specgate.gates.links``)
and a count on stderr.

Exit codes: 0 no broken link; 1 broken links (each printed as ``file:line: ...``); 2 usage
error (a path that does not exist).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from specgate.gates.links import check


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spec-links",
        description="Check relative links and anchors of Markdown files (no network).",
        epilog="exit codes: 0 no broken link; 1 broken links; 2 usage error",
    )
    parser.add_argument(
        "paths", nargs="*", default=["README.md", "spec"], help="files or directories"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    paths = [Path(p) for p in args.paths]
    missing = [p for p in paths if not p.exists()]
    if missing:
        for path in missing:
            print(f"spec-links: no such file or directory: {path}", file=sys.stderr)
        return 2
    report = check(paths)
    for item in report.broken:
        print(item.format())
    print(
        f"spec-links: {report.files} file(s), {report.internal} internal link(s) checked, "
        f"{report.external} external link(s) not fetched, {len(report.broken)} broken",
        file=sys.stderr,
    )
    return 1 if report.broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
