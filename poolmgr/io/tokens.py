"""The control-plane token: read from where the config says it lives, never from the config.

Serves OC-CFG-5004: the token comes from a named environment variable or a named file; an
unset or empty variable, or a missing, unreadable, oversized or empty file, is a config error
naming the field (``manager.auth.token_env`` / ``token_file``), and no message ever contains
the token.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from poolmgr.core.config import Config
from poolmgr.core.problems import FieldPath, Problems

__all__ = ["MAX_TOKEN_FILE_BYTES", "read_auth_token"]

MAX_TOKEN_FILE_BYTES = 64 * 1024
"""Largest token file accepted (64 KiB)."""


def read_auth_token(config: Config, environ: Mapping[str, str] | None = None) -> str | None:
    """The control-plane token from where the config says it lives (OC-CFG-5004).

    ``None`` when the config has no ``manager.auth``. An unset or empty variable, or a
    missing, unreadable or empty file, raises :class:`~poolmgr.core.errors.ConfigError` naming
    the field; no message ever contains the token. A file's content is stripped of surrounding
    whitespace.
    """
    auth = config.manager.auth
    if auth is None:
        return None
    problems = Problems(config.source)
    env = os.environ if environ is None else environ
    if auth.token_env is not None:
        token = env.get(auth.token_env, "").strip()
        if not token:
            problems.add(
                ("manager", "auth", "token_env"),
                f"environment variable {auth.token_env} is unset or empty",
            )
            raise problems.error()
        return token
    assert auth.token_file is not None
    field: FieldPath = ("manager", "auth", "token_file")
    try:
        with open(auth.token_file, "rb") as handle:
            raw = handle.read(MAX_TOKEN_FILE_BYTES + 1)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        problems.add(field, f"cannot read token file {auth.token_file}: {reason}")
        raise problems.error() from None
    if len(raw) > MAX_TOKEN_FILE_BYTES:
        problems.add(field, f"token file {auth.token_file} is larger than 64 KiB")
        raise problems.error()
    try:
        token = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        problems.add(field, f"token file {auth.token_file} is not UTF-8 text")
        raise problems.error() from None
    if not token:
        problems.add(field, f"token file {auth.token_file} is empty")
        raise problems.error()
    return token
