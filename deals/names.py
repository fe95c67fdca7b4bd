"""Company names as conflict detection compares them.

A registered customer name is reduced in two steps:

1. ``normalise_company_name`` folds it the way people write one name in several ways — Unicode
   compatibility forms (full-width "ＡＣＭＥ", ligatures), case (German "ß" is "ss"), accents on
   Latin and Greek letters ("Société" is "societe", "Škoda" is "skoda") and the Nordic letters
   ("Bjørn" is "bjorn") — keeps the words of every script, and drops legal forms in several
   languages ("Acme Corp", "ACME Corporation Ltd." and "Acme GmbH" are all ``acme``;
   "トヨタ自動車株式会社" is "トヨタ自動車"). Letters that are different letters stay
   different: "Müller" and "Möller" are two companies, Cyrillic "й" is not "и", Japanese "ガ" is
   not "カ". The result is ``Deal.customer_key``; equal keys are the same customer.

   The key is ASCII whatever the name's script: a letter outside ASCII is written as five
   capital letters (``_encode``). PostgreSQL's trigram functions decide what a letter is by the
   database's locale — under the C locale "東京電力" has no trigrams at all and "Москва" is not
   "москва" — so a key in ASCII is compared the same way by every server; capitals never occur
   in the lower-cased ASCII words, so no two names share a key by accident.
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

import unicodedata
from difflib import SequenceMatcher
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
        # Cyrillic (Russian, Ukrainian, Bulgarian) and Greek forms
        "ооо",
        "оао",
        "зао",
        "пао",
        "ао",
        "ип",
        "тов",
        "пат",
        "еоод",
        "оод",
        "ад",
        "αε",
        "επε",
        "ικε",
        "οε",
        "εε",
        # "(株)" and "(有)", as "㈱" and "㈲" are written out
        "株",
        "有",
    }
)

# More legal forms in Latin letters (German, French, Spanish, Nordic, Czech): dropped from the core
# only, so that the keys stored before them stay what the same name gives today.
MORE_LEGAL_FORMS = frozenset(
    {
        "kg",
        "kgaa",
        "ohg",
        "ug",
        "mbh",
        "ev",
        "se",
        "sasu",
        "eurl",
        "snc",
        "sl",
        "slu",
        "asa",
        "aps",
        "oyj",
        "hf",
        "ehf",
        "sro",
        "spol",
        "vos",
    }
)
_ALL_LEGAL_FORMS = LEGAL_WORDS | MORE_LEGAL_FORMS

# Legal forms written without spaces before or after the name in Japanese and Chinese
# ("トヨタ自動車株式会社", "株式会社ソニー", "华为技术有限公司"); longest first.
LEGAL_AFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "有限責任公司",
    "株式会社",
    "有限会社",
    "合同会社",
    "合資会社",
    "合名会社",
    "有限公司",
    "集团公司",
    "集團公司",
    "公司",
    "集团",
    "集團",
)

# Letters that are one letter with or without a diacritic to the people who write them but that
# Unicode does not decompose: folded for comparison as they are commonly written in ASCII.
FOLDED_LETTERS = {
    "ø": "o",
    "æ": "ae",
    "œ": "oe",
    "ð": "d",
    "þ": "th",
    "đ": "d",
    "ł": "l",
    "ı": "i",
    "ħ": "h",
    "ŧ": "t",
}

# Combining marks removed in the scripts whose accents do not make another letter. In Cyrillic
# only the diaeresis of "ё" goes ("й" and "ї" are letters of their own); in other scripts (the
# Japanese voicing marks of "ガ", for one) every mark stays.
_CYRILLIC_FOLDED_MARKS = {"\u0308": {"е"}}

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


@lru_cache(maxsize=4096)
def _script(character: str) -> str:
    """The first word of the character's Unicode name: LATIN, GREEK, CYRILLIC, CJK…"""
    return unicodedata.name(character, "").split(" ", 1)[0]


def _fold(text: str) -> str:
    """Compatibility forms, case and, where they do not make another letter, accents folded."""
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).casefold())
    folded: list[str] = []
    base = ""
    for character in decomposed:
        if unicodedata.combining(character):
            script = _script(base) if base else ""
            if script in ("LATIN", "GREEK"):
                continue
            if script == "CYRILLIC" and base in _CYRILLIC_FOLDED_MARKS.get(character, ()):
                continue
            folded.append(character)
            continue
        base = character
        folded.append(FOLDED_LETTERS.get(character, character))
    return unicodedata.normalize("NFC", "".join(folded))


