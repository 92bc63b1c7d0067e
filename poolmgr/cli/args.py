"""Command-line arguments checked where they are parsed, for every ``poolmgr`` subcommand.

Decides what a well-formed argument is (OC-CTL-4027): a TCP port (0..65535), a listen host (an
IP address or an RFC 1123 host name), a manager URL (http or https, a host, an optional valid
port, no query), a DNS name with an optional port (``--dns``), a number of milliseconds, a
positive number of seconds or of repetitions, an environment variable name. Each validator is
an argparse ``type=``; a bad value ends the command with exit status 2 and one line naming the
command, the argument and the reason, never a traceback (:class:`OneLineParser`). Config files
are checked by the config loader, which already names the file and the reason in one line; no
second check lives here.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import re
import sys
from typing import NoReturn
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_DNS_PORT",
    "OneLineParser",
    "dns_target",
    "env_name",
    "listen_host",
    "manager_url",
    "milliseconds",
    "port",
    "positive_int",
    "positive_seconds",
]

DEFAULT_DNS_PORT = 8080
"""The port of a ``--dns NAME`` that names none: the manager's default port."""

_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class OneLineParser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line on stderr and exit status 2.

    argparse prints the whole usage block before the error; an operator reading a log or a
    script's output wants the reason alone (``--help`` still shows the usage).
    """

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message}", file=sys.stderr)
        sys.exit(2)


def port(text: str) -> int:
    """A TCP port, 0..65535 (0: the kernel picks a free one)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0..65535, got {value}")
    return value


def _is_host_name(text: str) -> bool:
    name = text[:-1] if text.endswith(".") else text
    return 0 < len(name) <= 253 and all(_HOST_LABEL.match(label) for label in name.split("."))


def listen_host(text: str) -> str:
    """An IP address or a host name to listen on."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        if not _is_host_name(text):
            raise argparse.ArgumentTypeError(f"not an IP address or host name: {text!r}") from None
    return text


def manager_url(text: str) -> str:
    """A manager's base URL: ``http(s)://host[:port][/prefix]``, without a trailing slash."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"not an http(s) URL with a host: {text!r}")
    try:
        given = parts.port
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be 0..65535 in {text!r}") from None
    if given == 0:
        raise argparse.ArgumentTypeError(f"port 0 cannot be reached in {text!r}")
    if parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"a manager URL takes no query or fragment: {text!r}")
    return text.rstrip("/")


def positive_seconds(text: str) -> float:
    """A finite number of seconds greater than 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"seconds must be a finite number > 0, got {text}")
    return value


def positive_int(text: str) -> int:
    """A whole number greater than 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def env_name(text: str) -> str:
    """The name of an environment variable (letters, digits, underscores; not a digit first)."""
    if not _ENV_NAME.match(text):
        raise argparse.ArgumentTypeError(f"not an environment variable name: {text!r}")
    return text


def dns_target(text: str) -> tuple[str, int]:
    """``NAME[:PORT]``: a host name to resolve and the port its managers listen on (1..65535)."""
    if "/" in text:
        raise argparse.ArgumentTypeError(f"a DNS name[:port], not a URL (use --url): {text!r}")
    name, colon, given = text.rpartition(":")
    if not colon:
        name, given = text, str(DEFAULT_DNS_PORT)
    if not _is_host_name(name):
        raise argparse.ArgumentTypeError(f"not a DNS name[:port]: {text!r}")
    try:
        value = int(given)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number in {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 1..65535 in {text!r}")
    return name, value


def milliseconds(text: str) -> int:
    """A whole number of milliseconds, 0..3 600 000 (the control plane's longest deadline)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of milliseconds: {text!r}") from None
    if not 0 <= value <= 3_600_000:
        raise argparse.ArgumentTypeError(f"milliseconds must be 0..3600000, got {value}")
    return value
