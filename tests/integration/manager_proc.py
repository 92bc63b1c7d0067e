"""A throw-away pool manager process for the engine-orphan test (OC-POOL-3015).

``python tests/integration/manager_proc.py CONFIG LOG_DIR`` runs a :class:`Supervisor` for the
config file, waits (bounded) until every pool is Ready, prints one JSON line
``{"manager_pid": ..., "engines": {"<pool_id>": <pid>, ...}}`` and then runs until it is
killed. The test kills it with SIGKILL, so nothing here gets a chance to clean up: only the
engines' parent-death signal can end them.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from poolmgr.config import load_config
from poolmgr.runtime.supervisor import Supervisor, build_live_registry

READY_BOUND_S = 60.0


async def main(config_path: str, log_dir: str) -> int:
    config = load_config(config_path)
    registry = build_live_registry(config)
    supervisor = Supervisor(config, registry, log_dir=Path(log_dir))
    await supervisor.start()
    ids = registry.ids()
    async with asyncio.timeout(READY_BOUND_S):
        while not all(registry.snapshot(pool_id).ready for pool_id in ids):
            await asyncio.sleep(0.01)
    engines = {pool_id: supervisor.engine_pid(pool_id) for pool_id in ids}
    print(json.dumps({"manager_pid": os.getpid(), "engines": engines}), flush=True)
    await asyncio.Event().wait()  # until SIGKILL
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1], sys.argv[2])))
