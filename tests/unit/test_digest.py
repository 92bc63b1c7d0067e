"""Model digests and pins: OC-POOL-3050 (sha256 of the model file), OC-POOL-3051 (pin check)."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from poolmgr.io.digest import CHUNK_BYTES, DigestCache, normalize, verify


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write(path: Path, data: bytes, mtime_ns: int | None = None) -> Path:
    path.write_bytes(data)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def test_oc_pool_3050_digest_is_sha256_of_the_file(tmp_path: Path) -> None:
    model = write(tmp_path / "m.gguf", b"GGUF tiny model bytes")
    assert DigestCache().digest(model) == sha(b"GGUF tiny model bytes")


def test_digest_of_a_file_larger_than_one_chunk_covers_every_byte(tmp_path: Path) -> None:
    data = os.urandom(CHUNK_BYTES * 2 + 12345)
    model = write(tmp_path / "big.gguf", data)
    assert DigestCache().digest(model) == sha(data)


def test_digest_of_an_empty_file(tmp_path: Path) -> None:
    assert DigestCache().digest(write(tmp_path / "empty", b"")) == sha(b"")


def test_unchanged_file_is_hashed_once(tmp_path: Path) -> None:
    model = write(tmp_path / "m.gguf", b"abc", mtime_ns=1_000_000_000)
    cache = DigestCache()
    first = cache.digest(model)
    second = cache.digest(model)
    assert first == second
    assert cache.hashed_files == 1


def test_same_file_through_a_symlink_is_a_cache_hit(tmp_path: Path) -> None:
    model = write(tmp_path / "m.gguf", b"abc")
    link = tmp_path / "current.gguf"
    link.symlink_to(model)
    cache = DigestCache()
    cache.digest(model)
    assert cache.digest(link) == sha(b"abc")
    assert cache.hashed_files == 1


def test_new_mtime_with_same_size_is_a_cache_miss(tmp_path: Path) -> None:
    """A rewritten model of the same size must not report the old digest."""
    model = write(tmp_path / "m.gguf", b"aaaa", mtime_ns=1_000_000_000)
    cache = DigestCache()
    assert cache.digest(model) == sha(b"aaaa")
    write(model, b"bbbb", mtime_ns=2_000_000_000)
    assert cache.digest(model) == sha(b"bbbb")
    assert cache.hashed_files == 2


def test_new_size_with_same_mtime_is_a_cache_miss(tmp_path: Path) -> None:
    model = write(tmp_path / "m.gguf", b"aaaa", mtime_ns=1_000_000_000)
    cache = DigestCache()
    cache.digest(model)
    write(model, b"aaaaa", mtime_ns=1_000_000_000)
    assert cache.digest(model) == sha(b"aaaaa")
    assert cache.hashed_files == 2


def test_clear_forgets_cached_digests(tmp_path: Path) -> None:
    model = write(tmp_path / "m.gguf", b"abc")
    cache = DigestCache()
    cache.digest(model)
    cache.clear()
    cache.digest(model)
    assert cache.hashed_files == 2


def test_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        DigestCache().digest(tmp_path / "absent.gguf")


def test_concurrent_digests_agree(tmp_path: Path) -> None:
    data = os.urandom(CHUNK_BYTES + 1)
    model = write(tmp_path / "m.gguf", data)
    cache = DigestCache()
    results: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        value = cache.digest(model)
        with lock:
            results.append(value)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [sha(data)] * 8
    assert cache.digest(model) == sha(data)


HEX = "ab" * 32


def test_oc_pool_3051_no_pin_always_verifies() -> None:
    assert verify(None, "sha256:" + HEX)


def test_oc_pool_3051_matching_pin_verifies() -> None:
    assert verify("sha256:" + HEX, "sha256:" + HEX)


def test_oc_pool_3051_pin_comparison_ignores_case_and_prefix() -> None:
    assert verify("SHA256:" + HEX.upper(), "sha256:" + HEX)
    assert verify(HEX, "sha256:" + HEX)


def test_oc_pool_3051_different_digest_does_not_verify() -> None:
    assert not verify("sha256:" + "cd" * 32, "sha256:" + HEX)


@pytest.mark.parametrize("pin", ["", "sha256:", "sha256:abc", "md5:" + HEX, "sha256:" + "zz" * 32])
def test_oc_pool_3051_malformed_pin_never_verifies(pin: str) -> None:
    assert not verify(pin, "sha256:" + HEX)


def test_normalize_gives_the_canonical_form() -> None:
    assert normalize("  SHA256:" + HEX.upper() + "\n") == "sha256:" + HEX
    assert normalize("not a digest") is None
