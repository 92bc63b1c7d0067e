"""spec-lint: check a corpus of Markdown specs.

Decides whether the specs are well-formed. Errors, one per line as
``file:line:col: CODE message`` on stdout (codes in ``specgate.diagnostics.Code``):

- SG101 look-alike hyphen (U+2010, U+2011, en dash, minus sign, ...) in an ID-shaped token
- SG102 malformed ID-like token (``OC-POOL-30``, ``ORCH-12``, ``[oc-pool-3001]``)
- SG103 an ID defined twice (within or across specs; both places are named, the first is kept)
- SG104 a retired ``-DEPR`` ID whose base ID is defined again
- SG105 a spec without any RFC-2119 keyword; SG106 a spec that defines no ID
- SG107 a normative sentence (uppercase RFC-2119 keyword) outside any requirement
- SG108 a requirement without text; SG109 ``[ID]:`` swallowed as a link reference definition
- SG110 a spec that is not valid UTF-8
- SG111 normative text outside any requirement citing a well-formed ID in no defining place

Exit codes: 0 clean; 1 errors found; 2 usage error. ``--json`` prints one JSON object instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from specgate.cache import cache_dir_from
from specgate.gates.lint import analyze_corpus
from specgate.render.json import lint_json


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spec-lint",
        description="Lint Markdown specs: IDs, duplicates, look-alike hyphens, RFC-2119 use.",
        epilog="exit codes: 0 clean; 1 errors found; 2 usage error",
    )
    parser.add_argument(
        "--spec-dir", default="spec", help="directory of *.md specs (default: spec)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--cache-dir", help="parse cache (default: reports/.specgate-cache)")
    parser.add_argument("--no-cache", action="store_true", help="do not use a parse cache")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    spec_dir = Path(args.spec_dir)
    if not spec_dir.is_dir():
        print(f"spec-lint: spec directory not found: {spec_dir}", file=sys.stderr)
        return 2
    corpus = analyze_corpus(spec_dir, cache_dir_from(args.cache_dir, disabled=args.no_cache))
    problems = corpus.diagnostics
    if args.json:
        print(json.dumps(lint_json(corpus), indent=2, ensure_ascii=False))
    else:
        for diag in problems:
            print(diag.format())
        if problems:
            files = len({d.file for d in problems})
            print(f"spec-lint: {len(problems)} error(s) in {files} file(s)", file=sys.stderr)
        else:
            print(
                f"spec-lint: ok ({len(corpus.requirements)} requirements in "
                f"{len(corpus.files)} spec(s))",
                file=sys.stderr,
            )
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
