"""How conflict detection reads a company name: legal forms dropped, then the distinctive core
separated from the words that only say what line of business it is in."""

from __future__ import annotations

import pytest

from deals.names import descriptor, descriptors_compatible, split_company_key


@pytest.mark.parametrize(
    ("key", "core", "descriptors"),
    [
        ("vais software", "vais", ["software"]),
        ("vais software solutions", "vais", ["software", "solution"]),
        ("golden forest logistics", "golden forest", ["logistics"]),
        ("acme", "acme", []),
        ("data systems", "data systems", []),  # nothing distinctive: the whole name is the core
        ("engel solutions s a s", "engel", ["solution"]),  # "S.A.S." normalised to single letters
        ("a b c industries", "a b c", ["industry"]),  # single letters that are not a legal form stay
        ("kestrel logistcs", "kestrel", ["logistics"]),  # a letter missing
        ("kestrel sofftware", "kestrel", ["software"]),  # a letter too many
        ("kestrel netwerks", "kestrel", ["network"]),  # a wrong letter, in the plural
        ("kestrel labs", "kestrel", ["lab"]),  # short descriptors are recognised, but only exactly
    ],
)
def test_split_company_key(key: str, core: str, descriptors: list[str]) -> None:
    assert split_company_key(key) == (core, descriptors)


@pytest.mark.parametrize("word", ["acme", "vais", "labz", "initech", "kestrel", "forest"])
def test_distinctive_words_are_not_descriptors(word: str) -> None:
    assert descriptor(word) is None


def test_descriptors_compatible() -> None:
    assert descriptors_compatible([], ["software"])
    assert descriptors_compatible(["software"], [])
    assert descriptors_compatible(["software"], ["software", "solution"])
    assert not descriptors_compatible(["logistics"], ["food"])
