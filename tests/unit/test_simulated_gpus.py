"""Simulated GPUs: the static inventory plus live claim files as the view (OC-GPU-9508)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from poolmgr.core.gpu_truth import GpuReading
from poolmgr.core.inventory import GpuDevice, GpuInventory, InventorySource
from poolmgr.io.simulated_gpus import (
    CLAIMS_ENV,
    SimulatedGpus,
    claim_path,
    remove_claim,
    write_claim,
)

GIB = 2**30
MIB = 2**20
ME = os.getpid()
INVENTORY = GpuInventory(
    (GpuDevice(0, "Sim A", 24 * GIB, 20 * GIB), GpuDevice(1, "Sim B", 80 * GIB, 80 * GIB))
)


@pytest.fixture
def claims(tmp_path: Path) -> Path:
    return tmp_path / "claims"


def _view(claims: Path) -> dict[int, GpuReading]:
    return {g.index: g for g in SimulatedGpus(INVENTORY, claims).read_view().gpus}


@pytest.fixture
def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    return child.pid


@pytest.fixture
def zombie_pid() -> Iterator[int]:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    # Wait for the exit without reaping it (WNOWAIT): the child stays a zombie until wait().
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
    assert psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE
    yield child.pid
    child.wait(timeout=30)


def test_the_protocol_names_its_environment_variable() -> None:
    assert CLAIMS_ENV == "POOLMGR_SIMULATED_GPU_CLAIMS"


def test_without_claims_the_view_is_the_static_inventory_labelled_simulated(claims: Path) -> None:
    view = SimulatedGpus(INVENTORY, claims).read_view()
    assert view.simulated is True
    assert (view.driver_version, view.cuda_version) == ("simulated", "simulated")
    assert view.gpus == (
        GpuReading(0, "Sim A", "SIM-GPU-0", 24 * GIB, 20 * GIB, {}),
        GpuReading(1, "Sim B", "SIM-GPU-1", 80 * GIB, 80 * GIB, {}),
    )
    assert view.inventory().source is InventorySource.STATIC


def test_a_live_claim_holds_memory_and_lowers_free_bytes(claims: Path) -> None:
    write_claim(claims, ME, {1: 256 * MIB})
    view = _view(claims)
    assert view[1].holders == {ME: 256 * MIB}
    assert view[1].free_bytes == 80 * GIB - 256 * MIB
    assert (view[0].holders, view[0].free_bytes) == ({}, 20 * GIB)


def test_a_claim_on_two_gpus_shows_on_both(claims: Path) -> None:
    write_claim(claims, ME, {0: MIB, 1: 2 * MIB})
    view = _view(claims)
    assert (view[0].holders, view[1].holders) == ({ME: MIB}, {ME: 2 * MIB})


def test_free_bytes_never_go_below_zero(claims: Path) -> None:
    write_claim(claims, ME, {0: 30 * GIB})
    assert _view(claims)[0].free_bytes == 0


def test_a_claim_on_a_gpu_the_inventory_lacks_adds_no_gpu(claims: Path) -> None:
    write_claim(claims, ME, {7: MIB})
    view = SimulatedGpus(INVENTORY, claims).read_view()
    assert [g.index for g in view.gpus] == [0, 1]
    assert all(g.holders == {} for g in view.gpus)


def test_the_claim_of_a_dead_process_is_ignored(claims: Path, dead_pid: int) -> None:
    write_claim(claims, dead_pid, {0: MIB})
    assert _view(claims)[0].holders == {}


def test_the_claim_of_a_zombie_is_ignored(claims: Path, zombie_pid: int) -> None:
    write_claim(claims, zombie_pid, {0: MIB})
    assert _view(claims)[0].holders == {}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{not json",
        "[1, 2]",
        json.dumps({"pid": str(ME), "gpus": {"0": 1}}),
        json.dumps({"pid": True, "gpus": {"0": 1}}),
        json.dumps({"pid": ME, "gpus": [0]}),
        json.dumps({"pid": ME, "gpus": {"zero": 1}}),
        json.dumps({"pid": ME, "gpus": {"0": -1}}),
        json.dumps({"pid": ME, "gpus": {"0": 1.5}}),
        json.dumps({"pid": ME, "gpus": {"0": True}}),
        json.dumps({"gpus": {"0": 1}}),
    ],
)
def test_a_garbled_claim_is_no_claim_and_never_raises(claims: Path, text: str) -> None:
    claims.mkdir()
    (claims / "99.json").write_text(text, encoding="utf-8")
    write_claim(claims, ME, {1: MIB})
    view = _view(claims)
    assert view[0].holders == {}
    assert view[1].holders == {ME: MIB}


def test_unreadable_entries_are_no_claim(claims: Path) -> None:
    claims.mkdir()
    (claims / "98.json").write_bytes(b"\xff\xfe\x00garbage")
    (claims / "97.json").mkdir()
    assert _view(claims)[0].holders == {}


def test_a_claims_path_that_is_a_file_gives_no_claims(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x", encoding="utf-8")
    assert _view(not_a_dir)[0].holders == {}


def test_write_claim_writes_the_protocol_body_and_leaves_no_temporary_file(claims: Path) -> None:
    path = write_claim(claims, ME, {1: 5, 0: 7})
    assert path == claim_path(claims, ME) == claims / f"{ME}.json"
    assert json.loads(path.read_text(encoding="utf-8")) == {"pid": ME, "gpus": {"0": 7, "1": 5}}
    assert sorted(p.name for p in claims.iterdir()) == [f"{ME}.json"]


def test_remove_claim_removes_it_and_tolerates_a_missing_one(claims: Path) -> None:
    write_claim(claims, ME, {0: 1})
    remove_claim(claims, ME)
    remove_claim(claims, ME)
    assert list(claims.iterdir()) == []
