"""``poolmgr status --dns``, ``--token-file`` and ``poolmgr drain``'s arguments, on their own.

Serves OC-CTL-4027 (bad arguments: one line, exit 2), OC-CTL-4028 (a name's addresses become
managers: every address once, a stable order, IPv6 in brackets), OC-CTL-4029 (a name that
gives no manager, and why) and OC-CTL-4030 (the token from a file). The resolver is the
outside world here: ``socket.getaddrinfo`` is doubled, and the command's resolver seam is
given a function.
"""

from __future__ import annotations

import argparse
import io
import re
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from poolmgr.cli import main
from poolmgr.cli.args import dns_target, milliseconds
from poolmgr.cli.auth import TokenError, read_token
from poolmgr.cli.fleet import Target, expand, manager_urls, system_resolver
from poolmgr.cli.status import status_main


def _info(address: str) -> tuple[Any, ...]:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return (family, socket.SOCK_STREAM, 6, "", (address, 8080))


def test_oc_ctl_4028_the_system_resolver_gives_every_address_getaddrinfo_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[tuple[Any, ...]] = []

    def getaddrinfo(*args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        asked.append((*args, kwargs))
        return [_info("10.0.0.9"), _info("fd00::2"), _info("10.0.0.9")]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert system_resolver("poolmgr.poolmgr.svc", 8080) == ["10.0.0.9", "fd00::2", "10.0.0.9"]
    assert asked == [("poolmgr.poolmgr.svc", 8080, {"type": socket.SOCK_STREAM})]


def test_oc_ctl_4028_each_address_once_ipv4_first_in_numeric_order_ipv6_bracketed() -> None:
    addresses = ["10.0.0.10", "fd00::2", "10.0.0.9", "10.0.0.10", "fd00:0:0::1", "fe80::1%eth0"]
    assert manager_urls(addresses, 9000) == [
        "http://10.0.0.9:9000",
        "http://10.0.0.10:9000",
        "http://[fd00::1]:9000",
        "http://[fd00::2]:9000",
        "http://[fe80::1]:9000",
    ]


def test_oc_ctl_4029_a_name_that_fails_or_gives_nothing_is_named_with_the_reason() -> None:
    answers = {"good": ["10.0.0.2", "10.0.0.1"], "empty": []}

    def resolve(name: str, port: int) -> Sequence[str]:
        if name not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers[name]

    targets = [Target("gone", 8080), Target("good", 8081), Target("empty", 8080)]
    urls, failed = expand(targets, resolve)
    assert urls == ["http://10.0.0.1:8081", "http://10.0.0.2:8081"]
    assert [(str(f.target), f.reason) for f in failed] == [
        ("gone:8080", "cannot resolve the name (Name or service not known)"),
        ("empty:8080", "the name resolves to no address"),
    ]


def test_oc_ctl_4029_status_names_an_unresolved_name_and_exits_1() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    from poolmgr.cli import status

    status.add_parser(sub)
    args = parser.parse_args(["status", "--dns", "gone.example", "--json"])
    out, err = io.StringIO(), io.StringIO()

    def resolve(name: str, port: int) -> Sequence[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    assert status_main(args, environ={}, out=out, err=err, resolve=resolve) == 1
    assert '"name": "gone.example:8080"' in out.getvalue()
    assert '"managers": []' in out.getvalue()


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("poolmgr.poolmgr.svc.cluster.local", ("poolmgr.poolmgr.svc.cluster.local", 8080)),
        ("fleet:9000", ("fleet", 9000)),
    ],
)
def test_oc_ctl_4028_dns_targets(text: str, value: tuple[str, int]) -> None:
    assert dns_target(text) == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("bad_name", "not a DNS name[:port]: 'bad_name'"),
        ("fleet:0", "port must be 1..65535 in 'fleet:0'"),
        ("fleet:http", "not a port number in 'fleet:http'"),
        ("http://fleet", "a DNS name[:port], not a URL (use --url): 'http://fleet'"),
    ],
)
def test_oc_ctl_4027_bad_dns_targets_are_refused(text: str, reason: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=f"^{re.escape(reason)}$"):
        dns_target(text)


