"""Configuration: whether a YAML config is acceptable, and what it means once accepted.

The facade callers import from; it only re-exports. The stages live in their own modules:

- :mod:`poolmgr.io.yamlload`: the bounded file read and YAML reader (OC-CFG-5003/5008);
- :mod:`poolmgr.config.schema`: the JSON Schema, its defaults and its messages (OC-CFG-5001/5002);
- :mod:`poolmgr.config.models`: which model references are local files, and relative paths
  resolved from the config file's folder (OC-CFG-5007);
- :mod:`poolmgr.config.rules`: cross-field rules (config side of OC-POOL-3011/3017/3020-3022),
  with :mod:`poolmgr.config.owned_flags`, the one table of the engine flags poolmgr sets
  itself (OC-CFG-5009);
- :mod:`poolmgr.config.files`: ``check-config``'s model file checks (OC-CFG-5005);
- :mod:`poolmgr.config.build`: typed values from the schema-filled document;
- :mod:`poolmgr.config.parse`: the pipeline (``parse_config``, ``load_config``, ``default_config``);
- :mod:`poolmgr.io.tokens`: the auth token from its named variable or file (OC-CFG-5004);
- :mod:`poolmgr.config.reference`: the reference page generated from the schema (OC-CFG-5010);
- :mod:`poolmgr.core.config`: the model itself (frozen dataclasses, the core's policies as
  fields, no defaults of its own); import its classes from there.

``poolmgr check-config`` lives in :mod:`poolmgr.cli` with every other command.
"""

from __future__ import annotations

from poolmgr.config.build import pool_config, stub_faults
from poolmgr.config.parse import default_config, load_config, parse_config
from poolmgr.config.schema import config_schema
from poolmgr.core.problems import format_path
from poolmgr.io.tokens import read_auth_token

__all__ = [
    "config_schema",
    "default_config",
    "format_path",
    "load_config",
    "parse_config",
    "pool_config",
    "read_auth_token",
    "stub_faults",
]
