"""The bearer token the ``poolmgr`` client commands send: from a variable or from a file.

Decides where ``poolmgr status`` and ``poolmgr drain`` take the control plane's token from
(OC-CTL-4025, OC-CTL-4030): ``--token-file PATH`` (the file's text, surrounding whitespace
stripped; the way a Kubernetes Secret is mounted), or ``--token-env NAME`` (the variable's
value), the two mutually exclusive; without either, the variable ``POOLMGR_TOKEN`` when set.
A named file that is missing, unreadable or empty, or a named variable that is unset, is a usage
error: :class:`TokenError` carries the one line the command prints before exiting with 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from poolmgr.cli.args import env_name

__all__ = ["DEFAULT_TOKEN_ENV", "TokenError", "add_token_arguments", "read_token"]

DEFAULT_TOKEN_ENV: Final = "POOLMGR_TOKEN"


class TokenError(Exception):
    """The token the arguments name cannot be had; the message is the one line to print."""


def add_token_arguments(parser: argparse.ArgumentParser) -> None:
    """``--token-env NAME`` and ``--token-file PATH``, mutually exclusive."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--token-env",
        type=env_name,
        metavar="NAME",
        help=f"environment variable holding the bearer token (default: {DEFAULT_TOKEN_ENV}, "
        "sent when set)",
    )
    group.add_argument(
        "--token-file",
        metavar="PATH",
        help="file holding the bearer token (surrounding whitespace stripped), "
        "e.g. a mounted Kubernetes Secret",
    )


def read_token(args: argparse.Namespace, environ: Mapping[str, str]) -> str | None:
    """The token to send, or ``None`` to send none; :class:`TokenError` when it cannot be had."""
    path: str | None = getattr(args, "token_file", None)
    if path is not None:
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise TokenError(f"--token-file: cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise TokenError(f"--token-file: {path} is not UTF-8 text") from None
        if not token:
            raise TokenError(f"--token-file: {path} is empty")
        return token
    named: str | None = args.token_env
    token = environ.get(named or DEFAULT_TOKEN_ENV, "").strip()
    if named and not token:
        raise TokenError(f"--token-env: the variable {named} is not set")
    return token or None
