#!/usr/bin/env python3
"""API contract gate: the committed OpenAPI document must equal the generated one (OC-CTL-4008).

Usage: ``check_openapi.py [--write] [--path FILE]``.

The document is generated from the control-plane app's routes
(:func:`poolmgr.http.app.openapi_text`: sorted keys, two-space indent, trailing newline). Without
``--write`` the gate compares it with the committed file (default ``spec/openapi.json``) and
exits 1 with a unified diff when they differ or the file is missing; ``--write`` regenerates
the file and exits 0.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from poolmgr.http.app import openapi_text  # noqa: E402

DEFAULT_PATH = ROOT / "spec" / "openapi.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="regenerate the committed file")
    parser.add_argument("--path", type=Path, default=DEFAULT_PATH, help="the committed document")
    args = parser.parse_args(argv)
    generated = openapi_text()
    if args.write:
        args.path.write_text(generated, encoding="utf-8")
        print(f"check_openapi: wrote {args.path}")
        return 0
    try:
        committed = args.path.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"check_openapi: cannot read {args.path}: {exc.strerror or exc}", file=sys.stderr)
        print("check_openapi: run ci/check_openapi.py --write to create it", file=sys.stderr)
        return 1
    if committed == generated:
        print(f"check_openapi: {args.path} matches the app")
        return 0
    diff = difflib.unified_diff(
        committed.splitlines(keepends=True),
        generated.splitlines(keepends=True),
        fromfile=f"{args.path} (committed)",
        tofile="generated from poolmgr.http.app",
    )
    sys.stderr.writelines(diff)
    print(
        f"\ncheck_openapi: {args.path} differs from the app; "
        "run ci/check_openapi.py --write and commit the result",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
