"""Where engines listen and what lease answers name (OC-DEP-8018), beyond the scenarios."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from poolmgr.config import parse_config
from poolmgr.core.errors import ConfigError
from poolmgr.serve import Manager

POOL = '  - {id: a, engine: stub, model: "stub://a", devices: [], cpu: true}\n'


def _config(manager: str) -> str:
    return f"manager: {manager}\npools:\n{POOL}"


@pytest.mark.parametrize("wildcard", ["0.0.0.0", "'::'"])
def test_oc_dep_8018_a_wildcard_engine_host_needs_an_advertised_host(
    wildcard: str, tmp_path: Path
) -> None:
    config = parse_config(_config(f"{{engine_host: {wildcard}, log_dir: {tmp_path}}}"), "c.yaml")
    with pytest.raises(ConfigError) as caught:
        Manager(config, log_dir=tmp_path)
    [problem] = caught.value.problems
    assert str(problem).startswith("c.yaml: manager.engine_advertise_host: engine_host ")


@pytest.mark.parametrize(
    ("manager", "advertise", "want"),
    [
        ("{}", None, "127.0.0.1"),
        ("{engine_host: 0.0.0.0, engine_advertise_host: pod.example}", None, "pod.example"),
        ("{engine_host: 0.0.0.0, engine_advertise_host: pod.example}", "10.1.2.3", "10.1.2.3"),
        ("{engine_host: 0.0.0.0}", "10.1.2.3", "10.1.2.3"),
        ("{engine_host: '::'}", "fd00::7", "fd00::7"),
        ("{engine_host: 127.0.0.5}", None, "127.0.0.5"),
    ],
)
def test_oc_dep_8018_the_advertised_host_flag_then_config_then_engine_host(
    manager: str, advertise: str | None, want: str, tmp_path: Path
) -> None:
    config = parse_config(_config(manager), "c.yaml")
    built = Manager(config, advertise_host=advertise, log_dir=tmp_path)
    assert built.supervisor.advertise_host == want


def test_oc_dep_8018_serve_refuses_a_wildcard_without_advertise_in_one_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(_config(f"{{engine_host: 0.0.0.0, port: 0, log_dir: {tmp_path}}}"))
    done = subprocess.run(
        [sys.executable, "-m", "poolmgr", "serve", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"{path}: manager.engine_advertise_host: engine_host 0.0.0.0 is a wildcard address: "
        "set engine_advertise_host or pass serve --advertise-host (the host clients reach the "
        "engines at)"
    ]
    assert done.stdout == ""


@pytest.mark.parametrize("bad", ["$(POD_IP)", "not a host", ""])
def test_oc_dep_8018_an_unexpanded_or_bad_advertise_host_is_a_usage_error(bad: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "poolmgr", "serve", "--advertise-host", bad],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert "--advertise-host" in line and "Traceback" not in done.stderr
