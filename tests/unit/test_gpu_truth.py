"""The GPU truth decisions on their own: masks against the driver's view at serve (OC-GPU-9502)
and an engine's process tree against the view after its health probe (OC-GPU-9504/9507).

The scenarios in features/gpu/truth.feature pin the messages; these tests check properties that
hold for any mask, view and tree (hypothesis) and the view's inventory.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from poolmgr.core.gpu_truth import GpuReading, GpuView, judge_engine, missing_gpus, serve_refusal
from poolmgr.core.inventory import InventorySource

GIB = 2**30

indices = st.frozensets(st.integers(min_value=0, max_value=7), max_size=6)
holders = st.one_of(
    st.none(),
    st.dictionaries(
        st.integers(min_value=1, max_value=6), st.one_of(st.none(), st.integers(0, 4 * GIB))
    ),
)


def _view(gpus: dict[int, dict[int, int | None] | None], *, simulated: bool = False) -> GpuView:
    readings = tuple(
        GpuReading(i, f"gpu{i}", f"GPU-{i}", 8 * GIB, 4 * GIB, h) for i, h in gpus.items()
    )
    return GpuView(readings, "570", "12.8", simulated)


views = st.dictionaries(st.integers(min_value=0, max_value=7), holders, max_size=6).map(_view)


@given(mask=indices, view=st.one_of(st.none(), views))
def test_missing_gpus_are_the_mask_minus_the_view_in_order(
    mask: frozenset[int], view: GpuView | None
) -> None:
    shown = set() if view is None else {g.index for g in view.gpus}
    missing = missing_gpus(mask, view)
    assert list(missing) == sorted(mask - shown)
    refusal = serve_refusal("p", mask, view)
    assert (refusal is None) == (not missing)
    for index in missing:
        assert refusal is not None and f"GPU {index}" in refusal


@given(mask=indices.filter(bool), view=views, tree=st.frozensets(st.integers(1, 6)))
def test_the_engine_is_vouched_for_exactly_when_it_holds_memory_inside_its_mask_only(
    mask: frozenset[int], view: GpuView, tree: frozenset[int]
) -> None:
    if any(g.holders is None for g in view.gpus if g.index in mask):
        assert judge_engine(mask, view, tree) is not None
        return
    held_on = {
        g.index
        for g in view.gpus
        if g.holders is not None
        and any(pid in tree and (b is None or b > 0) for pid, b in g.holders.items())
    }
    vouched = bool(held_on) and held_on <= mask
    assert (judge_engine(mask, view, tree) is None) == vouched


def test_no_view_after_the_start_never_vouches() -> None:
    assert judge_engine([0], None, [1]) is not None


def test_the_view_becomes_an_inventory_marked_by_where_it_came_from() -> None:
    real = _view({1: {}, 0: None})
    inventory = real.inventory()
    assert [(d.index, d.name, d.total_bytes, d.free_bytes) for d in inventory.devices] == [
        (0, "gpu0", 8 * GIB, 4 * GIB),
        (1, "gpu1", 8 * GIB, 4 * GIB),
    ]
    assert inventory.source == InventorySource.NVML
    assert _view({0: {}}, simulated=True).inventory().source == InventorySource.STATIC
    assert real.reading(0) is real.gpus[1]
    assert real.reading(5) is None
