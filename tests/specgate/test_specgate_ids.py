"""IDs, look-alike hyphens, RFC-2119 levels, fingerprints and titles (specgate.ids)."""

from __future__ import annotations

import pytest

from specgate import ids
from specgate.ids import Level, TokenKind


@pytest.mark.parametrize(
    "text", ["ORCH-123", "ORCH-12345", "OC-POOL-3001", "OC-A-B-99999", "OC-POOL-3001-DEPR"]
)
def test_well_formed_ids_are_valid(text: str) -> None:
    assert ids.is_valid_id(text)


@pytest.mark.parametrize(
    "text", ["ORCH-12", "ORCH-123456", "OC-POOL-30", "oc-pool-3001", "OC-pool-3001", "OC-3001"]
)
def test_ill_formed_ids_are_invalid(text: str) -> None:
    assert not ids.is_valid_id(text)


def kinds(source: str) -> list[tuple[str, TokenKind]]:
    return [(t.text, t.kind) for t in ids.scan_tokens(source)]


def test_short_number_is_malformed() -> None:
    assert kinds("see OC-POOL-30 and ORCH-12.") == [
        ("OC-POOL-30", TokenKind.MALFORMED),
        ("ORCH-12", TokenKind.MALFORMED),
    ]


def test_lowercase_id_is_malformed_only_in_brackets() -> None:
    found = kinds("[oc-pool-3001] and orch-style prose")
    assert found == [("oc-pool-3001", TokenKind.MALFORMED), ("orch-style", TokenKind.IGNORED)]


def test_u2011_hyphen_is_a_lookalike_with_its_offsets() -> None:
    token = next(ids.scan_tokens("x OC\u2011POOL\u20113001"))
    assert token.kind is TokenKind.LOOKALIKE
    assert token.lookalikes == ((4, "\u2011"), (9, "\u2011"))


@pytest.mark.parametrize(
    "dash", ["\u2010", "\u2012", "\u2013", "\u2014", "\u2212", "\ufe63", "\uff0d"]
)
def test_every_lookalike_dash_is_caught(dash: str) -> None:
    assert kinds(f"ORCH{dash}3010") == [(f"ORCH{dash}3010", TokenKind.LOOKALIKE)]


def test_family_patterns_and_prefixes_are_not_ids() -> None:
    assert [k for _, k in kinds("OC-POOL-* and OC-<AREA>-<NNNN> and the OC-POOL- prefix")] == [
        TokenKind.IGNORED,
        TokenKind.IGNORED,
        TokenKind.IGNORED,
    ]


def test_retired_suffix_maps_to_base_id() -> None:
    assert ids.is_retired("OC-X-1001-DEPR")
    assert ids.base_of_retired("OC-X-1001-DEPR") == "OC-X-1001"


def test_sort_is_numeric_aware() -> None:
    unsorted = ["OC-X-10000", "OC-X-999", "ORCH-100", "OC-X-1000"]
    assert sorted(unsorted, key=ids.id_sort_key) == [
        "OC-X-999",
        "OC-X-1000",
        "OC-X-10000",
        "ORCH-100",
    ]


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("It MUST NOT crash and MAY log.", Level.MUST),
        ("It is REQUIRED.", Level.MUST),
        ("It SHALL hold.", Level.MUST),
        ("It SHOULD NOT and MAY.", Level.SHOULD),
        ("It is RECOMMENDED.", Level.SHOULD),
        ("It is OPTIONAL.", Level.MAY),
        ("It must, should and may (lowercase).", Level.INFO),
        ("The word `MUST` quoted in code.", Level.INFO),
        ("It **MUST** hold.", Level.MUST),
    ],
)
def test_level_is_the_strongest_uppercase_keyword(text: str, level: Level) -> None:
    assert ids.level_of(text) is level


def test_fingerprint_ignores_whitespace_and_emphasis() -> None:
    assert ids.fingerprint("The pool  **MUST**\n start `now`.") == ids.fingerprint(
        "The pool MUST start now."
    )


def test_fingerprint_changes_with_wording() -> None:
    assert ids.fingerprint("The pool MUST start.") != ids.fingerprint("The pool MUST stop.")


def test_title_is_first_sentence_without_markup() -> None:
    assert ids.title_of("The **pool** MUST use `snake_case`. Then more.") == (
        "The pool MUST use snake_case."
    )


def test_long_title_is_trimmed_at_a_word() -> None:
    title = ids.title_of("word " * 60)
    assert len(title) <= ids.TITLE_LIMIT
    assert title.endswith("word…")


def test_title_stops_before_a_nested_item() -> None:
    assert ids.title_of("The pool SHOULD report progress. - Plain nested detail.") == (
        "The pool SHOULD report progress."
    )


def test_title_keeps_a_hyphen_inside_a_sentence() -> None:
    assert ids.title_of("Ports 80 - 90 are used. More.") == "Ports 80 - 90 are used."
