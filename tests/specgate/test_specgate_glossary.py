"""The glossary gate (OC-BDD-7007): which words of a feature file a glossary rules out."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Write

from specgate.errors import InputError
from specgate.gates.glossary import glossary_violations, read_glossary

GLOSSARY = """# Words

| Term | Meaning | Not |
|---|---|---|
| **not ready** | refuses new work | unready, unhealthy |
| void | the manager ends a lease | revoke |

Text after the table.
"""

FEATURE = '''Feature: Pools
  An unhealthy pool is described here.

  Scenario: A pool reports its state
    Given a pool that is UNREADY
    Then the pool reports state "unready"
    And the leases are revoked
      """
      an unready doc string
      """
    And the table
      | state   |
      | unready |
  # an unready comment
  @unready
  Scenario: revoke-list and unreadyness are other words
    Then it holds
'''


def test_the_glossary_maps_each_ruled_out_word_to_its_term(write: Write) -> None:
    path = write("glossary.md", GLOSSARY)
    assert read_glossary(path) == {
        "unready": "not ready",
        "unhealthy": "not ready",
        "revoke": "void",
    }


def test_ruled_out_words_are_found_in_prose_but_not_in_values(write: Write) -> None:
    write("features/pools.feature", FEATURE)
    ruled_out = read_glossary(write("glossary.md", GLOSSARY))
    found = [(f.line, f.word, f.term) for f in glossary_violations(Path("features"), ruled_out)]
    # description (2), step in any case (5); not the quoted value (6), the doc string, the
    # table row, the comment, the tag, nor words that merely contain the ruled-out word (16).
    assert found == [(2, "unhealthy", "not ready"), (5, "unready", "not ready")]


def test_a_finding_names_the_file_the_line_and_the_word_to_use(write: Write) -> None:
    write("features/pools.feature", "Feature: P\n  Scenario: S\n    Then it is unready\n")
    ruled_out = read_glossary(write("glossary.md", GLOSSARY))
    (finding,) = glossary_violations(Path("features"), ruled_out)
    assert finding.format() == (
        "features/pools.feature:3: glossary: 'unready' is not used for this idea; "
        "the glossary's word is 'not ready'"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# no table\n", "no table with the header | Term | Meaning | Not |"),
        ("| Term | Meaning | Not |\n|---|---|---|\n| a | b |\n", "glossary.md:3: a glossary row"),
    ],
)
def test_an_unusable_glossary_is_an_input_error(write: Write, text: str, message: str) -> None:
    path = write("glossary.md", text)
    with pytest.raises(InputError, match=message.replace("|", r"\|")):
        read_glossary(path)


def test_an_outline_placeholder_is_not_prose(write: Write) -> None:
    text = "Feature: P\n  Scenario Outline: S\n    Then the context is <ctx> tokens\n"
    write("features/pools.feature", text)
    ruled_out = read_glossary(write("glossary.md", GLOSSARY.replace("revoke", "revoke, ctx")))
    assert glossary_violations(Path("features"), ruled_out) == []
