"""Generated YAML round-trips through PyYAML and through the fast reader (specgate.yamlio)."""

from __future__ import annotations

import yaml
from hypothesis import given
from hypothesis import strategies as st

from specgate.yamlio import dump_mapping, dump_records, load_mapping, load_records

values = st.text(st.characters(codec="utf-8"), max_size=40)
records = st.lists(
    st.fixed_dictionaries({"id": values, "text": values, "level": values}), max_size=4
)


@given(records)
def test_records_read_back_identically_by_pyyaml_and_fast_reader(
    data: list[dict[str, str]],
) -> None:
    text = dump_records(data, ["header"])
    assert (yaml.safe_load(text) or []) == data
    assert load_records(text) == data


@given(st.dictionaries(values, values, max_size=5))
def test_mappings_read_back_identically(data: dict[str, str]) -> None:
    text = dump_mapping("reviewed", data, ["header"])
    assert (yaml.safe_load(text)["reviewed"] or {}) == data
    assert load_mapping("reviewed", text) == data


def test_hand_written_yaml_is_read_with_pyyaml() -> None:
    text = "- id: OC-X-1001\n  text: >\n    folded\n    text\n"
    assert load_records(text) == [{"id": "OC-X-1001", "text": "folded text\n"}]


def test_id_keys_are_written_plain() -> None:
    assert "  OC-X-1001: " in dump_mapping("reviewed", {"OC-X-1001": "ab"}, [])
