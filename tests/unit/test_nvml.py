"""The NVML view read through the recorded NVML double (OC-GPU-9501).

Each recording in ``tests/data/nvml/`` is an NVML host as ``bench/gpu/record_nvml.py`` writes
it (hand-written in that format until a GPU run replaces them; ``library_absent.json`` is a
real recording of this kind of machine). ``harness/nvml_double.py`` answers ``read_view``'s
calls from it, raising the real ``pynvml`` errors. The recorder itself is checked here too:
its refusal without NVML, and that it writes back exactly the recordings the double answers
from (so the hand-written files are in the recorder's format).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pynvml
import pytest

from harness.nvml_double import NvmlDouble, RecordingGap, load_double
from poolmgr.core.gpu_truth import GpuReading, GpuView
from poolmgr.io.nvml import read_view

MIB = 2**20
H100_TOTAL = 81559 * MIB
RESERVED = 519 * MIB
H100 = "NVIDIA H100 80GB HBM3"
UUID0 = "GPU-1f0e3c6a-52b7-4d8e-9a31-7c2b5e8d4f60"
UUID1 = "GPU-8b2d4e6f-0a1c-4e3b-b5d7-9f1e3a5c7b92"
ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "nvml"
RECORDER = ROOT / "bench" / "gpu" / "record_nvml.py"
RECORDINGS = sorted(p.stem for p in DATA.glob("*.json"))
INIT_FAILS = {"init_fails", "library_absent"}


@pytest.fixture
def nvml(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[NvmlDouble]:
    """The double for the recording named by the test's parameter, installed as ``pynvml``."""
    double = load_double(DATA / f"{request.param}.json")
    monkeypatch.setitem(sys.modules, "pynvml", double.module)
    yield double


def recording(name: str) -> Any:
    return pytest.mark.parametrize("nvml", [name], indirect=True)


def _view() -> GpuView:
    view = read_view()
    assert view is not None
    return view


# --- what read_view reads -------------------------------------------------------------------------


@recording("one_gpu_engine")
def test_one_gpu_reads_every_field_and_the_engine_holding_566_mib(nvml: NvmlDouble) -> None:
    view = _view()
    assert view.gpus == (
        GpuReading(
            index=0,
            name=H100,
            uuid=UUID0,
            total_bytes=H100_TOTAL,
            free_bytes=H100_TOTAL - RESERVED - 566 * MIB,
            holders={4242: 566 * MIB},
        ),
    )
    assert (view.driver_version, view.cuda_version, view.simulated) == ("550.54.15", "12.4", False)
    assert (nvml.init_calls, nvml.shutdown_calls, nvml.gaps) == (1, 1, [])


@recording("two_gpus")
def test_two_gpus_are_read_in_index_order_with_their_own_uuids(nvml: NvmlDouble) -> None:
    view = _view()
    assert [(g.index, g.uuid) for g in view.gpus] == [(0, UUID0), (1, UUID1)]
    assert view.gpus[0].holders == {4242: 566 * MIB}
    assert view.gpus[1].free_bytes == H100_TOTAL - RESERVED - 300 * MIB


@recording("two_gpus")
def test_a_process_in_both_context_lists_is_counted_once(nvml: NvmlDouble) -> None:
    """NVML gives one per-process figure in each list; adding them would double it."""
    assert _view().gpus[1].holders == {6001: 300 * MIB}


@recording("names_as_bytes")
def test_bytes_from_an_old_pynvml_become_text(nvml: NvmlDouble) -> None:
    view = _view()
    assert (view.gpus[0].name, view.gpus[0].uuid, view.driver_version) == (
        H100,
        UUID0,
        "550.54.15",
    )


@recording("processes_not_supported")
def test_a_gpu_whose_process_list_is_not_supported_stays_listed_with_holders_unknown(
    nvml: NvmlDouble,
) -> None:
    view = _view()
    assert [(g.index, g.name) for g in view.gpus] == [(0, H100), (1, "NVIDIA A10")]
    assert view.gpus[0].holders == {4242: 566 * MIB}
    assert view.gpus[1].holders is None


@recording("used_memory_none")
def test_a_holder_whose_bytes_nvml_cannot_say_is_kept_with_none(nvml: NvmlDouble) -> None:
    assert _view().gpus[0].holders == {4242: None}


@recording("old_driver")
def test_a_driver_without_the_cuda_version_call_gives_an_unknown_cuda_version(
    nvml: NvmlDouble,
) -> None:
    view = _view()
    assert (view.driver_version, view.cuda_version) == ("470.256.02", "unknown")
    assert view.gpus[0].holders == {}


@recording("init_fails")
def test_no_view_when_the_driver_is_not_loaded(nvml: NvmlDouble) -> None:
    assert read_view() is None
    assert (nvml.init_calls, nvml.shutdown_calls) == (1, 0)


@recording("library_absent")
def test_no_view_when_libnvidia_ml_is_absent(nvml: NvmlDouble) -> None:
    assert read_view() is None


