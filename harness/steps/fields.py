"""Field parsers shared by the step modules: comma-separated lists, as the features write them."""

from __future__ import annotations


def ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(",") if x.strip())


def names(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def rows(datatable: list[list[str]]) -> list[dict[str, str]]:
    """A data table's rows as dicts keyed by the heading row; fails on a table without rows."""
    assert len(datatable) >= 2, f"setup: a table needs a heading row and a row, got {datatable}"
    heading = [cell.strip() for cell in datatable[0]]
    return [dict(zip(heading, (c.strip() for c in row), strict=True)) for row in datatable[1:]]
