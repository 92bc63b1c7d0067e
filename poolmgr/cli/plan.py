"""``poolmgr plan``: each pool's launch plan and preflight verdict, without starting anything.

Shows the visible devices, engine flags and capped context of every pool, and the preflight
verdict against the GPU inventory (the config's static one, else NVML) and this host's free
RAM. Exit 0 when every pool fits, 1 otherwise, 2 for a bad config.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import psutil

from poolmgr.assemble import PoolPlan, plan_pool
from poolmgr.config import default_config, load_config
from poolmgr.core.config import Config
from poolmgr.core.errors import ConfigError
from poolmgr.io.nvml import inventory_from_nvml

__all__ = ["add_parser", "plan_main"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    plan = sub.add_parser("plan", help="show launch plans and preflight verdicts")
    plan.add_argument("--config", metavar="FILE", help="config file (default: embedded)")
    plan.add_argument("--json", action="store_true", help="machine-readable output")


def _plan_json(p: PoolPlan) -> dict[str, Any]:
    out: dict[str, Any] = {"pool_id": p.pool_id, "problem": p.problem}
    if p.plan is not None:
        out["plan"] = {
            "engine": p.plan.engine,
            "cpu": p.plan.cpu,
            "visible_devices": list(p.plan.visible_devices),
            "env": dict(p.plan.env),
            "engine_flags": list(p.plan.engine_flags),
            "tensor_split": None if p.plan.tensor_split is None else list(p.plan.tensor_split),
            "ctx": p.plan.ctx,
            "ctx_requested": p.plan.ctx_requested,
            "ctx_capped_reason": p.plan.ctx_capped_reason,
        }
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
    ok = all(p.problem is None or p.plan is not None for p in plans) and all(
        p.verdict is None or p.verdict.fits for p in plans
    )
    if args.json:
        print(json.dumps({"source": config.source, "pools": [_plan_json(p) for p in plans]}))
    else:
        print(
            f"config: {config.source}; GPU inventory: "
            f"{'none' if inventory is None else inventory.source}"
        )
        for p in plans:
            print(f"pool {p.pool_id}:")
            if p.plan is not None:
                kind = "CPU pool" if p.plan.cpu else f"GPUs {list(p.plan.visible_devices)}"
                print(
                    f"  {p.plan.engine} on {kind}; ctx {p.plan.ctx}"
                    + (f" (capped: {p.plan.ctx_capped_reason})" if p.plan.ctx_capped_reason else "")
                )
                env = " ".join(f"{k}={v}" for k, v in sorted(p.plan.env.items()))
                print(f"  env: {env}")
                print(f"  flags: {' '.join(p.plan.engine_flags)}")
            if p.verdict is not None:
                print(
                    f"  preflight: {'fits' if p.verdict.fits else 'DOES NOT FIT'}: "
                    f"{p.verdict.message}"
                )
            if p.problem is not None:
                print(f"  note: {p.problem}")
    return 0 if ok else 1
