"""What check-config checks beyond the schema, and what the config means (#13).

Model files (OC-CFG-5005), the tiny model command (OC-CFG-5006), relative paths
(OC-CFG-5007), YAML limits by expanded values (OC-CFG-5008), engine_args that set what
poolmgr owns (OC-CFG-5009), the generated reference (OC-CFG-5010) and hints that name real
fields (OC-CFG-5011).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import pytest

from harness.gguf_files import write_tiny_llama_gguf
from poolmgr.cli import main as poolmgr_main
from poolmgr.cli.check_config import check_config_main
from poolmgr.config import config_schema, load_config, parse_config
from poolmgr.config.reference import REFERENCE_PAGE, REGENERATE, render_reference
from poolmgr.core.errors import ConfigError, ConfigProblem
from poolmgr.io.gguf import read_gguf_shape
from poolmgr.io.yamlload import LOADERS, load_yaml

ROOT = Path(__file__).resolve().parents[2]
BAD_CONFIGS = sorted((ROOT / "tests" / "data" / "bad_configs").glob("*.yaml"))


def _config(folder: Path, pool: str, name: str = "pools.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"pools:\n  - {pool}\n", encoding="utf-8")
    return path


def _llama(model: str, extra: str = "") -> str:
    return f"{{id: a, engine: llamacpp, model: {model!r}, devices: [], cpu: true{extra}}}"


def _check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], list[str]]:
    code = check_config_main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


# ----------------------------------------------------------------- model files (OC-CFG-5005)


def test_oc_cfg_5005_a_missing_model_file_is_refused_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, _llama("models/tiny.gguf"))
    code, out, err = _check(capsys, str(config))
    assert code == 2 and out == []
    assert err == [
        f"{config}: pools[0].model: model file {tmp_path}/models/tiny.gguf does not exist (line 2)"
    ]


def test_oc_cfg_5005_no_file_checks_skips_only_the_file_checks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, _llama("models/tiny.gguf"))
    assert _check(capsys, "--no-file-checks", str(config))[:2] == (0, [f"{config}: ok (1 pool)"])
    bad = _config(tmp_path, _llama("models/tiny.gguf", ", slots: 0"), "bad.yaml")
    code, _, err = _check(capsys, "--no-file-checks", str(bad))
    assert code == 2 and [line.split(": ")[1] for line in err] == ["pools[0].slots"]


def test_oc_cfg_5005_a_file_that_is_not_gguf_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.gguf").write_bytes(b"hello, world")
    config = _config(tmp_path, _llama("m.gguf"))
    code, _, err = _check(capsys, str(config))
    assert code == 2
    assert err[0].startswith(
        f"{config}: pools[0].model: model file {tmp_path}/m.gguf is not a GGUF"
    )


def test_oc_cfg_5005_a_reject_pool_asking_more_than_the_training_context_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tiny_llama_gguf(tmp_path / "m.gguf", ctx=2048)
    over = _config(tmp_path, _llama("m.gguf", ", ctx: 2049, ctx_policy: reject"), "over.yaml")
    code, _, err = _check(capsys, str(over))
    assert code == 2
    assert err == [
        f"{over}: pools[0].ctx: ctx 2049 per slot exceeds the training context 2048 of "
        f"{tmp_path}/m.gguf, and ctx_policy reject refuses it; lower ctx or use ctx_policy: cap"
        " (line 2)"
    ]
    at = _config(tmp_path, _llama("m.gguf", ", ctx: 2048, ctx_policy: reject"), "at.yaml")
    capped = _config(tmp_path, _llama("m.gguf", ", ctx: 4096, ctx_policy: cap"), "capped.yaml")
    assert _check(capsys, str(at))[0] == 0
    assert _check(capsys, str(capped))[0] == 0


def test_oc_cfg_5005_a_truncated_gguf_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tiny_llama_gguf(tmp_path / "cut.gguf", truncate_to=50_000)
    config = _config(tmp_path, _llama("cut.gguf"))
    code, _, err = _check(capsys, str(config))
    assert code == 2
    assert err[0].startswith(f"{config}: pools[0].model: ")
    assert "not a usable GGUF model" in err[0]


def test_oc_cfg_5005_a_directory_is_not_a_llamacpp_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m").mkdir()
    config = _config(tmp_path, _llama("m"))
    code, _, err = _check(capsys, str(config))
    assert code == 2 and "is a directory" in err[0]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_oc_cfg_5005_an_unreadable_model_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = write_tiny_llama_gguf(tmp_path / "m.gguf")
    model.chmod(0)
    code, _, err = _check(capsys, str(_config(tmp_path, _llama("m.gguf"))))
    assert code == 2 and "permission denied" in err[0]


def test_oc_cfg_5005_a_pinned_digest_is_checked_against_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = write_tiny_llama_gguf(tmp_path / "m.gguf")
    right = "sha256:" + hashlib.sha256(model.read_bytes()).hexdigest()
    wrong = "sha256:" + "0" * 64
    good = _config(tmp_path, _llama("m.gguf", f", model_digest: {right!r}"), "good.yaml")
    bad = _config(tmp_path, _llama("m.gguf", f", model_digest: {wrong!r}"), "bad.yaml")
    assert _check(capsys, str(good))[0] == 0
    code, _, err = _check(capsys, str(bad))
    assert code == 2
    assert err == [
        f"{bad}: pools[0].model: model file {model} has digest {right}; "
        f"model_digest pins {wrong} (line 2)"
    ]


@pytest.mark.parametrize(
    "pool",
    [
        "{id: a, engine: vllm, model: org/model, devices: [], cpu: true}",
        "{id: a, engine: tgi, model: 'https://models.example.invalid/m', devices: [], cpu: true}",
        "{id: a, engine: stub, model: 'stub://tiny', devices: [], cpu: true}",
        "{id: a, engine: llamacpp, model: 'hf://org/m.gguf', devices: [], cpu: true}",
    ],
    ids=["hub-id", "url", "stub", "scheme"],
)
def test_oc_cfg_5005_remote_references_are_not_files(
    pool: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _check(capsys, str(_config(tmp_path, pool)))[0] == 0


def test_oc_cfg_5005_vllm_paths_and_model_directories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = _config(tmp_path, "{id: a, engine: vllm, model: ./m, devices: [], cpu: true}")
    code, _, err = _check(capsys, str(missing))
    assert code == 2 and "does not exist" in err[0]
    (tmp_path / "m").mkdir()
    assert _check(capsys, str(missing))[0] == 0  # a model directory is fine for vLLM


def test_oc_cfg_5005_stub_pools_need_the_file_but_not_gguf(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, "{id: a, engine: stub, model: m.bin, devices: [], cpu: true}")
    assert _check(capsys, str(config))[0] == 2
    (tmp_path / "m.bin").write_bytes(b"anything")
    assert _check(capsys, str(config))[0] == 0


# ----------------------------------------------------------------- relative paths (OC-CFG-5007)


def test_oc_cfg_5007_relative_paths_are_from_the_config_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = tmp_path / "etc"
    (conf / "models").mkdir(parents=True)
    write_tiny_llama_gguf(conf / "models" / "t.gguf")
    (conf / "token").write_text("s3cret\n")
    path = conf / "pools.yaml"
    path.write_text(
        "manager: {auth: {token_file: token}}\n"
        "pools:\n"
        "  - {id: a, engine: llamacpp, model: models/t.gguf, devices: [], cpu: true}\n"
        "  - {id: b, engine: vllm, model: org/name, devices: [], cpu: true}\n"
        "  - {id: c, engine: vllm, model: ../etc/models, devices: [], cpu: true}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path / "..")
    config = load_config(os.path.relpath(path))
    assert [p.model for p in config.pools] == [
        str(conf / "models" / "t.gguf"),
        "org/name",
        str(conf / "models"),
    ]
    assert config.manager.auth is not None
    assert config.manager.auth.token_file == str(conf / "token")
    assert config.manager.log_dir == "./logs"  # where the manager writes: the working dir
    assert _check(capsys, os.path.relpath(path))[0] == 0


def test_oc_cfg_5007_text_without_a_folder_keeps_paths_as_written() -> None:
    config = parse_config(f"pools:\n  - {_llama('models/t.gguf')}\n", "<text>")
    assert config.pools[0].model == "models/t.gguf"


# ----------------------------------------------------------------- make-tiny-model (OC-CFG-5006)


def test_oc_cfg_5006_make_tiny_model_writes_a_gguf_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "new" / "folder" / "tiny.gguf"
    assert poolmgr_main(["make-tiny-model", str(target), "--ctx", "1024"]) == 0
    assert capsys.readouterr().out.startswith(f"{target}: wrote a tiny llama GGUF model (")
    shape = read_gguf_shape(target)
    assert (shape.train_ctx, shape.n_layers) == (1024, 2)
    assert [p.name for p in target.parent.iterdir()] == ["tiny.gguf"]  # no temp file left


def test_oc_cfg_5006_make_tiny_model_keeps_an_existing_file_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "tiny.gguf"
    target.write_bytes(b"mine")
    assert poolmgr_main(["make-tiny-model", str(target)]) == 2
    assert capsys.readouterr().err == f"{target}: already exists; pass --force to replace it\n"
    assert target.read_bytes() == b"mine"
    assert poolmgr_main(["make-tiny-model", "--force", str(target)]) == 0
    assert target.read_bytes()[:4] == b"GGUF"


@pytest.mark.parametrize("ctx", ["0", "lots", "99999999"])
def test_make_tiny_model_refuses_a_bad_ctx_with_a_usage_error(
    ctx: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        poolmgr_main(["make-tiny-model", str(tmp_path / "t.gguf"), "--ctx", ctx])
    assert info.value.code == 2
    assert "--ctx" in capsys.readouterr().err
    assert not (tmp_path / "t.gguf").exists()


def test_make_tiny_model_reports_a_path_it_cannot_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("x")
    assert poolmgr_main(["make-tiny-model", str(tmp_path / "file" / "t.gguf")]) == 2
    assert "cannot write the model" in capsys.readouterr().err


# ----------------------------------------------------------------- YAML limits (OC-CFG-5008)

TWENTY_POOLS = "x-backoff: &backoff {initial_ms: 100, max_ms: 5000, jitter: none}\n" + "".join(
    f"pool{i}: &p{i} {{id: p{i}, engine: stub, model: 'stub://m', devices: [], cpu: true, "
    f"backoff: *backoff}}\n"
    for i in range(20)
)


@pytest.mark.parametrize("loader", LOADERS, ids=lambda c: c.__name__)
def test_oc_cfg_5008_twenty_pools_sharing_one_anchor_load(loader: type[Any]) -> None:
    text = TWENTY_POOLS + "pools: [" + ", ".join(f"*p{i}" for i in range(20)) + "]\n"
    data, _ = load_yaml(text, "t.yaml", loader)
    assert isinstance(data, dict)
    assert [p["backoff"]["max_ms"] for p in data["pools"]] == [5000] * 20


def test_oc_cfg_5008_twenty_pools_sharing_one_backoff_anchor_are_a_valid_config() -> None:
    text = "pools:\n" + "".join(
        f"  - {{id: p{i}, engine: stub, model: 'stub://m', devices: [], cpu: true, "
        + (
            "backoff: &backoff {initial_ms: 100, max_ms: 5000}}\n"
            if i == 0
            else "backoff: *backoff}\n"
        )
        for i in range(20)
    )
    config = parse_config(text, "t.yaml")
    assert [p.backoff.max_ms for p in config.pools] == [5000] * 20


@pytest.mark.parametrize("loader", LOADERS, ids=lambda c: c.__name__)
def test_oc_cfg_5008_a_billion_laughs_is_refused_by_its_expanded_size(loader: type[Any]) -> None:
    levels = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    with pytest.raises(ConfigError) as info:
        load_yaml(levels + "pools: *i\n", "bomb.yaml", loader)
    assert str(info.value).startswith(
        "bomb.yaml: <root>: more than 65536 values once YAML aliases (*name) are expanded; "
        "refusing a possible alias bomb"
    )


# ----------------------------------------------------------------- owned flags (OC-CFG-5009)

OWNED = [
    # engine, engine_args, the entry refused, the field named
    ("llamacpp", ["-m", "/x.gguf"], 0, "model"),
    ("llamacpp", ["--model=/x.gguf"], 0, "model"),
    ("llamacpp", ["--host", "0.0.0.0"], 0, "the address the manager probes"),
    ("llamacpp", ["--port", "9000"], 0, "port"),
    ("llamacpp", ["--threads", "2", "-np", "4"], 2, "slots"),
    ("llamacpp", ["--parallel=4"], 0, "slots"),
    ("llamacpp", ["-c", "8192"], 0, "ctx"),
    ("llamacpp", ["--ctx-size=8192"], 0, "ctx"),
    ("llamacpp", ["-ngl", "0"], 0, "devices and cpu"),
    ("llamacpp", ["--n-gpu-layers", "99"], 0, "devices and cpu"),
    ("llamacpp", ["--gpu-layers=99"], 0, "devices and cpu"),
    ("llamacpp", ["--device", "none"], 0, "devices and cpu"),
    ("llamacpp", ["-dev", "CUDA0"], 0, "devices and cpu"),
    ("llamacpp", ["-ts", "1,1"], 0, "tensor_split"),
    ("llamacpp", ["--tensor-split=3,1"], 0, "tensor_split"),
    ("llamacpp", ["-sm", "row"], 0, "tensor_split"),
    ("vllm", ["--dtype", "half", "--model", "m"], 2, "model"),
    ("vllm", ["--port=1"], 0, "port"),
    ("vllm", ["--host", "::"], 0, "the address the manager probes"),
    ("vllm", ["--tensor-parallel-size", "2"], 0, "devices and cpu"),
    ("vllm", ["--max-model-len=8192"], 0, "ctx"),
    ("vllm", ["--max-num-seqs", "8"], 0, "slots"),
    ("tgi", ["--num-shard", "2"], 0, "devices and cpu"),
    ("tgi", ["--max-total-tokens=4096"], 0, "ctx"),
    ("tgi", ["--model-id", "m"], 0, "model"),
    ("tgi", ["--max-concurrent-requests", "3"], 0, "slots"),
    ("stub", ["--slots", "9"], 0, "slots"),
    ("stub", ["--crash-after-ms", "5"], 0, "stub"),
]


def _pool_with_args(engine: str, args: list[str]) -> str:
    model = "stub://m" if engine == "stub" else "org/m" if engine in ("vllm", "tgi") else "/m.gguf"
    quoted = ", ".join(repr(a) for a in args)
    return (
        f"pools:\n  - {{id: a, engine: {engine}, model: {model!r}, devices: [], cpu: true, "
        f"engine_args: [{quoted}]}}\n"
    )


@pytest.mark.parametrize(("engine", "args", "index", "field"), OWNED)
def test_oc_cfg_5009_engine_args_that_set_what_poolmgr_owns_are_refused(
    engine: str, args: list[str], index: int, field: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_pool_with_args(engine, args), "t.yaml")
    problems = info.value.problems
    assert [p.path for p in problems] == [f"pools[0].engine_args[{index}]"]
    flag = args[index].split("=")[0]
    assert problems[0].reason.startswith(f'"{flag}" is set by poolmgr from {field}; ')


def test_oc_cfg_5009_the_message_names_the_field_to_use() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_pool_with_args("llamacpp", ["--threads", "-np", "4"]), "t.yaml")
    assert str(info.value.problems[0]) == (
        't.yaml: pools[0].engine_args[1]: "-np" is set by poolmgr from slots; use slots (line 2)'
    )


@pytest.mark.parametrize(
    ("engine", "args"),
    [
        ("llamacpp", ["--threads", "2", "--no-webui", "--temp", "0.1", "-t", "4"]),
        ("vllm", ["--dtype", "half", "--gpu-memory-utilization", "0.9"]),
        ("tgi", ["--quantize", "awq", "--max-input-tokens", "1024"]),
        ("stub", ["--version", "stub-1"]),
    ],
)
def test_oc_cfg_5009_other_engine_args_pass(engine: str, args: list[str]) -> None:
    assert parse_config(_pool_with_args(engine, args), "t.yaml").pools[0].engine_args == tuple(args)


# ----------------------------------------------------------------- reference (OC-CFG-5010)


def _properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
    """Every (name, property, optional) of the schema, top level and every definition."""
    out = []
    for owner in [schema, *schema["$defs"].values()]:
        required = set(owner.get("required", []))
        for name, prop in owner.get("properties", {}).items():
            out.append((name, prop, name not in required))
    return out


def test_oc_cfg_5010_every_schema_property_has_a_description() -> None:
    missing = [n for n, p, _ in _properties(config_schema()) if len(p.get("description", "")) < 20]
    assert missing == []


def test_oc_cfg_5010_durations_and_byte_counts_say_their_unit() -> None:
    for name, prop, _ in _properties(config_schema()):
        if name.endswith("_ms"):
            assert "Milliseconds" in prop["description"] or "milliseconds" in prop["description"]
        if name.endswith("_bytes"):
            assert "bytes" in prop["description"], name


def test_oc_cfg_5010_every_optional_property_has_a_default_but_the_named_three() -> None:
    # inventory: absent means NVML's GPUs; token_env/token_file: exactly one is set.
    without = sorted(
        n for n, p, optional in _properties(config_schema()) if optional and "default" not in p
    )
    assert without == ["inventory", "token_env", "token_file"]


def test_oc_cfg_5010_the_committed_reference_is_what_the_schema_generates() -> None:
    committed = (ROOT / REFERENCE_PAGE).read_text(encoding="utf-8")
    assert committed == render_reference(), (
        f"{REFERENCE_PAGE} differs from the schema; regenerate it with: {REGENERATE}"
    )


def test_oc_cfg_5010_the_reference_lists_every_field_with_its_default() -> None:
    page = render_reference()
    assert "## `pools[].backoff`" in page
    assert "| `stop_grace_ms` | integer, 0 to 604800000 (7 days) | `10000` | Milliseconds" in page
    assert "| `id` | string matching `^[a-z0-9][a-z0-9_-]{0,62}$` | required |" in page
    for name, _, _ in _properties(config_schema()):
        assert f"| `{name}` |" in page, name


# ----------------------------------------------------------------- hints (OC-CFG-5011)

_FIELDISH = re.compile(r"\b([a-z]+(?:_[a-z0-9]+)+)\b|\b([a-z]\w*): (?:true|false)\b")


def _refusals(path: Path) -> list[ConfigProblem]:
    try:
        load_config(path)
    except ConfigError as exc:
        return exc.problems
    return []


def test_oc_cfg_5011_every_field_a_refusal_mentions_exists() -> None:
    fields = {name for name, _, _ in _properties(config_schema())}
    overlap = "inventory: {gpus: [{index: 0, name: g, total_bytes: 9, free_bytes: 9}]}\n"
    extra = parse_problems(
        overlap
        + "pools:\n"
        + "  - {id: a, engine: stub, model: m, devices: [0], shared_devices: true}\n"
        + "  - {id: b, engine: stub, model: m, devices: [0], engine_args: [-ngl, '0']}\n"
    )
    reasons = [p.reason for path in BAD_CONFIGS for p in _refusals(path)] + extra
    mentioned = {a or b for reason in reasons for a, b in _FIELDISH.findall(reason)}
    assert "shared_devices" in mentioned and "cpu" in mentioned
    assert sorted(mentioned - fields) == []


def parse_problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "t.yaml")
    return [p.reason for p in info.value.problems]


def test_oc_cfg_5011_the_overlapping_mask_hint_names_shared_devices() -> None:
    overlap = "inventory: {gpus: [{index: 0, name: g, total_bytes: 9, free_bytes: 9}]}\n"
    reasons = parse_problems(
        overlap
        + "pools:\n"
        + "  - {id: a, engine: stub, model: m, devices: [0]}\n"
        + "  - {id: b, engine: stub, model: m, devices: [0]}\n"
    )
    assert reasons == [
        "GPU 0 is already in the mask of pool a; two pools may hold one GPU only when both set "
        "shared_devices: true (line 4)"
    ]


GPU_POOLS = """\
inventory:
  gpus:
    - {index: 0, name: g0, total_bytes: 85899345920, free_bytes: 85899345920}
    - {index: 1, name: g1, total_bytes: 85899345920, free_bytes: 85899345920}