@pytest.mark.parametrize("text", ["-1", "3600001", "1.5", "soon"])
def test_oc_ctl_4027_milliseconds_are_whole_and_within_an_hour(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        milliseconds(text)
    assert milliseconds("0") == 0


def _token_args(**given: str | None) -> argparse.Namespace:
    return argparse.Namespace(token_env=given.get("token_env"), token_file=given.get("token_file"))


def test_oc_ctl_4030_the_token_file_is_read_and_stripped(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("  s3cret \n")
    assert read_token(_token_args(token_file=str(path)), {"POOLMGR_TOKEN": "other"}) == "s3cret"


@pytest.mark.parametrize(
    ("content", "reason"),
    [(None, "cannot read {p}: No such file or directory"), ("\n \n", "{p} is empty")],
)
def test_oc_ctl_4030_a_missing_or_empty_token_file_is_a_usage_error(
    tmp_path: Path, content: str | None, reason: str
) -> None:
    path = tmp_path / "token"
    if content is not None:
        path.write_text(content)
    with pytest.raises(TokenError) as caught:
        read_token(_token_args(token_file=str(path)), {})
    assert str(caught.value) == "--token-file: " + reason.format(p=path)


def test_oc_ctl_4030_without_options_the_default_variable_is_sent_when_set() -> None:
    assert read_token(_token_args(), {"POOLMGR_TOKEN": " t \n"}) == "t"
    assert read_token(_token_args(), {}) is None


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["status", "--dns", "a b"],
            "poolmgr status: argument --dns: not a DNS name[:port]: 'a b'",
        ),
        (
            ["status", "--token-file", "t", "--token-env", "T"],
            "poolmgr status: argument --token-env: not allowed with argument --token-file",
        ),
        (
            ["drain", "--deadline-ms", "soon"],
            "poolmgr drain: argument --deadline-ms: not a whole number of milliseconds: 'soon'",
        ),
        (
            ["drain", "--grace-ms", "-5"],
            "poolmgr drain: argument --grace-ms: milliseconds must be 0..3600000, got -5",
        ),
        (
            ["drain", "--url", "127.0.0.1:8080"],
            "poolmgr drain: argument --url: not an http(s) URL with a host: '127.0.0.1:8080'",
        ),
        (
            ["drain", "--timeout", "0"],
            "poolmgr drain: argument --timeout: seconds must be a finite number > 0, got 0",
        ),
    ],
)
def test_oc_ctl_4027_status_and_drain_refuse_in_one_line_with_status_2(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert capsys.readouterr() == ("", line + "\n")


@pytest.mark.parametrize("command", ["status", "drain"])
def test_oc_ctl_4030_an_unreadable_token_file_ends_the_command_before_any_request(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope"
    # Port 9 (discard) on a documentation address: a request would fail differently (exit 1).
    assert main([command, "--url", "http://192.0.2.1:9", "--token-file", str(missing)]) == 2
    expected = f"poolmgr {command}: --token-file: cannot read {missing}: No such file or directory"
    assert capsys.readouterr() == ("", expected + "\n")


def test_oc_ctl_4028_every_watch_round_resolves_the_name_again() -> None:
    parser = argparse.ArgumentParser()
    from poolmgr.cli import status

    status.add_parser(parser.add_subparsers())
    args = parser.parse_args(["status", "--dns", "fleet", "--watch", "1", "--iterations", "3"])
    asked: list[str] = []

    def resolve(name: str, port: int) -> Sequence[str]:
        asked.append(f"{name}:{port}")
        return []  # no pod is ready yet: nothing to connect to

    out, err = io.StringIO(), io.StringIO()
    code = status_main(args, environ={}, out=out, err=err, resolve=resolve, sleep=lambda _: None)
    assert (code, asked) == (1, ["fleet:8080"] * 3)
    assert (
        err.getvalue().splitlines()
        == ["poolmgr status: fleet:8080: the name resolves to no address"] * 3
    )
