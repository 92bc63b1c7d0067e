"""Config loading and checking (OC-CFG-5001..5004, config side of OC-POOL-3017/3020/3021/3022)."""

from __future__ import annotations

import dataclasses
import json
import os
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poolmgr.cli.check_config import check_config_main
from poolmgr.config import (
    config_schema,
    default_config,
    format_path,
    load_config,
    parse_config,
    pool_config,
    read_auth_token,
    stub_faults,
)
from poolmgr.core.backoff import BackoffPolicy, Jitter
from poolmgr.core.breaker import BreakerPolicy
from poolmgr.core.config import (
    AuthConfig,
    Config,
    GpuSpec,
    ManagerConfig,
    PoolConfig,
    ProbePolicy,
    StubFaults,
)
from poolmgr.core.errors import ConfigError, ConfigProblem
from poolmgr.core.vocab import CtxPolicy, Engine
from poolmgr.io.yamlload import LOADERS, MAX_FILE_BYTES, load_yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
BAD_CONFIGS = sorted((ROOT / "tests" / "data" / "bad_configs").glob("*.yaml"))

# A small valid pool, reused by tests that build configs inline.
CPU_POOL = "{id: p, engine: stub, model: stub://p, devices: [], cpu: true}"


def _problems(text: str) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "t.yaml")
    return info.value.problems


def _by_path(problems: list[ConfigProblem]) -> dict[str, str]:
    return {p.path: p.reason for p in problems}


def _expectation(path: Path) -> tuple[str, str]:
    first = path.read_bytes().split(b"\n", 1)[0].decode("ascii")
    assert first.startswith("# expect: "), f"{path.name}: first line must be '# expect: PATH WORD'"
    field, word = first.removeprefix("# expect: ").split(" ", 1)
    return field, word


# ----------------------------------------------------------------- example and bad files