pools:
  - {id: l, engine: llamacpp, model: /m, devices: [0, 1], tensor_split: [0.75, 0.25],
     engine_bin: /bin/e, shared_devices: true}
  - {id: v, engine: vllm, model: /m, devices: [0, 1], tensor_split: [0.5, 0.5],
     shared_devices: true}
  - {id: t, engine: tgi, model: /m, devices: [0, 1], tensor_split: [0.5, 0.5],
     shared_devices: true}
  - {id: s, engine: stub, model: /m, devices: [0], shared_devices: true,
     stub: {preload_delay_ms: 1, fail_preload: x, crash_after_ms: 1, cuda_error_after_ms: 1,
            hang_after_ms: 1, cpu_fallback: true, silent_cpu_fallback: true,
            claim_gpus: [1]}}
  - {id: lc, engine: llamacpp, model: /m, devices: [], cpu: true, engine_bin: /bin/e}
"""


def test_the_stub_gpu_claim_knobs_are_read_with_their_defaults() -> None:
    """silent_cpu_fallback and claim_gpus (simulated GPUs, OC-GPU-9508): off unless set."""
    stubs = {p.id: p.stub for p in parse_config(GPU_POOLS, "t.yaml").pools}
    knobs = stubs["s"]
    assert knobs is not None and (knobs.silent_cpu_fallback, knobs.claim_gpus) == (True, (1,))
    bare = (
        parse_config(
            "pools:\n  - {id: b, engine: stub, model: m, devices: [], cpu: true, stub: {}}\n",
            "t.yaml",
        )
        .pools[0]
        .stub
    )
    assert bare is not None and (bare.silent_cpu_fallback, bare.claim_gpus) == (False, None)


def test_oc_cfg_5009_every_flag_an_engine_is_given_is_in_the_owned_table() -> None:
    """The table and the command lines agree: what poolmgr puts there, it owns."""
    from poolmgr.assemble import plan_pool
    from poolmgr.config.owned_flags import owned_flag
    from poolmgr.runtime.engines import adapter_for

    config = parse_config(GPU_POOLS, "t.yaml")
    for pool in config.pools:
        plan = plan_pool(pool, config.gpu_inventory(), 1 << 40).plan
        assert plan is not None
        argv = adapter_for(pool.engine).command(
            pool, plan, host="127.0.0.1", port=9, model_path=pool.model
        )
        skip = 3 if pool.engine.value == "stub" else 1  # the program (python -m module)
        flags = [a for a in argv[skip:] if a.startswith("-")]
        assert flags, argv
        assert [f for f in flags if owned_flag(pool.engine, f) is None] == [], pool.id
