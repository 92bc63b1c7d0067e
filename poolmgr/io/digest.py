"""Model digests: the sha256 a pool reports and a pinned digest is checked against.

Decides what a model file's digest is (``"sha256:<hex>"``, OC-POOL-3050) and whether it matches
a pin from the config (OC-POOL-3051: a mismatch fails the preload with ``digest_mismatch``).

Model files are large, so :class:`DigestCache` streams them in 1 MiB chunks and remembers each
result under the file's real path, size and modification time: a restart or reload of an
unchanged model costs a ``stat``, while a rewritten file (new size or mtime) is hashed again.
A file that changes while it is being hashed is hashed but its result is not cached.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass

__all__ = ["CHUNK_BYTES", "DIGEST_PREFIX", "DigestCache", "normalize", "verify"]

CHUNK_BYTES = 1 << 20
"""Read size while hashing (1 MiB)."""

DIGEST_PREFIX = "sha256:"

_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class _Key:
    realpath: str
    size: int
    mtime_ns: int


def _key(path: str | os.PathLike[str]) -> _Key:
    real = os.path.realpath(path)
    info = os.stat(real)
    return _Key(real, info.st_size, info.st_mtime_ns)


class DigestCache:
    """Thread-safe sha256 digests of files, cached by (real path, size, mtime_ns).

    ``hashed_files`` counts the files actually read (cache misses), for tests and metrics.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[_Key, str] = {}
        self.hashed_files = 0

    def digest(self, path: str | os.PathLike[str]) -> str:
        """``"sha256:<hex>"`` of the file at ``path``; raises ``OSError`` when it cannot be read."""
        key = _key(path)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        # Hash outside the lock: other files (or cache hits) need not wait for a big model.
        sha = hashlib.sha256()
        buffer = bytearray(CHUNK_BYTES)
        view = memoryview(buffer)
        with open(key.realpath, "rb", buffering=0) as handle:
            while True:
                n = handle.readinto(view)
                if not n:
                    break
                sha.update(view[:n])
        value = DIGEST_PREFIX + sha.hexdigest()
        stable = _key(key.realpath) == key
        with self._lock:
            self.hashed_files += 1
            if stable:
                self._cache[key] = value
        return value

    def clear(self) -> None:
        """Forget every cached digest."""
        with self._lock:
            self._cache.clear()


def normalize(digest: str) -> str | None:
    """``"sha256:<lowercase hex>"`` for a well-formed digest (prefix optional), else ``None``."""
    text = digest.strip().lower()
    text = text.removeprefix(DIGEST_PREFIX)
    return DIGEST_PREFIX + text if _HEX64.fullmatch(text) else None


def verify(expected: str | None, actual: str) -> bool:
    """True when there is no pin (``expected`` is ``None``) or the pin names ``actual``.

    Both sides are compared as ``sha256:<hex>`` ignoring case; a malformed pin never matches.
    """
    if expected is None:
        return True
    want = normalize(expected)
    got = normalize(actual)
    return want is not None and want == got
