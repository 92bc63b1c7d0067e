"""Field parsers shared by the step modules: comma-separated lists, as the features write them."""

from __future__ import annotations


def ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(",") if x.strip())


def names(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]
