"""``poolmgr plan``: each pool's launch plan and preflight verdict, without starting anything.

Shows, for every pool, the exact command the supervisor will execute: the argv from the same
builder the supervisor uses (:func:`poolmgr.runtime.engines.engine_launch`; binary, model,
host, port, slots, placement and context flags, the pool's ``engine_args``) with the values of
secret-looking flags hidden, and the environment laid over the manager's own (OC-POOL-3072).
A pool without a port gets one picked at launch, shown as such. The context is given per slot
and in total (OC-POOL-3070). Then the preflight verdict against the GPU inventory (the
config's static one, else NVML) and this host's free RAM. It says where the GPUs came from:
``simulated`` when ``manager.simulate_gpus`` is on (OC-GPU-9508: the static inventory and claim
files stand in for NVML at serve), else ``static``, ``nvml`` or ``none``. Exit 0 when every pool
fits, 1 otherwise, 2 for a bad config.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from typing import Any

import psutil

from poolmgr.assemble import PoolPlan, plan_pool
from poolmgr.config import default_config, load_config
from poolmgr.core.config import Config, PoolConfig
from poolmgr.core.errors import ConfigError
from poolmgr.core.inventory import GpuInventory
from poolmgr.core.placement import ctx_phrase
from poolmgr.core.vocab import Engine
from poolmgr.io.nvml import inventory_from_nvml
from poolmgr.runtime.engines import EngineLaunch, engine_launch
from poolmgr.telemetry.redact import redact_argv

__all__ = ["add_parser", "plan_main"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    plan = sub.add_parser("plan", help="show launch plans and preflight verdicts")
    plan.add_argument("--config", metavar="FILE", help="config file (default: embedded)")
    plan.add_argument("--json", action="store_true", help="machine-readable output")


def _launch(pool: PoolConfig, p: PoolPlan, host: str) -> EngineLaunch | str | None:
    """The command the supervisor would run, or why it cannot be built (``None``: no plan)."""
    if p.plan is None or pool.engine.is_test:  # a test engine has no command (OC-PERF-9110)
        return None
    try:
        return engine_launch(pool, p.plan, host=host, port=pool.port or None)
    except (FileNotFoundError, ValueError) as exc:
        return f"cannot build the command: {exc}"


def _launch_json(launch: EngineLaunch | str | None) -> dict[str, Any] | None:
    if not isinstance(launch, EngineLaunch):
        return None
    return {
        "argv": redact_argv(list(launch.argv)),
        "env": dict(launch.env),
        "env_over": "the manager's environment",
        "host": launch.host,
        "port": launch.port,
        "port_picked_at_launch": launch.port is None,
    }


def _plan_json(p: PoolPlan, launch: EngineLaunch | str | None) -> dict[str, Any]:
    problem = p.problem if not isinstance(launch, str) else launch
    out: dict[str, Any] = {"pool_id": p.pool_id, "problem": problem}
    if p.plan is not None:
        out["plan"] = {
            "engine": p.plan.engine,
            "test_engine": Engine(p.plan.engine).is_test,
            "cpu": p.plan.cpu,
            "visible_devices": list(p.plan.visible_devices),
            "env": dict(p.plan.env),
            "engine_flags": list(p.plan.engine_flags),
            "tensor_split": None if p.plan.tensor_split is None else list(p.plan.tensor_split),
            "slots": p.plan.slots,
            "ctx": p.plan.ctx,
            "ctx_per_slot": p.plan.ctx_per_slot,
            "ctx_total": p.plan.ctx_total,
            "ctx_requested": p.plan.ctx_requested,
            "ctx_capped_reason": p.plan.ctx_capped_reason,
        }
        out["launch"] = _launch_json(launch)
    if p.verdict is not None:
        out["preflight"] = {
            "fits": p.verdict.fits,
            "cause": None if p.verdict.cause is None else p.verdict.cause.value,
            "message": p.verdict.message,
            "devices": [
                {
                    "index": d.index,
                    "need_bytes": d.need_bytes,
                    "free_bytes": d.free_bytes,
                    "shortfall_bytes": d.shortfall_bytes,
                }
                for d in p.verdict.devices
            ],
            "host_shortfall_bytes": p.verdict.host_shortfall_bytes,
        }
    return out


def _gpus(config: Config, inventory: GpuInventory | None) -> str:
    """Where the GPUs of this plan come from, as every report names it (OC-GPU-9508)."""
    if config.manager.simulate_gpus:
        return "simulated"
    return "none" if inventory is None else str(inventory.source)


def plan_main(args: argparse.Namespace) -> int:
    try:
        config: Config = load_config(args.config) if args.config else default_config()
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    inventory = config.gpu_inventory() or inventory_from_nvml()
    host_free = psutil.virtual_memory().available
    plans = [plan_pool(pool, inventory, host_free) for pool in config.pools]
    host = config.manager.engine_host
    launches = [_launch(pool, p, host) for pool, p in zip(config.pools, plans, strict=True)]
    ok = (
        all(p.problem is None or p.plan is not None for p in plans)
        and all(p.verdict is None or p.verdict.fits for p in plans)
        and not any(isinstance(launch, str) for launch in launches)
    )
    if args.json:
        pools = [_plan_json(p, launch) for p, launch in zip(plans, launches, strict=True)]
        gpus = _gpus(config, inventory)
        print(json.dumps({"source": config.source, "gpus": gpus, "pools": pools}))
        return 0 if ok else 1
    print(
        f"config: {config.source}; GPU inventory: "
        f"{'none' if inventory is None else inventory.source}"
    )
    if config.manager.simulate_gpus:
        print("GPUs: simulated (manager.simulate_gpus), not read from NVML")
    for p, launch in zip(plans, launches, strict=True):
        _print_pool(p, launch)
    return 0 if ok else 1


def _print_pool(p: PoolPlan, launch: EngineLaunch | str | None) -> None:
    print(f"pool {p.pool_id}:")
    if p.plan is not None:
        kind = "CPU pool" if p.plan.cpu else f"GPUs {list(p.plan.visible_devices)}"
        capped = f" (capped: {p.plan.ctx_capped_reason})" if p.plan.ctx_capped_reason else ""
        context = ctx_phrase(p.plan.ctx, p.plan.slots, always_both=True)
        print(f"  {p.plan.engine} on {kind}; {context}{capped}")
        if Engine(p.plan.engine).is_test:
            print("  test engine: served inside the manager, no process (OC-PERF-9110)")
    if isinstance(launch, EngineLaunch):
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(launch.env.items()))
        print(f"  env (over the manager's environment): {env}")
        print(f"  argv: {shlex.join(redact_argv(list(launch.argv)))}")
        if launch.port is None:
            print(f"  port: picked at launch (a free port on {launch.host}, bound just before)")
    elif isinstance(launch, str):
        print(f"  problem: {launch}")
    if p.verdict is not None:
        print(f"  preflight: {'fits' if p.verdict.fits else 'DOES NOT FIT'}: {p.verdict.message}")
    if p.problem is not None:
        print(f"  note: {p.problem}")