def _folded_letters(name: str) -> tuple[str, list[bool]]:
    """The name folded letter by letter, and for each folded letter whether the name wrote it with
    a diacritic or as a letter of its own ("ü", "ø"): what ``differ_in_accented_letters`` compares."""
    letters: list[str] = []
    accented: list[bool] = []
    for character in unicodedata.normalize("NFKC", name or "").casefold():
        folded = _fold(character)
        for letter in folded:
            if unicodedata.category(letter)[0] in "LN":
                letters.append(letter)
                accented.append(folded != character)
    return "".join(letters), accented


def differ_in_accented_letters(first: str, second: str) -> bool:
    """Whether two names differ where both wrote an accented letter: "Müller" and "Möller" are two
    companies, though their folded keys are one letter apart ("muller", "moller") and trigrams
    find them similar. "Société" and "Societe" do not differ (the same letters, accents dropped),
    nor do "Müller" and "Moller" here (a plain letter against an accented one is a spelling
    difference; the similarity decides)."""
    a_letters, a_accented = _folded_letters(first)
    b_letters, b_accented = _folded_letters(second)
    matcher = SequenceMatcher(None, a_letters, b_letters, autojunk=False)
    for operation, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        if (
            operation == "replace"
            and a_end - a_start == b_end - b_start
            and all(a_accented[a_start:a_end])
            and all(b_accented[b_start:b_end])
        ):
            return True
    return False


def _words(text: str) -> list[str]:
    """Runs of letters, marks and digits of any script; everything else separates words."""
    words: list[str] = []
    current: list[str] = []
    for character in text:
        if unicodedata.category(character)[0] in "LMN":
            current.append(character)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


def _without_legal_affixes(word: str) -> str:
    if word.isascii():
        return word
    shortened = True
    while shortened:
        shortened = False
        for affix in LEGAL_AFFIXES:
            if len(word) > len(affix) and (word.endswith(affix) or word.startswith(affix)):
                word = word[: -len(affix)] if word.endswith(affix) else word[len(affix) :]
                shortened = True
                break
    return word


def _without_spelt_legal_forms(words: list[str]) -> list[str]:
    """Drops runs of single non-ASCII letters that spell a legal form ("Α.Ε." is "α ε"); ASCII
    runs ("S.A.S.") are dropped from the core by ``split_company_key``, as keys always were."""
    kept: list[str] = []
    index = 0
    while index < len(words):
        end = index
        while end < len(words) and len(words[end]) == 1 and not words[end].isascii():
            end += 1
        if end - index >= 2 and "".join(words[index:end]) in LEGAL_WORDS:
            index = end
            continue
        kept.append(words[index])
        index += 1
    return kept


# 26**5 codes cover every code point; multiplying by a number prime to 26 scrambles neighbours
# ("ガ" U+30AC and "カ" U+30AB) so that they share no letters of their codes.
_CODE_SPACE = 26**5
_SCRAMBLE = 7_919_003


@lru_cache(maxsize=8192)
def _encode_character(character: str) -> str:
    number = (ord(character) * _SCRAMBLE) % _CODE_SPACE
    letters = []
    for _ in range(5):
        number, digit = divmod(number, 26)
        letters.append(chr(ord("A") + digit))
    return "".join(letters)


def _encode(word: str) -> str:
    if word.isascii():
        return word
    return "".join(character if character.isascii() else _encode_character(character) for character in word)


def normalise_company_name(name: str) -> str:
    words = _without_spelt_legal_forms(_words(_fold(name or "")))
    words = [_without_legal_affixes(word) for word in words]
    kept = [word for word in words if word not in LEGAL_WORDS]
    return " ".join(_encode(word) for word in (kept or words))


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
    form ("s a s" from "S.A.S.") and the legal forms of ``MORE_LEGAL_FORMS`` after the first word
    are dropped from the core."""
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
            if "".join(words[index:end]) in _ALL_LEGAL_FORMS:
                index = end
                continue
        if index > 0 and word in MORE_LEGAL_FORMS:  # "Equinor ASA", not "Asa Foods"
            index += 1
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
