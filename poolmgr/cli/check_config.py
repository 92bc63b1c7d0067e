"""``poolmgr check-config [--no-file-checks] FILE...``: validate config files without starting
anything (0 valid, 2 invalid; OC-CFG-5002, OC-CFG-5005).

Checks the schema, the cross-field rules and, unless ``--no-file-checks`` (a config written
for another host), every local model file: it exists, is readable, is a GGUF model for
``llamacpp`` pools and matches a pinned ``model_digest`` (:mod:`poolmgr.config.files`).
"""

from __future__ import annotations

import argparse
import sys

from poolmgr.config import load_config
from poolmgr.core.errors import ConfigError

__all__ = ["add_parser", "check_config_main", "run"]

_NO_FILE_CHECKS_HELP = (
    "skip the model file checks (existence, GGUF header, pinned digest): for a config "
    "written for another host"
)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-file-checks", action="store_true", help=_NO_FILE_CHECKS_HELP)
    parser.add_argument("files", nargs="+", metavar="FILE", help="config file(s) to check")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _add_arguments(sub.add_parser("check-config", help="validate config files"))


def check_config_main(argv: list[str]) -> int:
    """``poolmgr check-config [--no-file-checks] FILE...``: 0 when every file is valid, else 2.

    Each problem goes to stderr as ``file: path: reason``; each valid file to stdout as
    ``file: ok (N pools)``.
    """
    parser = argparse.ArgumentParser(
        prog="poolmgr check-config", description="Validate poolmgr config files."
    )
    _add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    return run(args)


def run(args: argparse.Namespace) -> int:
    """Check ``args.files`` (parsed by :func:`add_parser`'s or this module's own parser)."""
    status = 0
    for name in args.files:
        try:
            config = load_config(name, check_files=not args.no_file_checks)
        except ConfigError as exc:
            status = 2
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            continue
        count = len(config.pools)
        print(f"{name}: ok ({count} pool{'s' if count != 1 else ''})")
    return status
