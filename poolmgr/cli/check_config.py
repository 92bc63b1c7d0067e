"""``poolmgr check-config FILE...``: validate config files (0 valid, 2 invalid; OC-CFG-5002)."""

from __future__ import annotations

import argparse
import sys

from poolmgr.config import load_config
from poolmgr.core.errors import ConfigError

__all__ = ["add_parser", "check_config_main"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = sub.add_parser("check-config", help="validate config files")
    check.add_argument("files", nargs="+", metavar="FILE")


def check_config_main(argv: list[str]) -> int:
    """``poolmgr check-config FILE...``: 0 when every file is valid, 2 otherwise (OC-CFG-5002).

    Each problem goes to stderr as ``file: path: reason``; each valid file to stdout as
    ``file: ok (N pools)``.
    """
    parser = argparse.ArgumentParser(
        prog="poolmgr check-config", description="Validate poolmgr config files."
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="config file(s) to check")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    status = 0
    for name in args.files:
        try:
            config = load_config(name)
        except ConfigError as exc:
            status = 2
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            continue
        count = len(config.pools)
        print(f"{name}: ok ({count} pool{'s' if count != 1 else ''})")
    return status