def test_examples_directory_holds_the_three_named_examples() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"single-gpu-llamacpp.yaml", "two-gpu-split.yaml", "cpu-dev.yaml"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_oc_cfg_5002_each_example_passes_check_config(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The model files are checked on a fresh copy in test_config_checks.py (OC-CFG-5006).
    pool_count = len(yaml.safe_load(path.read_text())["pools"])
    assert check_config_main(["--no-file-checks", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.strip() == f"{path}: ok ({pool_count} pool{'s' if pool_count != 1 else ''})"


def test_at_least_eighteen_bad_configs_exist() -> None:
    assert len(BAD_CONFIGS) >= 18


@pytest.mark.parametrize("path", BAD_CONFIGS, ids=lambda p: p.name)
def test_oc_cfg_5002_bad_config_exits_2_naming_field_and_reason(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    field, word = _expectation(path)
    assert check_config_main([str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    matching = [line for line in lines if line.startswith(f"{path}: {field}: ")]
    assert matching, f"no problem names {field!r}; stderr was:\n{err}"
    assert any(word.lower() in line.lower() for line in matching), err
    assert "Traceback" not in err


def test_check_config_reports_each_file_and_fails_if_any_is_bad(
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = ROOT / "examples" / "cpu-dev.yaml"
    bad = ROOT / "tests" / "data" / "bad_configs" / "unknown_engine.yaml"
    assert check_config_main(["--no-file-checks", str(good), str(bad)]) == 2
    out, err = capsys.readouterr()
    assert out.startswith(f"{good}: ok (")
    assert err.startswith(f"{bad}: pools[0].engine: ")


def test_check_config_without_a_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert check_config_main([]) == 2
    assert "usage" in capsys.readouterr().err.lower()


# ----------------------------------------------------------------- schema as source of truth


SCHEMA_FILE = ROOT / "poolmgr" / "schema" / "config.schema.json"


def test_there_is_one_schema_file_and_the_docs_link_to_it() -> None:
    found = [p for folder in ("spec", "poolmgr") for p in (ROOT / folder).rglob("*.schema.json")]
    assert found == [SCHEMA_FILE]
    assert "(../poolmgr/schema/config.schema.json)" in (ROOT / "spec" / "config.md").read_text()
    assert "spec/config.schema.json" not in (ROOT / "README.md").read_text()


def test_schema_is_valid_draft_2020_12_and_closed_everywhere() -> None:
    import jsonschema

    schema = config_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"].endswith("/draft/2020-12/schema")
    objects = [schema, *(d for d in schema["$defs"].values() if "properties" in d)]
    assert all(obj.get("additionalProperties") is False for obj in objects)


MODEL_CLASSES = [
    (BackoffPolicy, "backoff"),
    (BreakerPolicy, "breaker"),
    (ProbePolicy, "probe"),
    (StubFaults, "stub"),
    (ManagerConfig, "manager"),
    (PoolConfig, "pool"),
    (GpuSpec, "gpu"),
    (AuthConfig, "auth"),
]


def _schema_file() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


def _plain(value: object) -> object:
    """A model value in document form: enums as their values, tuples as lists."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


@pytest.mark.parametrize(("cls", "definition"), MODEL_CLASSES, ids=[d for _, d in MODEL_CLASSES])
def test_model_fields_are_the_schema_properties_and_carry_no_defaults(
    cls: type[Any], definition: str
) -> None:
    props = _schema_file()["$defs"][definition]["properties"]
    assert {f.name for f in dataclasses.fields(cls)} == set(props)
    if cls.__module__.startswith("poolmgr.core.config"):
        # One source per fact: the model has no defaults; the schema's reach it via the document.
        for field in dataclasses.fields(cls):
            assert field.default is dataclasses.MISSING, field.name
            assert field.default_factory is dataclasses.MISSING, field.name


def test_model_defaults_agree_with_the_schema_file() -> None:
    """Every field a minimal config omits takes exactly the default the schema file states."""
    defs = _schema_file()["$defs"]
    cfg = parse_config(f"pools:\n  - {CPU_POOL}\n", "t.yaml")
    pool = cfg.pool("p")
    for name, prop in defs["pool"]["properties"].items():
        if "default" not in prop or name in ("cpu", "stub"):  # cpu is set; stub is null
            continue
        value = getattr(pool, name)
        if dataclasses.is_dataclass(value):
            assert prop["default"] == {}, name
            definition = prop["$ref"].removeprefix("#/$defs/")
            for sub, sub_prop in defs[definition]["properties"].items():
                assert _plain(getattr(value, sub)) == sub_prop["default"], f"{name}.{sub}"
        else:
            assert _plain(value) == prop["default"], name
    assert pool.stub is None and defs["pool"]["properties"]["stub"]["default"] is None
    for name, prop in defs["manager"]["properties"].items():
        assert _plain(getattr(cfg.manager, name)) == prop["default"], f"manager.{name}"
    stub = stub_faults()
    for name, prop in defs["stub"]["properties"].items():
        assert getattr(stub, name) == prop["default"], f"stub.{name}"


def test_the_core_policies_own_defaults_agree_with_the_schema() -> None:
    """BackoffPolicy()/BreakerPolicy() keep library defaults; they must say what the schema says."""
    pool = default_config().pools[0]
    assert pool.backoff == BackoffPolicy()
    assert pool.breaker == BreakerPolicy()


def test_pool_config_builds_a_pool_from_the_schema_defaults() -> None:
    pool = pool_config(id="x", engine=Engine.STUB, model="stub://x", devices=(), cpu=True)
    assert pool == dataclasses.replace(default_config().pools[0], id="x", model="stub://x")
    with pytest.raises(TypeError, match="devices"):
        pool_config(id="x", engine=Engine.STUB, model="m")


def test_preload_and_quant_are_unknown_fields() -> None:
    problems = _by_path(_problems(f"pools:\n  - {CPU_POOL[:-1]}, preload: false, quant: q4}}\n"))
    assert problems["pools[0].preload"].startswith("unknown field")
    assert problems["pools[0].quant"].startswith("unknown field")


def test_oc_cfg_5001_unknown_field_is_named_with_a_suggestion() -> None:
    problems = _by_path(_problems(f"pools:\n  - {CPU_POOL[:-1]}, slotz: 2}}\n"))
    assert "pools[0].slotz" in problems
    assert "did you mean 'slots'" in problems["pools[0].slotz"]


def test_oc_cfg_5002_all_problems_are_reported_together() -> None:
    text = (
        "pools:\n"
        "  - {id: a, engine: triton, model: m, devices: [0]}\n"
        "  - {id: b, engine: stub, model: m, devices: [], cpu: true, slots: 0, port: true}\n"
    )
    paths = {p.path for p in _problems(text)}
    assert {"pools[0].engine", "pools[1].slots", "pools[1].port"} <= paths


def test_oc_cfg_5002_problems_name_the_file_and_the_line() -> None:
    problems = _problems(f"pools:\n  - {CPU_POOL}\n  - {CPU_POOL[:-1]}, ctx: -1}}\n")
    assert problems[0].file == "t.yaml"
    assert str(problems[0]).startswith("t.yaml: pools[1].ctx: must be at least 1")
    assert problems[0].reason.endswith("(line 3)")


def test_wrong_type_is_reported_once_not_with_its_bounds() -> None:
    problems = _problems(f"pools:\n  - {CPU_POOL[:-1]}, lease_ttl_ms: 1.0e+300}}\n")
    assert len(problems) == 1
    assert "expected integer" in problems[0].reason


def test_oc_cfg_5004_token_value_in_config_is_refused_without_echoing_it() -> None:
    problems = _problems(f"manager: {{auth: {{token: hunter2}}}}\npools: [{CPU_POOL}]\n")
    assert [p.path for p in problems] == ["manager.auth.token"]
    assert "hunter2" not in problems[0].reason


# ----------------------------------------------------------------- meaning beyond the schema


def test_oc_pool_3017_a_pool_without_devices_is_not_quietly_a_cpu_pool() -> None:
    problems = _by_path(_problems("pools: [{id: p, engine: stub, model: m, devices: []}]\n"))
    assert "cpu: true" in problems["pools[0].devices"]


def test_oc_pool_3022_overlapping_masks_pass_when_both_pools_are_shared() -> None:
    text = (
        "pools:\n"
        "  - {id: a, engine: llamacpp, model: m, devices: [0], shared_devices: true}\n"
        "  - {id: b, engine: llamacpp, model: m, devices: [0], shared_devices: true}\n"
    )
    assert [p.devices for p in parse_config(text, "t").pools] == [(0,), (0,)]


def test_orch_3012_placement_problem_of_second_pool_maps_to_its_index() -> None:
    text = (
        "pools:\n"
        "  - {id: a, engine: llamacpp, model: m, devices: [0]}\n"
        "  - {id: b, engine: llamacpp, model: m, devices: [1, 2], tensor_split: [0.5, 0.4]}\n"
    )
    assert "sum" in _by_path(_problems(text))["pools[1].tensor_split"]


def test_inventory_with_duplicate_gpu_index_is_refused() -> None:
    text = (
        "inventory:\n  gpus:\n"
        "    - {index: 0, name: a, total_bytes: 10, free_bytes: 5}\n"
        "    - {index: 0, name: b, total_bytes: 10, free_bytes: 5}\n"
        f"pools: [{CPU_POOL}]\n"
    )
    assert "duplicate GPU index 0" in _by_path(_problems(text))["inventory.gpus[1].index"]


def test_breaker_max_cooldown_below_cooldown_is_refused() -> None:
    text = f"pools:\n  - {CPU_POOL[:-1]}, breaker: {{cooldown_ms: 5000, max_cooldown_ms: 10}}}}\n"
    assert "cooldown_ms" in _by_path(_problems(text))["pools[0].breaker.max_cooldown_ms"]


# ----------------------------------------------------------------- typed values


def test_two_gpu_example_becomes_typed_values() -> None:
    cfg = load_config(ROOT / "examples" / "two-gpu-split.yaml")
    big = cfg.pool("big-chat")
    assert big.engine is Engine.LLAMACPP
    assert big.devices == (0, 1)
    assert big.tensor_split == (0.75, 0.25)
    assert big.ctx_policy is CtxPolicy.REJECT
    assert big.port == 9101
    assert big.model == str(ROOT / "examples" / "models" / "tiny.gguf")  # from the file's folder
    assert cfg.manager.auth == AuthConfig(token_env=None, token_file="/etc/poolmgr/token")
    assert cfg.inventory is not None and all(isinstance(g, GpuSpec) for g in cfg.inventory)
    inventory = cfg.gpu_inventory()
    assert inventory is not None and inventory.indices() == frozenset({0, 1, 2})
    assert cfg.source.endswith("two-gpu-split.yaml")


def test_omitted_fields_take_the_schema_defaults() -> None:
    cfg = load_config(ROOT / "examples" / "cpu-dev.yaml")
    llama = cfg.pool("dev-llama")
    defaults = config_schema()["$defs"]["backoff"]["properties"]
    assert llama.backoff.initial_ms == 100
    assert llama.backoff.jitter is Jitter.NONE
    assert llama.backoff.multiplier == defaults["multiplier"]["default"]
    assert llama.stub is None
    stub = cfg.pool("dev-stub").stub
    assert stub is not None and stub.preload_delay_ms == 50 and stub.fail_preload is None
    assert cfg.inventory is None and cfg.gpu_inventory() is None


def test_backoff_and_breaker_are_the_core_policy_objects() -> None:
    pool = load_config(ROOT / "examples" / "single-gpu-llamacpp.yaml").pool("chat")
    assert pool.backoff == BackoffPolicy(1000, 300000, 2.0, 600000, Jitter.FULL)
    assert isinstance(pool.breaker, BreakerPolicy)
    assert pool.breaker.failure_threshold == 5


def test_mask_request_carries_the_pool_placement_fields() -> None:
    pool = load_config(ROOT / "examples" / "two-gpu-split.yaml").pool("big-chat")
    request = pool.mask_request()
    assert (request.pool_id, request.devices, request.tensor_split, request.cpu) == (
        "big-chat",
        (0, 1),
        (0.75, 0.25),
        False,
    )


def test_unknown_pool_lookup_raises_key_error() -> None:
    with pytest.raises(KeyError):
        default_config().pool("gamma")


def test_default_config_is_two_stub_cpu_pools_with_four_slots() -> None:
    cfg = default_config()
    assert [p.id for p in cfg.pools] == ["alpha", "beta"]
    for pool in cfg.pools:
        assert (pool.engine, pool.cpu, pool.devices, pool.slots) == (Engine.STUB, True, (), 4)
    assert cfg.inventory is None


def test_config_values_are_frozen() -> None:
    cfg = default_config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.pools[0].slots = 8  # type: ignore[misc]
    assert isinstance(cfg, Config)


# ----------------------------------------------------------------- files


def test_missing_file_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        load_config("/nonexistent/poolmgr.yaml")
    assert str(info.value) == "/nonexistent/poolmgr.yaml: <root>: file not found"


def test_directory_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert "directory" in info.value.problems[0].reason


def test_oc_cfg_5003_file_over_one_mebibyte_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "1 MiB" in info.value.problems[0].reason


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + f"pools: [{CPU_POOL}]\n".encode())
    assert load_config(path).pools[0].id == "p"


# ----------------------------------------------------------------- hostile YAML, both loaders


@pytest.mark.parametrize("loader", LOADERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    ("text", "word"),
    [
        (
            "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n"
                for p, c in zip("abcd", "bcde", strict=True)
            )
            + "f: [*e, *e]\n",
            "alias bomb",
        ),
        ("pools: " + "[" * 40 + "]" * 40 + "\n", "nesting"),
        ("pools: &p [*p]\n", "recursive"),
        ("pools: []\npools: []\n", "duplicate"),
        ("pools: \x07\n", "character"),
        ("pools: [\n", "line"),
    ],
    ids=["alias-bomb", "deep", "recursive", "duplicate-key", "control-char", "syntax"],
)
def test_oc_cfg_5003_both_yaml_loaders_refuse_hostile_yaml(
    loader: type[Any], text: str, word: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_yaml(text, "t.yaml", loader)
    assert word in str(info.value)


@pytest.mark.parametrize("loader", LOADERS, ids=lambda c: c.__name__)
def test_a_few_anchors_and_merge_keys_are_fine(loader: type[Any]) -> None:
    text = (
        "pools:\n"
        "  - &base {id: a, engine: stub, model: m, devices: [], cpu: true}\n"
        "  - {<<: *base, id: b}\n"
    )
    data, _ = load_yaml(text, "t.yaml", loader)
    assert data == {
        "pools": [
            {"id": "a", "engine": "stub", "model": "m", "devices": [], "cpu": True},
            {"id": "b", "engine": "stub", "model": "m", "devices": [], "cpu": True},
        ]
    }


def test_oc_cfg_5003_custom_tags_are_refused() -> None:
    problems = _problems("pools: !!python/object/apply:os.getcwd []\n")
    assert "constructor" in problems[0].reason


def test_oc_cfg_5003_number_with_thousands_of_digits_is_a_config_error() -> None:
    problems = _problems(f"pools:\n  - {CPU_POOL[:-1]}, ctx: {'7' * 5000}}}\n")
    assert "too many digits" in problems[0].reason


def _example_text() -> str:
    return (ROOT / "examples" / "two-gpu-split.yaml").read_text()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_oc_cfg_5003_arbitrary_text_never_raises_anything_but_config_error(text: str) -> None:
    try:
        parse_config(text, "fuzz.yaml")
    except ConfigError as exc:
        assert exc.problems and all(p.file == "fuzz.yaml" for p in exc.problems)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_oc_cfg_5003_mutated_example_never_raises_anything_but_config_error(
    data: st.DataObject,
) -> None:
    text = _example_text()
    at = data.draw(st.integers(0, len(text)))
    cut = data.draw(st.integers(0, 8))
    insert = data.draw(st.sampled_from(["", "-", ":", "[", "]", "{", "&a", "*a", " ", "\n", "1e9"]))
    try:
        parse_config(text[:at] + insert + text[at + cut :], "m.yaml")
    except ConfigError as exc:
        assert exc.problems


# ----------------------------------------------------------------- auth token


def _auth_config(auth: str, tmp_path: Path) -> Config:
    path = tmp_path / "c.yaml"
    path.write_text(f"manager: {{auth: {auth}}}\npools: [{CPU_POOL}]\n")
    return load_config(path)


def test_oc_cfg_5004_token_is_read_from_the_named_variable(tmp_path: Path) -> None:
    cfg = _auth_config("{token_env: PM_TOKEN}", tmp_path)
    assert read_auth_token(cfg, {"PM_TOKEN": " abc \n"}) == "abc"


def test_oc_cfg_5004_unset_token_variable_is_a_config_error_naming_the_field(
    tmp_path: Path,
) -> None:
    cfg = _auth_config("{token_env: PM_TOKEN}", tmp_path)
    with pytest.raises(ConfigError) as info:
        read_auth_token(cfg, {})
    assert info.value.problems[0].path == "manager.auth.token_env"


def test_oc_cfg_5004_token_is_read_from_the_named_file(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    cfg = _auth_config(json.dumps({"token_file": str(token)}), tmp_path)
    assert read_auth_token(cfg, {}) == "s3cret"


def test_oc_cfg_5004_empty_token_file_is_refused_without_leaking(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("   \n")
    cfg = _auth_config(json.dumps({"token_file": str(token)}), tmp_path)
    with pytest.raises(ConfigError) as info:
        read_auth_token(cfg, {})
    assert info.value.problems[0].path == "manager.auth.token_file"
    assert "empty" in info.value.problems[0].reason


def test_no_auth_section_means_no_token() -> None:
    assert read_auth_token(default_config(), {"POOLMGR_TOKEN": "x"}) is None


# ----------------------------------------------------------------- paths


def test_format_path_writes_indices_in_brackets_and_odd_keys_quoted() -> None:
    assert format_path(("pools", 1, "tensor_split", 0)) == "pools[1].tensor_split[0]"
    assert format_path(("pools", 0, "a b")) == "pools[0]['a b']"
    assert format_path(()) == ""


def test_load_config_accepts_str_and_pathlike_alike() -> None:
    path = ROOT / "examples" / "cpu-dev.yaml"
    assert load_config(os.fspath(path)).pools == load_config(path).pools
