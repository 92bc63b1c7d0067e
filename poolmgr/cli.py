"""The ``poolmgr`` command line.

- ``poolmgr check-config FILE...``: validate config files (exit 0 valid, 2 invalid; OC-CFG-5002).
- ``poolmgr plan [--config FILE] [--json]``: show each pool's launch plan (visible devices,
  engine flags, capped context) and preflight verdict against the GPU inventory (the config's
  static one, else NVML) and this host's free RAM. Exit 0 when every pool fits, 1 otherwise.
- ``poolmgr serve [--config FILE] [--host H] [--port P]``: run the manager and its control plane.
- ``poolmgr version``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import psutil

from poolmgr import __version__
from poolmgr.assemble import PoolPlan, plan_pool
from poolmgr.config import default_config, load_config
from poolmgr.core.config import Config
from poolmgr.core.errors import ConfigError
from poolmgr.io.nvml import inventory_from_nvml


def check_config_main(argv: list[str]) -> int:
    """``poolmgr check-config FILE...``: 0 when every file is valid, 2 otherwise (OC-CFG-5002).

    Each problem goes to stderr as ``file: path: reason``; each valid file to stdout as
    ``file: ok (N pools)``.
    """
    parser = argparse.ArgumentParser(
        prog="poolmgr check-config", description="Validate poolmgr config files."
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="config file(s) to check")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    status = 0
    for name in args.files:
        try:
            config = load_config(name)
        except ConfigError as exc:
            status = 2
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            continue
        count = len(config.pools)
        print(f"{name}: ok ({count} pool{'s' if count != 1 else ''})")
    return status


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


def _plan_main(args: argparse.Namespace) -> int:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="poolmgr", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check-config", help="validate config files")
    check.add_argument("files", nargs="+", metavar="FILE")
    plan = sub.add_parser("plan", help="show launch plans and preflight verdicts")
    plan.add_argument("--config", metavar="FILE", help="config file (default: embedded)")
    plan.add_argument("--json", action="store_true", help="machine-readable output")
    serve = sub.add_parser("serve", help="run the pool manager and its HTTP control plane")
    serve.add_argument("--config", metavar="FILE", help="config file (default: embedded)")
    serve.add_argument("--host", help="listen address (default: the config's manager.host)")
    serve.add_argument("--port", type=int, help="listen port; 0 picks a free one")
    sub.add_parser("version", help="print the version")
    args = parser.parse_args(argv)
    if args.command == "serve":
        from poolmgr.serve import main as serve_main  # FastAPI and uvicorn only when serving

        return serve_main(args)
    if args.command == "check-config":
        return check_config_main(list(args.files))
    if args.command == "plan":
        return _plan_main(args)
    print(f"poolmgr {__version__}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
