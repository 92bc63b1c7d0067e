"""The poolmgr command line, run as a real subprocess (OC-CFG-5002, OC-POOL-3002, 3017, 3023,
3070..3072): the plan's argv and environment are compared with those of the engines a real
supervisor starts, read back from ``/proc``."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from harness.gguf_files import write_tiny_llama_gguf
from poolmgr.config import load_config
from poolmgr.core.config import Config
from poolmgr.runtime.supervisor import Supervisor, build_live_registry
from tests.llama import needs_llama_server

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "poolmgr", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_oc_cfg_5006_every_example_passes_check_config_on_a_fresh_copy(tmp_path: Path) -> None:
    """A fresh clone: the examples without their model, then the command their comment names."""
    shutil.copytree(
        ROOT / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("models")
    )
    examples = sorted(str(p) for p in (tmp_path / "examples").glob("*.yaml"))
    assert len(examples) == 3
    before = run("check-config", *examples)
    assert before.returncode == 2
    assert before.stderr.count(": model file ") == 3, before.stderr
    commands = {
        line.split("poolmgr ", 1)[1].strip()
        for path in examples
        for line in Path(path).read_text().splitlines()
        if line.startswith("#") and "poolmgr make-tiny-model" in line
    }
    assert commands == {"make-tiny-model examples/models/tiny.gguf"}
    made = run(*commands.pop().split(), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    ok = run("check-config", *examples)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.count(": ok (") == 3


def test_oc_cfg_5002_check_config_refuses_a_bad_file() -> None:
    bad = run("check-config", "tests/data/bad_configs/unknown_engine.yaml")
    assert bad.returncode == 2
    assert "pools[0].engine" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_oc_pool_3017_plan_of_embedded_default_marks_cpu_pools() -> None:
    out = run("plan", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    pools = {p["pool_id"]: p for p in doc["pools"]}
    assert sorted(pools) == ["alpha", "beta"]
    for pool in pools.values():
        assert pool["plan"]["cpu"] is True
        assert pool["plan"]["env"]["CUDA_VISIBLE_DEVICES"] == ""


def write_config(tmp_path: Path, model: Path, free_bytes: int, ctx: int) -> Path:
    config = tmp_path / "pool.yaml"
    config.write_text(
        "inventory:\n"
        "  gpus:\n"
        f"    - {{index: 0, name: small, total_bytes: {free_bytes}, free_bytes: {free_bytes}}}\n"
        "pools:\n"
        "  - id: tiny\n"
        "    engine: llamacpp\n"
        f"    model: {model}\n"
        "    devices: [0]\n"
        f"    ctx: {ctx}\n",
        encoding="utf-8",
    )
    return config


def test_oc_pool_3023_plan_caps_context_at_training_context_of_real_gguf(tmp_path: Path) -> None:
    model = write_tiny_llama_gguf(tmp_path / "tiny.gguf", ctx=2048)
    config = write_config(tmp_path, model, free_bytes=8 * 2**30, ctx=131072)
    out = run("plan", "--config", str(config), "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    pool = json.loads(out.stdout)["pools"][0]
    assert pool["plan"]["ctx"] == 2048
    assert pool["plan"]["ctx_requested"] == 131072
    assert "training context" in pool["plan"]["ctx_capped_reason"]
    assert pool["preflight"]["fits"] is True
    assert "-ngl" in pool["plan"]["engine_flags"]


def test_oc_pool_3002_plan_reports_vram_shortfall_and_exits_1(tmp_path: Path) -> None:
    model = write_tiny_llama_gguf(tmp_path / "tiny.gguf", ctx=2048)
    config = write_config(tmp_path, model, free_bytes=64 * 2**20, ctx=2048)
    out = run("plan", "--config", str(config), "--json")
    assert out.returncode == 1, out.stdout + out.stderr
    pool = json.loads(out.stdout)["pools"][0]
    assert pool["preflight"]["fits"] is False
    assert pool["preflight"]["cause"] == "vram_insufficient"
    assert pool["preflight"]["devices"][0]["shortfall_bytes"] > 0


def test_oc_cfg_5007_plan_reads_a_relative_model_from_the_config_files_folder(
    tmp_path: Path,
) -> None:
    (tmp_path / "conf" / "models").mkdir(parents=True)
    write_tiny_llama_gguf(tmp_path / "conf" / "models" / "tiny.gguf", ctx=2048)
    config = write_config(tmp_path / "conf", Path("models/tiny.gguf"), 8 * 2**30, ctx=131072)
    out = run("plan", "--config", str(config), "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    pool = json.loads(out.stdout)["pools"][0]
    assert pool["plan"]["ctx"] == 2048  # capped: the file was read, from conf/, not the cwd
    assert run("check-config", str(config), cwd=tmp_path).returncode == 0


def test_oc_cfg_5009_serve_refuses_engine_args_poolmgr_owns(tmp_path: Path) -> None:
    config = tmp_path / "pools.yaml"
    config.write_text(
        "pools:\n"
        "  - {id: a, engine: stub, model: 'stub://a', devices: [], cpu: true, slots: 2,\n"
        "     engine_args: ['--slots', '4']}\n",
        encoding="utf-8",
    )
    out = run("serve", "--config", str(config), "--port", "0", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        f'{config}: pools[0].engine_args[0]: "--slots" is set by poolmgr from slots; use slots '
        "(line 3)"
    ]


# --------------------------------------------------------------------------- plan = what runs


def _engine_proc(pid: int) -> tuple[list[str], dict[str, str]]:
    """The argv and environment of a running process, as the kernel holds them."""
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    env = {}
    for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            env[key.decode()] = value.decode()
    return [a.decode() for a in argv], env


async def _launch_and_read(config: Config, log_dir: Path) -> dict[str, Any]:
    """Start the supervisor on ``config``; each pool's engine argv, env, slots and snapshot."""
    registry = build_live_registry(config, random.Random(1))
    supervisor = Supervisor(config, registry, log_dir=log_dir, tick_interval_s=0.01)
    await supervisor.start()
    seen: dict[str, Any] = {}
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30.0
        for pool in config.pools:
            while not registry.snapshot(pool.id).ready:
                assert loop.time() < deadline, (
                    f"pool {pool.id} not ready: {registry.snapshot(pool.id)}"
                )
                await asyncio.sleep(0.02)
            pid, url = supervisor.engine_pid(pool.id), supervisor.engine_url(pool.id)
            assert pid is not None and url is not None
            argv, env = _engine_proc(pid)
            slots = await asyncio.to_thread(requests.get, f"{url}/slots", timeout=5)
            seen[pool.id] = (argv, env, slots.json(), registry.snapshot(pool.id), url)
    finally:
        await supervisor.stop(deadline_ms=0)
    return seen


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads /proc")
@needs_llama_server
def test_oc_pool_3072_plan_shows_the_argv_and_env_the_supervisor_executes(tmp_path: Path) -> None:
    model = write_tiny_llama_gguf(tmp_path / "tiny.gguf")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        fixed_port = sock.getsockname()[1]
    pools = [
        {
            "id": "stubby",
            "engine": "stub",
            "model": "stub://stubby",
            "devices": [],
            "cpu": True,
            "slots": 2,
            "ctx": 1024,
            "engine_args": ["--version", "stub-pinned-1"],
            "probe": {"starting_interval_ms": 10, "ready_interval_ms": 50},
        },
        {
            "id": "tiny",
            "engine": "llamacpp",
            "model": str(model),
            "devices": [],
            "cpu": True,
            "slots": 2,
            "ctx": 256,  # llama.cpp pads a slot's context to a multiple of 256
            "port": fixed_port,
            "engine_args": ["--threads", "1"],
            "probe": {"starting_interval_ms": 10, "ready_interval_ms": 50},
        },
    ]
    path = tmp_path / "pools.yaml"
    path.write_text(yaml.safe_dump({"pools": pools}, sort_keys=False))
    out = run("plan", "--config", str(path), "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    planned = {p["pool_id"]: p for p in json.loads(out.stdout)["pools"]}
    text = run("plan", "--config", str(path))
    assert "ctx 1024 per slot \u00d7 2 slots = 2048 total" in text.stdout, text.stdout
    assert "port: picked at launch" in text.stdout

    seen = asyncio.run(_launch_and_read(load_config(str(path)), tmp_path / "logs"))

    # The stub's port is picked at launch: the plan says so; everything else is equal.
    launch = planned["stubby"]["launch"]
    argv, env, slots, snap, url = seen["stubby"]
    assert launch["port"] is None and launch["port_picked_at_launch"] is True
    i = launch["argv"].index("--port")
    assert launch["argv"][i + 1] == "<picked at launch>"
    assert argv[: i + 1] + argv[i + 2 :] == launch["argv"][: i + 1] + launch["argv"][i + 2 :]
    assert url.endswith(f":{argv[i + 1]}")
    assert {k: env[k] for k in launch["env"]} == launch["env"]
    assert argv[-2:] == ["--version", "stub-pinned-1"]  # engine_args, last, as planned
    # ctx is per slot: the engine holds 2 x 1024 and gives each slot 1024 (OC-POOL-3070/3071).
    assert [s["n_ctx"] for s in slots] == [1024, 1024]
    assert (snap.ctx_per_slot, snap.ctx_total) == (1024, 2048)

    # llama-server on a fixed port: the whole argv is the plan's, to the byte.
    launch = planned["tiny"]["launch"]
    argv, env, slots, snap, _ = seen["tiny"]
    assert launch["port"] == fixed_port
    assert argv == launch["argv"]
    assert {k: env[k] for k in launch["env"]} == launch["env"]
    assert argv[argv.index("-np") + 1] == "2" and argv[argv.index("-c") + 1] == "512"
    assert [s["n_ctx"] for s in slots] == [256, 256]
    assert (snap.ctx_per_slot, snap.ctx_total) == (256, 512)
