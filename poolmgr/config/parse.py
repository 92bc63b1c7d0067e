"""The config pipeline: a file or a text in, a typed :class:`~poolmgr.core.config.Config` out.

Decides the order of the stages, each refusing before the next can be hurt: read the file
(bounded, :func:`poolmgr.io.yamlload.read_config_text`), compose and construct the YAML with
limits (:func:`poolmgr.io.yamlload.load_yaml`), validate against the JSON Schema and fill its
defaults (:mod:`poolmgr.config.schema`), resolve relative paths from the config file's folder
(:mod:`poolmgr.config.models`), check the cross-field rules (:mod:`poolmgr.config.rules`) and,
for ``check-config``, the model files (:mod:`poolmgr.config.files`), make the typed values
(:mod:`poolmgr.config.build`). All problems found at a stage are reported together as one
:class:`~poolmgr.core.errors.ConfigError`; no input produces a traceback. Serves OC-CFG-5001,
OC-CFG-5002, OC-CFG-5003, OC-CFG-5005 and OC-CFG-5007.
"""

from __future__ import annotations

import os

from poolmgr.config.build import config_from_document
from poolmgr.config.files import check_model_files
from poolmgr.config.models import resolve_paths
from poolmgr.config.rules import check_rules
from poolmgr.config.schema import validated_document
from poolmgr.core.config import Config
from poolmgr.core.problems import Problems
from poolmgr.io.yamlload import load_yaml, read_config_text

__all__ = ["DEFAULT_CONFIG_YAML", "default_config", "load_config", "parse_config"]


def parse_config(
    text: str, source: str, *, base_dir: str | None = None, check_files: bool = False
) -> Config:
    """Validate config ``text`` (YAML) and return it typed; ``source`` names it in problems.

    ``base_dir``: the directory relative model paths and ``token_file`` are resolved from
    (:mod:`poolmgr.config.models`); ``None`` leaves them as written. ``check_files``: also
    check every local model file (:mod:`poolmgr.config.files`), after the rules. Raises
    :class:`~poolmgr.core.errors.ConfigError` carrying every problem found; never anything else.
    """
    # str subclasses (behave hands doc strings over as one) confuse libyaml's reader.
    data, lines = load_yaml(str(text), source)
    problems = Problems(source, lines)
    doc = validated_document(data, problems)
    if base_dir is not None:
        resolve_paths(doc, base_dir)
    check_rules(doc, problems)
    if check_files:
        check_model_files(doc, problems)
    problems.raise_if_any()
    return config_from_document(doc, source)


def load_config(path: str | os.PathLike[str], *, check_files: bool = False) -> Config:
    """Read and validate the config file at ``path``; relative paths in it are from its folder.

    ``check_files`` also checks every local model file (``check-config``). Raises
    :class:`~poolmgr.core.errors.ConfigError` (naming the file) for a missing, unreadable,
    oversized or non-UTF-8 file as well as for any problem in its content.
    """
    base_dir = os.path.dirname(os.path.abspath(path))
    return parse_config(
        read_config_text(path), os.fspath(path), base_dir=base_dir, check_files=check_files
    )


DEFAULT_CONFIG_YAML = """\
# Two CPU pools on the built-in stub engine: what `poolmgr serve` runs without a config.
pools:
  - {id: alpha, engine: stub, model: "stub://alpha", devices: [], cpu: true, slots: 4}
  - {id: beta, engine: stub, model: "stub://beta", devices: [], cpu: true, slots: 4}
"""


def default_config() -> Config:
    """The embedded default: stub-engine CPU pools ``alpha`` and ``beta``, four slots each."""
    return parse_config(DEFAULT_CONFIG_YAML, "<default>")
