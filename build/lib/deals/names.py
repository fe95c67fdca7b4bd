"""Company names as conflict detection compares them.

A registered customer name is reduced in two steps:

1. ``normalise_company_name`` lower-cases it, keeps letters and digits and drops legal forms
   ("Acme Corp" and "ACME Corporation Ltd." are both ``acme``). The result is ``Deal.customer_key``;
   equal keys are the same customer.
2. ``split_company_key`` separates the words that say *what kind* of business it is
   ("software", "logistics", "solutions" — the descriptors) from the ones that say *which* one
   (the core). Two names are similar when their cores are similar (trigram similarity) and their
   descriptors do not contradict each other: "Vais Software" matches "Vais Software Solutions"
   and "Vais" but not "Vais Foods"; "Golden Forest Logistics" does not match
   "Golden Forest Foods".

Comparing cores instead of whole names is what makes the check both sharper and fast: the whole
name "Pagra Software" shares nine of its fourteen trigrams with "Vais Software", enough for a
trigram index to return every one of the thousands of "… Software" names as a candidate, though
nothing but the generic word is alike. A descriptor misspelt by one letter ("Sofware",
"Logistcs") still counts as that descriptor, so a typo in the generic word neither hides a match
nor creates one.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Words that say what legal form a company has, not which company it is.
LEGAL_WORDS = frozenset(
    {
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "co",
        "company",
        "ltd",
        "limited",
        "llc",
        "llp",
        "plc",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "oy",
        "ab",
        "as",
        "pty",
        "pte",
        "kk",
        "the",
        "group",
        "holdings",
        "holding",
    }
)

# Words that say what line of business a company is in. Kept in the singular; plurals and
# one-letter misspellings of the longer ones are recognised by ``descriptor``.
DESCRIPTORS = frozenset(
    [
        "aerospace",
        "agriculture",
        "airline",
        "analytics",
        "apparel",
        "associate",
        "automotive",
        "bank",
        "banking",
        "biotech",
        "brewing",
        "capital",
        "chemical",
        "cloud",
        "communication",
        "construction",
        "consultant",
        "consulting",
        "data",
        "dental",
        "design",
        "device",
        "digital",
        "education",
        "electronic",
        "energy",
        "engineering",
        "enterprise",
        "finance",
        "financial",
        "food",
        "game",
        "gaming",
        "health",
        "healthcare",
        "hotel",
        "industrial",
        "industry",
        "insurance",
        "international",
        "investment",
        "lab",
        "laboratory",
        "logistics",
        "management",
        "manufacturing",
        "marketing",
        "media",
        "medical",
        "mining",
        "motor",
        "network",
        "partner",
        "pharma",
        "pharmaceutical",
        "pharmacy",
        "product",
        "property",
        "realty",
        "resource",
        "retail",
        "robotics",
        "security",
        "semiconductor",
        "service",
        "shipping",
        "software",
        "solution",
        "steel",
        "studio",
        "system",
        "tech",
        "technology",
        "telecom",
        "telecommunication",
        "textile",
        "trading",
        "transport",
        "transportation",
        "utility",
        "venture",
        "worldwide",
    ]
)


def normalise_company_name(name: str) -> str:
    words = re.findall(r"[a-z0-9]+", (name or "").lower())
    kept = [word for word in words if word not in LEGAL_WORDS]
    return " ".join(kept or words)


def _singular(word: str) -> str | None:
    if word in DESCRIPTORS:
        return word
    if word.endswith("ies") and word[:-3] + "y" in DESCRIPTORS:
        return word[:-3] + "y"
    if word.endswith("s") and word[:-1] in DESCRIPTORS:
        return word[:-1]
    return None


@lru_cache(maxsize=1)
def _one_letter_off() -> dict[str, str]:
    """Every long descriptor (and its plural) with one letter deleted, mapped to the descriptor:
    a word is one edit from a descriptor when it is such a deletion (a letter left out), when
    deleting one of its own letters gives the descriptor (a letter too many) or one of these
    deletions (a wrong letter)."""
    table: dict[str, str] = {}
    for stem in sorted(DESCRIPTORS):
        for form in (stem, stem + "s"):
            if len(form) >= 5:
                for i in range(len(form)):
                    table.setdefault(form[:i] + form[i + 1 :], stem)
    return table


def descriptor(word: str) -> str | None:
    """The descriptor ``word`` stands for (singular), allowing one wrong, missing or extra letter
    in words of five letters or more; None for a word that names the company."""
    exact = _singular(word)
    if exact or len(word) < 5:
        return exact
    table = _one_letter_off()
    if word in table:
        return table[word]
    for i in range(len(word)):
        shorter = word[:i] + word[i + 1 :]
        found = _singular(shorter)
        if found:
            return found
        if shorter in table and len(table[shorter]) in (len(word), len(word) - 1):
            return table[shorter]
    return None


def split_company_key(key: str) -> tuple[str, list[str]]:
    """``(core, descriptors)`` of a normalised name. A name made only of descriptors ("Data
    Systems") is its own core, with no descriptors. Runs of single letters that spell a legal
    form ("s a s" from "S.A.S.") are dropped from the core."""
    words = key.split()
    core: list[str] = []
    found: set[str] = set()
    index = 0
    while index < len(words):
        word = words[index]
        if len(word) == 1:
            end = index
            while end < len(words) and len(words[end]) == 1:
                end += 1
            if "".join(words[index:end]) in LEGAL_WORDS:
                index = end
                continue
        meaning = descriptor(word)
        if meaning:
            found.add(meaning)
        else:
            core.append(word)
        index += 1
    if not core:
        return key, []
    return " ".join(core), sorted(found)


def descriptors_compatible(mine: list[str], theirs: list[str]) -> bool:
    """Two names can be the same company unless both say what they do and say different things."""
    return not mine or not theirs or bool(set(mine) & set(theirs))
