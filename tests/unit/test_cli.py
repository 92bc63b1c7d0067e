"""The poolmgr command line, run as a real subprocess (OC-CFG-5002, OC-POOL-3002, 3017, 3023)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from harness.gguf_files import write_tiny_llama_gguf

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
