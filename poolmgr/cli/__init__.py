"""The ``poolmgr`` command line.

- ``poolmgr check-config [--no-file-checks] FILE...``: validate config files and their model
  files (exit 0 valid, 2 invalid; OC-CFG-5002, OC-CFG-5005).
- ``poolmgr make-tiny-model PATH``: write a tiny GGUF model llama-server loads (OC-CFG-5006).
- ``poolmgr plan [--config FILE] [--json]``: show each pool's launch plan (visible devices,
  engine flags, capped context) and preflight verdict against the GPU inventory (the config's
  static one, else NVML) and this host's free RAM. Exit 0 when every pool fits, 1 otherwise.
- ``poolmgr serve [--config FILE] [--host H] [--port P]``: run the manager and its control plane.
- ``poolmgr status [--url URL]... [--dns NAME[:PORT]]... [--token-env NAME | --token-file PATH]
  [--json] [--watch [S]]``: the pools of running managers in one table; ``--dns`` reads every
  address a name resolves to (a headless Service: the fleet) (exit 0 all read, 1 a manager
  could not be read or a name did not resolve, 2 bad arguments).
- ``poolmgr drain [--url URL] [--pool ID]... [--deadline-ms N] [--token-env NAME | --token-file
  PATH]``: drain the pools of a running manager and wait until they are stopped (the
  Kubernetes preStop hook; exit 0 all drained, 1 one not drained or the manager not read, 2 bad
  arguments).
- ``poolmgr version``.

Every argument is checked where it is parsed (:mod:`poolmgr.cli.args`): a bad one ends the
command with one line and exit status 2 (OC-CTL-4027).
"""

from __future__ import annotations

import argparse
import sys
from typing import cast

from poolmgr import __version__
from poolmgr.cli import check_config, drain, make_tiny_model, plan, status
from poolmgr.cli.args import OneLineParser, listen_host, port

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: every subcommand with its argument checks (nothing runs)."""
    parser = OneLineParser(prog="poolmgr", description=__doc__.splitlines()[0])
    # The subcommands' parsers are OneLineParsers too (argparse makes them of the parent's
    # class); the modules that add them only need the ArgumentParser interface.
    sub = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", required=True),
    )
    check_config.add_parser(sub)
    plan.add_parser(sub)
    make_tiny_model.add_parser(sub)
    status.add_parser(sub)
    drain.add_parser(sub)
    serve = sub.add_parser("serve", help="run the pool manager and its HTTP control plane")
    serve.add_argument("--config", metavar="FILE", help="config file (default: embedded)")
    serve.add_argument(
        "--host", type=listen_host, help="listen address (default: the config's manager.host)"
    )
    serve.add_argument("--port", type=port, help="listen port 0..65535; 0 picks a free one")
    serve.add_argument(
        "--advertise-host",
        type=listen_host,
        metavar="HOST",
        help="host that lease answers put in engine_url (default: the config's "
        "manager.engine_advertise_host, else its engine_host)",
    )
    sub.add_parser("version", help="print the version")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        from poolmgr.serve import main as serve_main  # FastAPI and uvicorn only when serving

        return serve_main(args)
    if args.command == "check-config":
        return check_config.run(args)
    if args.command == "make-tiny-model":
        return make_tiny_model.run(args)
    if args.command == "plan":
        return plan.plan_main(args)
    if args.command == "status":
        return status.status_main(args)
    if args.command == "drain":
        return drain.drain_main(args)
    print(f"poolmgr {__version__}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
