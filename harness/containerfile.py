"""The repository's ``Containerfile`` as the checks read it, and its command as poolmgr reads it.

No network (and so no image build) is available where the suite runs, so the image definition
is checked statically: :func:`read_containerfile` parses it with ``dockerfile-parse`` into
build stages (:class:`Stage`) and the global build arguments; :meth:`Containerfile.stage_for`
follows ``FROM <name>-${VARIANT}`` chains to the stage a build argument selects;
:func:`command_line` joins ENTRYPOINT and CMD (exec form only: a shell form would put
``/bin/sh -c`` in front of poolmgr, which then is not process 1); :func:`parse_with_poolmgr`
hands that command line to poolmgr's own argument parser (:func:`poolmgr.cli.main`) with the
subcommand's runner replaced, so nothing is started. Serves OC-DEP-8001..8004, 8008, 8009.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dockerfile_parse import DockerfileParser  # type: ignore[import-untyped]

__all__ = [
    "Containerfile",
    "Instruction",
    "Stage",
    "command_line",
    "parse_with_poolmgr",
    "read_containerfile",
]

ROOT = Path(__file__).resolve().parents[1]
CONTAINERFILE = ROOT / "Containerfile"
_VAR = re.compile(r"\$\{(\w+)\}|\$(\w+)")


@dataclass(frozen=True)
class Instruction:
    """One instruction: its keyword (upper case), its value and its first line (1-based)."""

    keyword: str
    value: str
    line: int


@dataclass
class Stage:
    """One build stage: ``FROM <base> AS <name>`` and its instructions."""

    name: str
    base: str
    line: int
    instructions: list[Instruction] = field(default_factory=list)
    args: dict[str, str] = field(default_factory=dict)
    """The stage's own ``ARG NAME[=default]`` declarations."""

    def values(self, keyword: str) -> list[str]:
        return [i.value for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> str | None:
        found = self.values(keyword)
        return found[-1] if found else None


@dataclass
class Containerfile:
    """The global build arguments and the stages, in order."""

    path: Path
    global_args: dict[str, str]
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def stage(self, name: str) -> Stage | None:
        return next((s for s in self.stages if s.name == name), None)

    def substitute(self, text: str, build_args: Mapping[str, str]) -> str:
        """``text`` with ``${NAME}`` replaced by the build argument or the global default."""
        values = {**self.global_args, **build_args}

        def one(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2)
            if name not in values:
                raise KeyError(f"{self.path.name}: ${{{name}}} is no build argument")
            return values[name]

        return _VAR.sub(one, text)

    def stage_for(self, name: str, build_args: Mapping[str, str]) -> Stage:
        """The stage ``name`` builds from for ``build_args``: stage-on-stage bases followed."""
        stage = self.stage(name)
        if stage is None:
            raise KeyError(f"{self.path.name}: no stage named {name!r}")
        base = self.stage(self.substitute(stage.base, build_args))
        return stage if base is None else self.stage_for(base.name, build_args)

    def chosen_by(self, arg: str, value: str) -> dict[str, Stage]:
        """Each stage whose base names ``${arg}``, and the stage it builds from for ``value``.

        Raises :class:`KeyError` when a base resolves to a stage that is not defined (a
        variant without its stage) or when no stage's base names ``${arg}`` at all.
        """
        chosen: dict[str, Stage] = {}
        for stage in self.stages:
            if f"${{{arg}}}" not in stage.base and f"${arg}" not in stage.base:
                continue
            base = self.substitute(stage.base, {arg: value})
            if self.stage(base) is None:
                raise KeyError(f"{self.path.name}:{stage.line}: FROM {base}: no such stage")
            chosen[stage.name] = self.stage_for(stage.name, {arg: value})
        if not chosen:
            raise KeyError(f"{self.path.name}: no stage is chosen by the build argument {arg}")
        return chosen


def read_containerfile(path: Path = CONTAINERFILE) -> Containerfile:
    """Parse ``path`` into its global build arguments and its stages."""
    with path.open("rb") as handle:
        parser = DockerfileParser(fileobj=handle)
        structure = parser.structure
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for item in structure:
        keyword = str(item["instruction"]).upper()
        value = str(item["value"])
        line = int(item["startline"]) + 1
        if keyword == "COMMENT":
            continue
        if keyword == "FROM":
            base, _, name = value.partition(" AS ") if " AS " in value else value.partition(" as ")
            stages.append(
                Stage(name=name.strip() or str(len(stages)), base=base.strip(), line=line)
            )
            continue
        if keyword == "ARG":
            arg, _, default = value.partition("=")
            target = global_args if not stages else stages[-1].args
            target[arg.strip()] = default.strip().strip('"')
        if stages:
            stages[-1].instructions.append(Instruction(keyword, value, line))
    return Containerfile(path=path, global_args=global_args, stages=stages)


def _exec_form(stage: Stage, keyword: str) -> list[str]:
    value = stage.last(keyword)
    if value is None:
        return []
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        raise AssertionError(
            f"{keyword} {value} is a shell form; it must be a JSON array"
        ) from None
    if not isinstance(parsed, list) or not all(isinstance(a, str) for a in parsed):
        raise AssertionError(f"{keyword} {value} is not a JSON array of strings")
    return [str(a) for a in parsed]


def command_line(stage: Stage) -> list[str]:
    """The final stage's ENTRYPOINT followed by its CMD (the container's default argv)."""
    return _exec_form(stage, "ENTRYPOINT") + _exec_form(stage, "CMD")


@dataclass(frozen=True)
class ParsedCommand:
    """What poolmgr's parser made of a command line: exit status, the arguments, its message."""

    status: int
    args: argparse.Namespace | None
    message: str


def parse_with_poolmgr(argv: list[str]) -> ParsedCommand:
    """Run ``poolmgr``'s own parser (:func:`poolmgr.cli.build_parser`) over ``argv`` (program
    name first); nothing runs. The image's command is ``serve``; the callers check that it is.
    """
    from poolmgr.cli import build_parser

    if not argv or argv[0] != "poolmgr":
        return ParsedCommand(2, None, f"the command is {argv[:1]}, not poolmgr")
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        try:
            args = build_parser().parse_args(argv[1:])
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 2
            return ParsedCommand(status, None, stderr.getvalue().strip())
    return ParsedCommand(0, args, stderr.getvalue().strip())
