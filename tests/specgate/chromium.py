"""Headless Chromium for the report tests: the DOM after scripts ran, a screenshot, a PNG reader.

``dump`` returns the page's DOM as Chromium serialises it after running the page's script (so
filters preset in the URL fragment have applied); ``screenshot`` writes a PNG of a fixed window
size; ``read_png`` checks a PNG's signature, chunk CRCs and data length with the standard library
(zlib, struct) and decodes its top rows, where the verdict banner is. Tests skip when Chromium is
absent, and fail when CI is set.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


def find_chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = "chromium not installed (apt-get install chromium chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; required when CI is set")
    pytest.skip(reason)


def _chromium(url: str, profile: Path, *extra: str) -> str:
    done = subprocess.run(
        [
            find_chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--force-device-scale-factor=1",
            f"--user-data-dir={profile}",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


# ----------------------------------------------------------------------------- the DOM


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    parent: Node | None = None
    children: list[Node | str] = field(default_factory=list)

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, match: Callable[[Node], bool]) -> list[Node]:
        return [n for n in self.iter() if match(n)]

    def by_id(self, element_id: str) -> Node:
        found = self.find_all(lambda n: n.attrs.get("id") == element_id)
        assert len(found) == 1, f"{len(found)} elements with id {element_id!r}"
        return found[0]

    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    @property
    def shown(self) -> bool:
        """Neither it nor an ancestor has the ``hidden`` attribute."""
        node: Node | None = self
        while node is not None:
            if "hidden" in node.attrs:
                return False
            node = node.parent
        return True


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root = Node("#document", {})
        self._open = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), self._open)
        self._open.children.append(node)
        if tag not in VOID:
            self._open = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open.children.append(Node(tag, dict(attrs), self._open))

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self._open
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self._open = node.parent

    def handle_data(self, data: str) -> None:
        self._open.children.append(data)


def parse(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def dump(page: Path, fragment: str, profile: Path) -> Node:
    """The DOM after the page's script ran, opened at ``fragment`` (e.g. ``#q=drain``)."""
    return parse(_chromium(page.as_uri() + fragment, profile, "--dump-dom"))


def screenshot(page: Path, out: Path, size: tuple[int, int], profile: Path) -> bytes:
    _chromium(page.as_uri(), profile, f"--window-size={size[0]},{size[1]}", f"--screenshot={out}")
    return out.read_bytes()


# ----------------------------------------------------------------------------- PNG

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Png:
    width: int
    height: int
    channels: int
    rows: list[bytes]
    """The first decoded rows, unfiltered: ``channels`` bytes per pixel."""

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        at = x * self.channels
        r, g, b = self.rows[y][at : at + 3]
        return r, g, b


def _chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    at = 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in chunk {kind!r}"
        yield kind, body
        at += 12 + length


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def _unfilter(kind: int, line: bytes, prior: bytes, bpp: int) -> bytes:
    if kind == 0:
        return line
    out = bytearray(line)
    for i in range(len(out)):
        a = out[i - bpp] if i >= bpp else 0
        b = prior[i]
        c = prior[i - bpp] if i >= bpp else 0
        predictor = (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]
        out[i] = (out[i] + predictor) & 0xFF
    return bytes(out)


def read_png(data: bytes, decode_rows: int) -> Png:
    """Check the whole PNG (8-bit RGB or RGBA, not interlaced) and decode its first rows."""
    chunks = list(_chunks(data))
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = 1 + width * channels
    assert len(raw) == height * stride, "image data does not match the size in its header"
    rows: list[bytes] = []
    prior = bytes(width * channels)
    for y in range(min(decode_rows, height)):
        kind = raw[y * stride]
        assert kind <= 4, f"row {y}: unknown filter {kind}"
        prior = _unfilter(kind, raw[y * stride + 1 : (y + 1) * stride], prior, channels)
        rows.append(prior)
    return Png(width, height, channels, rows)
