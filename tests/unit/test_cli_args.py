"""Command-line arguments refused where they are parsed, in one line, exit 2 (OC-CTL-4027)."""

from __future__ import annotations

import argparse

import pytest

from poolmgr.cli import main
from poolmgr.cli.args import (
    env_name,
    listen_host,
    manager_url,
    port,
    positive_int,
    positive_seconds,
)


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("8080", 8080), ("65535", 65535)])
def test_oc_ctl_4027_ports_in_range_are_taken(text: str, value: int) -> None:
    assert port(text) == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("65536", "port must be 0..65535, got 65536"),
        ("-1", "port must be 0..65535, got -1"),
        ("http", "not a port number: 'http'"),
    ],
)
def test_oc_ctl_4027_ports_out_of_range_are_refused(text: str, reason: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=f"^{reason}$"):
        port(text)


@pytest.mark.parametrize("text", ["127.0.0.1", "::1", "0.0.0.0", "localhost", "pool-1.example."])
def test_oc_ctl_4027_hosts(text: str) -> None:
    assert listen_host(text) == text


@pytest.mark.parametrize("text", ["", "bad host", "-lead.example", "a..b", "x" * 64])
def test_oc_ctl_4027_bad_hosts_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not an IP address or host name"):
        listen_host(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("https://pools.example/", "https://pools.example"),
        ("http://[::1]:9000/prefix", "http://[::1]:9000/prefix"),
    ],
)
def test_oc_ctl_4027_manager_urls(text: str, value: str) -> None:
    assert manager_url(text) == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("127.0.0.1:8080", "not an http(s) URL with a host"),
        ("ftp://host", "not an http(s) URL with a host"),
        ("http://host:99999", "port must be 0..65535"),
        ("http://host:0", "port 0 cannot be reached"),
        ("http://host/?x=1", "takes no query or fragment"),
    ],
)
def test_oc_ctl_4027_bad_manager_urls_are_refused(text: str, reason: str) -> None:
    with pytest.raises(
        argparse.ArgumentTypeError, match=reason.replace("(", r"\(").replace(")", r"\)")
    ):
        manager_url(text)


@pytest.mark.parametrize("text", ["0", "-2", "nan", "inf", "soon"])
def test_oc_ctl_4027_seconds_must_be_finite_and_positive(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        positive_seconds(text)
    assert positive_seconds("0.25") == 0.25


@pytest.mark.parametrize("text", ["0", "-1", "1.5", "many"])
def test_oc_ctl_4027_counts_must_be_whole_and_positive(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        positive_int(text)
    assert positive_int("3") == 3


@pytest.mark.parametrize("text", ["", "1X", "A-B", "A B"])
def test_oc_ctl_4027_variable_names(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not an environment variable name"):
        env_name(text)
    assert env_name("POOLMGR_TOKEN") == "POOLMGR_TOKEN"


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["serve", "--port", "99999"],
            "poolmgr serve: argument --port: port must be 0..65535, got 99999",
        ),
        (
            ["serve", "--host", "a b"],
            "poolmgr serve: argument --host: not an IP address or host name: 'a b'",
        ),
        (
            ["status", "--watch", "0"],
            "poolmgr status: argument --watch: seconds must be a finite number > 0, got 0",
        ),
    ],
)
def test_oc_ctl_4027_main_refuses_in_one_line_with_status_2(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", line + "\n")


def test_oc_ctl_4027_an_unknown_subcommand_is_one_line_with_status_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["nosuch"])
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("poolmgr: argument command: invalid choice")


def test_oc_ctl_4027_a_missing_config_file_is_one_line_with_status_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plan", "--config", "/nonexistent/pools.yaml"]) == 2
    assert capsys.readouterr().err == "/nonexistent/pools.yaml: <root>: file not found\n"
