"""Content-addressed parse cache and the parallel map used on a cold cache.

Decides when a parsed spec or feature file can be reused: only when the file's path and the
sha256 of its bytes match an entry written by the same cache format, specgate version and
parser versions. Parsing Markdown and Gherkin with the pure-Python reference parsers costs
seconds for thousands of requirements and scenarios, so warm runs reuse earlier work and cold
runs spread files over the CPU cores. A missing or damaged cache only costs time, never
changes a result.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

DEFAULT_CACHE_DIR = Path("reports") / ".specgate-cache"
CACHE_ENV = "SPECGATE_CACHE_DIR"

T = TypeVar("T")
R = TypeVar("R")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ParseCache:
    """A JSON file mapping ``path\\0sha256`` to a parsed result, for one ``namespace``.

    ``version`` must change whenever the parsed shape or the parser changes. ``save`` keeps only
    the entries used in this run and writes only when something changed.
    """

    def __init__(self, directory: Path | None, namespace: str, version: str) -> None:
        self._path = directory / f"{namespace}.json" if directory is not None else None
        self._version = version
        self._old: dict[str, Any] = {}
        self._new: dict[str, Any] = {}
        self._dirty = False
        if self._path is not None and self._path.is_file():
            try:
                data = json.loads(self._path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = None
            if isinstance(data, dict) and data.get("version") == version:
                entries = data.get("entries")
                if isinstance(entries, dict):
                    self._old = entries

    @staticmethod
    def key(path: str, digest: str) -> str:
        return f"{path}\0{digest}"

    def get(self, key: str) -> Any:
        if key in self._old:
            value = self._old[key]
            self._new[key] = value
            return value
        return None

    def put(self, key: str, value: Any) -> None:
        self._new[key] = value
        self._dirty = True

    def save(self) -> None:
        if self._path is None:
            return
        if not self._dirty and set(self._new) == set(self._old):
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"version": self._version, "entries": self._new}
        tmp = self._path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(payload, separators=(",", ":")), encoding="utf-8")
        tmp.replace(self._path)


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: loading tens of thousands of small objects from
    JSON otherwise triggers collection passes that find nothing (about a quarter of a warm
    run). Reference counting still frees everything; the collector resumes afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def code_version(*modules: str) -> str:
    """A short hash of specgate's own source files, so that editing the parsing code
    invalidates what older code cached."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in modules:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


def cache_dir_from(arg: str | None, *, disabled: bool) -> Path | None:
    """The cache directory chosen by ``--cache-dir`` / ``--no-cache`` / the environment."""
    if disabled:
        return None
    if arg:
        return Path(arg)
    env = os.environ.get(CACHE_ENV)
    if env is not None:
        return Path(env) if env else None
    return DEFAULT_CACHE_DIR


# Below this much work a process pool costs more than it saves.
_PARALLEL_MIN_ITEMS = 4
_PARALLEL_MIN_BYTES = 256 * 1024


def parallel_map(fn: Callable[[T], R], items: Sequence[T], sizes: Sequence[int]) -> list[R]:
    """``[fn(x) for x in items]``, spread over the CPU cores when the work is big enough.

    ``fn`` must be a module-level function (it is sent to worker processes by name).
    """
    workers = min(os.cpu_count() or 1, len(items))
    big = len(items) >= _PARALLEL_MIN_ITEMS and sum(sizes) >= _PARALLEL_MIN_BYTES
    if workers < 2 or not big or os.environ.get("SPECGATE_SERIAL"):
        return [fn(item) for item in items]
    from concurrent.futures import ProcessPoolExecutor  # only needed on a cold cache

    chunk = max(1, len(items) // (workers * 4))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items, chunksize=chunk))
