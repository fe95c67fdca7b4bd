"""Company and contact names for generated data: invented words, surnames, adjective + noun +
industry, legal suffixes; a pool of distinct companies drawn Zipf-like (the same customer is
registered by many partners) and names nobody has used yet."""

from __future__ import annotations

import random
import zlib
from bisect import bisect
from collections.abc import Callable
from itertools import accumulate


def words(text: str) -> list[str]:
    return text.split()


SYLLABLES = words(
    "ac al an ar ax be bra ca cor da del dyn el en ev fa fin gen gra hal in is jo ka kin la lex lu "
    "ma mer mo na nex no nor ob om pa pol qua ra ren ro sa sol ta ter tri ul va ver vi xa ya zen zo"
)
SURNAMES = words(
    "Abbott Becker Carter Dalton Engel Fischer Garcia Hansen Ito Jensen Kowalski Larsen Moreau "
    "Nakamura Olsen Patel Quinn Rossi Schmidt Tanaka Umar Varga Weber Xu Young Zimmer Adams Baker "
    "Clarke Dubois Evans Ferrari Gomez Hughes Ivanov Jones Keller Lambert Martin Novak Ortega Price "
    "Richter Silva Thompson Vogel Walsh Yamamoto Bauer Costa Dahl Eriksen Fontaine Greco Hall Iqbal "
    "Kim Lopez Meyer"
)
ADJECTIVES = words(
    "Blue Northern Global Prime Summit Silver Pacific Atlantic Apex Bright Cedar Coastal Crystal "
    "Delta Eagle Evergreen First Golden Granite Harbor Highland Iron Keystone Lake Liberty "
    "Lighthouse Maple Meridian Metro Midwest Mountain National Nova Oak Omega Pinnacle Pioneer "
    "Quantum Red Redwood Riverside Royal Sapphire Sierra Southern Star Sterling Sun Titan Trinity "
    "United Valley Vertex Vista Western White Wild Zenith"
)
NOUNS = words(
    "River Stone Bridge Peak Field Harbor Rock Wave Point Ridge Forest Gate Line Path Crest Brook "
    "Port Hill Bay Creek Falls Grove Haven Key Lane Mill Park Spring Tower Way Arrow Beacon Canyon "
    "Dune Ember Fjord Glacier Horizon Island Lantern Meadow Orbit Prairie Quarry Signal Summit "
    "Timber Tide Willow"
)
INDUSTRIES = words(
    "Logistics Systems Solutions Technologies Analytics Health Energy Foods Retail Manufacturing "
    "Capital Insurance Pharma Media Telecom Software Networks Consulting Engineering Construction "
    "Motors Airlines Shipping Labs Robotics Bank Hotels Textiles Chemicals Utilities Mining Steel "
    "Apparel Security Cloud Data Devices Semiconductors Biotech Partners Industries Services "
    "Aerospace Agriculture Automotive Brewing Dental Education Finance Games"
)
SUFFIXES = [
    "Inc",
    "Inc.",
    "Ltd",
    "Ltd.",
    "LLC",
    "GmbH",
    "AG",
    "SA",
    "S.A.S.",
    "BV",
    "NV",
    "Oy",
    "AB",
    "plc",
    "Pty Ltd",
    "Corp",
    "Corporation",
    "Co.",
    "KK",
    "Group",
    "",
]
SUFFIX_WEIGHTS = [12, 4, 8, 3, 8, 8, 4, 3, 2, 3, 1, 1, 2, 3, 3, 5, 3, 2, 1, 3, 12]
TLDS = ["com"] * 10 + ["de", "co.uk", "fr", "io", "net", "com.au", "co.jp", "nl", "es", "it"]
FIRST_NAMES = words(
    "Anna Ben Chloe David Emma Felix Grace Hugo Iris Jack Kira Liam Maya Noah Olga Paul Rosa Sven"
)


def invented_word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(syllables)).capitalize()


def company_base(rng: random.Random) -> str:
    pattern = rng.random()
    if pattern < 0.45:
        return f"{invented_word(rng, rng.choice((2, 3)))} {rng.choice(INDUSTRIES)}"
    if pattern < 0.55:
        return f"{rng.choice(SURNAMES)} & {rng.choice(SURNAMES)}"
    if pattern < 0.62:
        return f"{rng.choice(SURNAMES)} {rng.choice(INDUSTRIES)}"
    if pattern < 0.90:
        return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {rng.choice(INDUSTRIES)}"
    return f"{rng.choice(ADJECTIVES)} {invented_word(rng, 2)}"


def with_suffix(rng: random.Random, base: str) -> str:
    suffix = rng.choices(SUFFIXES, SUFFIX_WEIGHTS)[0]
    return f"{base} {suffix}" if suffix else base


def domain_for(base: str, normalise: Callable[[str], str]) -> str:
    """The same company (base name) always gets the same domain, whatever its legal suffix."""
    label = normalise(base).replace(" ", "")[:60] or "company"
    return f"{label}.{TLDS[zlib.crc32(base.encode()) % len(TLDS)]}"


class CompanyPool:
    """~``size`` distinct company names; some bases appear with two legal suffixes (as when two
    partners type "Acme Inc" and "ACME Ltd"). Popularity is Zipf-like: big customers are
    registered by many partners."""

    def __init__(self, rng: random.Random, size: int, normalise: Callable[[str], str]) -> None:
        entries: list[tuple[str, str]] = []  # (name, base)
        seen: set[str] = set()
        bases: set[str] = set()
        while len(entries) < size:
            base = company_base(rng)
            if base in bases:
                continue
            bases.add(base)
            for _ in range(2 if rng.random() < 0.25 else 1):
                name = with_suffix(rng, base)
                if name not in seen:
                    seen.add(name)
                    entries.append((name, base))
        rng.shuffle(entries)  # popularity rank is the position in the list
        self.names = [name for name, _ in entries]
        self.keys = [normalise(name) for name in self.names]
        self.domains = [domain_for(base, normalise) for _, base in entries]
        # Zipf-like: with 300k names the most popular customer gets ~0.03% of all deals (~300 of
        # 1M) and the top 1,000 customers ~17%; the median name is used a couple of times.
        self.cum_weights = list(accumulate(1.0 / (rank + 500) for rank in range(len(entries))))

    def pick(self, rng: random.Random) -> int:
        return bisect(self.cum_weights, rng.random() * self.cum_weights[-1])


def new_company(rng: random.Random, normalise: Callable[[str], str]) -> tuple[str, str]:
    """A customer probably nobody has registered yet (made of the same words, as real names are);
    the caller checks the database."""
    base = f"{invented_word(rng, 3)} {rng.choice(INDUSTRIES)}"
    if rng.random() < 0.3:
        base = f"{rng.choice(ADJECTIVES)} {invented_word(rng, 3)}"
    return with_suffix(rng, base), domain_for(base, normalise)