@recording("gpu_lost")
def test_a_gpu_lost_mid_query_gives_no_view_never_a_partial_list(nvml: NvmlDouble) -> None:
    assert read_view() is None
    assert "nvmlDeviceGetMemoryInfo" in nvml.calls
    assert nvml.shutdown_calls == 1 and not nvml.initialised


@pytest.mark.parametrize("nvml", RECORDINGS, indirect=True)
def test_read_view_never_raises_and_shuts_nvml_down_after_a_successful_init(
    nvml: NvmlDouble,
) -> None:
    view = read_view()
    assert nvml.gaps == []
    assert nvml.shutdown_calls == (0 if nvml.recording["calls"]["nvmlInit"].get("raises") else 1)
    assert not nvml.initialised
    assert (
        view is None or len(view.gpus) == nvml.recording["calls"]["nvmlDeviceGetCount"]["returns"]
    )


def test_no_view_without_the_pynvml_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # `import pynvml` raises ImportError
    assert read_view() is None


def test_a_usage_figure_of_not_available_from_an_old_pynvml_is_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """NVML marks a figure it lacks with NVML_VALUE_NOT_AVAILABLE (2**64 - 1).

    nvidia-ml-py turns it into ``None``; a binding that passes it through must not make the
    engine look like it holds 16 EiB.
    """
    double = load_double(DATA / "used_memory_none.json")
    answer = double.recording["devices"][0]["nvmlDeviceGetComputeRunningProcesses"]
    answer["returns"][0]["usedGpuMemory"] = 2**64 - 1
    monkeypatch.setitem(sys.modules, "pynvml", double.module)
    assert _view().gpus[0].holders == {4242: None}


# --- the double -----------------------------------------------------------------------------------


def test_the_double_raises_the_real_pynvml_error_for_a_recorded_failure() -> None:
    module: Any = load_double(DATA / "gpu_lost.json").module
    module.nvmlInit()
    handle = module.nvmlDeviceGetHandleByIndex(1)
    with pytest.raises(pynvml.NVMLError_GpuIsLost):
        module.nvmlDeviceGetMemoryInfo(handle)


def test_the_double_refuses_calls_before_init_like_the_library() -> None:
    module: Any = load_double(DATA / "one_gpu_engine.json").module
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        module.nvmlDeviceGetCount()


def test_the_double_names_a_call_its_recording_lacks() -> None:
    double = load_double(DATA / "one_gpu_engine.json")
    del double.recording["devices"][0]["nvmlDeviceGetName"]
    module: Any = double.module
    module.nvmlInit()
    with pytest.raises(RecordingGap, match="no answer for nvmlDeviceGetName"):
        module.nvmlDeviceGetName(module.nvmlDeviceGetHandleByIndex(0))
    assert double.gaps == ["nvmlDeviceGetName"]


def test_the_double_refuses_a_file_that_is_not_a_recording(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"gpus": []}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"other\.json: not an NVML recording"):
        load_double(path)


# --- the recorder ---------------------------------------------------------------------------------


def _recorder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("record_nvml", RECORDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", sorted(set(RECORDINGS) - INIT_FAILS))
def test_the_recorder_writes_back_each_recording_the_double_answers_from(name: str) -> None:
    """The hand-written recordings are exactly in the format record_nvml.py writes."""
    double = load_double(DATA / f"{name}.json")
    module: Any = double.module
    module.nvmlInit()
    recorded = _recorder().record(module)
    assert recorded == {"calls": double.recording["calls"], "devices": double.recording["devices"]}


def _run_recorder(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``bench/gpu/record_nvml.py ARGS`` as a user runs it (bounded)."""
    return subprocess.run(
        [sys.executable, str(RECORDER), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_the_recorder_refuses_clearly_where_nvml_is_absent(tmp_path: Path) -> None:
    out = tmp_path / "nvml.json"
    done = _run_recorder(str(out))
    if done.returncode == 0:
        pytest.skip("NVML is present on this host: the refusal cannot be shown here")
    assert done.returncode == 2
    assert "record_nvml: NVML is absent" in done.stderr
    assert "Traceback" not in done.stderr
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["calls"]["nvmlInit"]["raises"]["error"].startswith("NVMLError_")
    assert written["devices"] == []


def test_the_recorder_explains_itself_with_help() -> None:
    done = _run_recorder("--help")
    assert done.returncode == 0
    assert "Exits 2 when NVML" in done.stdout


def test_the_recorder_writes_nothing_without_pynvml(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "pynvml.py").write_text("raise ImportError('no nvidia-ml-py here')\n")
    out = tmp_path / "nvml.json"
    done = _run_recorder(str(out), env={**os.environ, "PYTHONPATH": str(shadow)})
    assert done.returncode == 2
    assert "cannot import pynvml" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


@pytest.mark.parametrize("name", RECORDINGS)
def test_every_recording_says_where_it_came_from(name: str) -> None:
    provenance = load_double(DATA / f"{name}.json").recording["provenance"]
    recorded = provenance.startswith("recorded by bench/gpu/record_nvml.py on ")
    hand_written = (
        provenance.startswith("hand-written") and "to be replaced by a real" in provenance
    )
    assert recorded or hand_written, provenance
