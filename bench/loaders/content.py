"""Content: categories, assets (files with versions, and links) with audience rules, a few
announcements, and the partner users' usage: downloads (the wanted number), as many views, and a
few co-branded downloads.

Every version's file points at one of the small placeholder files (``bench.loaders.files``), so
any download works. Usage respects entitlement as ``content.policies.audience_q`` reads it: a
partner uses only published assets its tier, type and region are entitled to, inside the asset's
window (and before it was archived); busy partners and popular assets (Zipf-like) account for most
events. The full-text vector is written as ``content.services.refresh_search`` writes it.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate

from bench.loaders import files
from bench.loaders.bulk import check_columns, copy_into, load_rows
from bench.loaders.partners import REGION_WEIGHTS, LoadedPartners
from bench.loaders.people import People
from bench.loaders.timeline import DAY, Timeline
from bench.log import log

CATEGORY_COLUMNS = ("id", "name", "slug")
ASSET_COLUMNS = (
    "id",
    "title",
    "description",
    "category_id",
    "tags",
    "kind",
    "url",
    "status",
    "cobrandable",
    "cobrand_template",
    "current_version_id",
    "search",
    "created_by_id",
    "created_at",
    "updated_at",
    "published_at",
    "partner_types",
    "regions",
    "publish_at",
    "expires_at",
)
ASSET_TIER_COLUMNS = ("id", "asset_id", "tier_id")
VERSION_COLUMNS = (
    "id",
    "asset_id",
    "number",
    "file",
    "original_filename",
    "size",
    "content_type",
    "uploaded_by_id",
    "created_at",
)
EVENT_COLUMNS = ("id", "partner_id", "user_id", "asset_id", "version_id", "kind", "at")
ANNOUNCEMENT_COLUMNS = (
    "id",
    "title",
    "body",
    "link",
    "created_by_id",
    "created_at",
    "partner_types",
    "regions",
    "publish_at",
    "expires_at",
)
ANNOUNCEMENT_TIER_COLUMNS = ("id", "announcement_id", "tier_id")
TABLES = (
    "content_category",
    "content_asset",
    "content_asset_tiers",
    "content_assetversion",
    "content_assetevent",
    "content_announcement",
    "content_announcement_tiers",
)

CATEGORIES = [
    "Brochures",
    "Datasheets",
    "Case studies",
    "Presentations",
    "Solution briefs",
    "Videos",
    "Logos and brand",
    "Price lists",
    "Training materials",
    "Campaign kits",
    "Whitepapers",
    "Competitive",
]
SUBJECTS = [
    "Edge Firewall",
    "Secure Access",
    "Threat Analytics",
    "Zero trust",
    "Cloud backup",
    "Storage",
    "SD-WAN",
    "Collaboration",
    "Managed services",
    "Public sector",
    "Healthcare",
    "Retail",
    "Financial services",
    "Ransomware",
    "Compliance",
]
TAGS = [
    "security",
    "networking",
    "cloud",
    "storage",
    "smb",
    "enterprise",
    "public sector",
    "healthcare",
    "retail",
    "finance",
    "zero trust",
    "campaign",
    "pricing",
    "competitive",
    "launch",
]
PARTNER_TYPE_GROUPS = [["msp", "service_provider"], ["reseller", "distributor"], ["isv"], ["referral"]]
TEMPLATE = (
    "<h1>{{ partner.legal_name }}</h1><p>{{ partner.logo }}</p>"
    "<p>Your local partner for the platform. Contact {{ user.name }} at {{ user.email }} or "
    "{{ partner.phone }}; {{ partner.website }}.</p>"
)
VIEWS_PER_DOWNLOAD = 1.0
COBRANDED_SHARE = 0.02


def check_tables() -> None:
    from content.models import Announcement, Asset, AssetEvent, AssetVersion, Category

    for model, columns in (
        (Category, CATEGORY_COLUMNS),
        (Asset, ASSET_COLUMNS),
        (Asset.tiers.through, ASSET_TIER_COLUMNS),
        (AssetVersion, VERSION_COLUMNS),
        (AssetEvent, EVENT_COLUMNS),
        (Announcement, ANNOUNCEMENT_COLUMNS),
        (Announcement.tiers.through, ANNOUNCEMENT_TIER_COLUMNS),
    ):
        check_columns(model, columns)


def pg_array(values: list[str]) -> str:
    return "{" + ",".join(f'"{value}"' for value in values) + "}"


def stamp(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC)


@dataclass
class AssetInfo:
    id: int
    usable: bool  # published, a file with a version or a link
    kind: str
    cobrandable: bool
    tiers: frozenset[int]
    types: frozenset[str]
    regions: frozenset[str]
    opens: float  # usable from
    closes: float  # usable until (expiry, archiving, now)
    versions: list[tuple[float, int]]  # (created, id), oldest first


@dataclass
class LoadedContent:
    assets: int
    versions: int
    downloads: int
    events: int


class ContentLoader:
    def __init__(
        self,
        *,
        rng: random.Random,
        timeline: Timeline,
        partners: LoadedPartners,
        people: People,
        weights: list[float],
    ) -> None:
        self.rng = rng
        self.timeline = timeline
        self.now = timeline.now_ts
        self.partners = partners
        self.people = people
        self.weights = weights

    def load(self, *, assets: int, downloads: int) -> LoadedContent:
        from django.db import connection

        from content.services import SEARCH_CONFIG
        from partners.models import Tier
        from prm.tenancy import system_scope

        rng, now = self.rng, self.now
        tiers = dict(Tier.objects.values_list("name", "pk"))
        tier_groups = [
            [tiers["Gold"], tiers["Platinum"]],
            [tiers["Silver"], tiers["Gold"], tiers["Platinum"]],
            [tiers["Platinum"]],
        ]
        regions = list(REGION_WEIGHTS)
        author = self.people.content_manager
        category_rows = [
            (index, name, name.lower().replace(" ", "-")) for index, name in enumerate(CATEGORIES, 1)
        ]
        asset_rows, tier_rows, version_rows = [], [], []
        infos: list[AssetInfo] = []
        for asset_id in range(1, assets + 1):
            subject = rng.choice(SUBJECTS)
            category = rng.randrange(len(CATEGORIES))
            kind = "link" if rng.random() < 0.15 else "file"
            status = rng.choices(["published", "archived", "draft"], [85, 8, 7])[0]
            created = now - rng.uniform(5, 900) * DAY
            rule = rng.random()
            asset_tiers: list[int] = []
            types: list[str] = []
            asset_regions: list[str] = []
            if rule < 0.15:
                asset_tiers = rng.choice(tier_groups)
            elif rule < 0.25:
                asset_regions = [rng.choice(regions)]
            elif rule < 0.35:
                types = rng.choice(PARTNER_TYPE_GROUPS)
            elif rule < 0.40:
                asset_tiers, asset_regions = rng.choice(tier_groups), [rng.choice(regions)]
            publish_at = created + rng.uniform(1, 30) * DAY if rng.random() < 0.2 else None
            expires_at = None
            if rng.random() < 0.15:
                expires_at = (publish_at or created) + rng.uniform(60, 720) * DAY
            versions: list[tuple[float, int]] = []
            if kind == "file" and (status != "draft" or rng.random() < 0.5):
                moment = created
                for number in range(1, rng.choice((1, 1, 1, 2, 3)) + 1):
                    moment = min(moment + (rng.uniform(20, 200) * DAY if number > 1 else 3600), now - 3600)
                    version_id = len(version_rows) + 1
                    key = rng.choice(files.ASSET_KEYS)
                    extension = key.rsplit(".", 1)[1]
                    version_rows.append(
                        (
                            version_id,
                            asset_id,
                            number,
                            key,
                            f"{subject.lower().replace(' ', '-')}-v{number}.{extension}",
                            files.size_of(key),
                            files.content_type_of(key),
                            author,
                            stamp(moment),
                        )
                    )
                    versions.append((moment, version_id))
            published_at = None
            if status in ("published", "archived"):
                published_at = (versions[0][0] if versions else created) + rng.uniform(0.1, 5) * DAY
                published_at = min(published_at, now - 3600)
            updated = published_at or created
            closes = min(expires_at or now, now)
            if status == "archived":
                updated = closes = min(updated + rng.uniform(10, 300) * DAY, now - 3600)
            cobrandable = kind == "file" and status == "published" and rng.random() < 0.05
            usable = status == "published" and (kind == "link" or bool(versions))
            opens = max(published_at or now, publish_at or 0.0)
            title = f"{subject}: {CATEGORIES[category].lower()} {asset_id}"
            tags = rng.sample(TAGS, rng.randint(1, 4))
            asset_rows.append(
                (
                    asset_id,
                    title,
                    f"{subject} for partners: what it is, who buys it and how to position it.",
                    category + 1,
                    pg_array(tags),
                    kind,
                    f"https://www.vendor.example/resources/{asset_id}" if kind == "link" else "",
                    status,
                    cobrandable,
                    TEMPLATE if cobrandable else "",
                    versions[-1][1] if versions else None,
                    None,
                    author,
                    stamp(created),
                    stamp(updated),
                    stamp(published_at),
                    pg_array(types),
                    pg_array(asset_regions),
                    stamp(publish_at),
                    stamp(expires_at),
                )
            )
            for tier_id in asset_tiers:
                tier_rows.append((len(tier_rows) + 1, asset_id, tier_id))
            infos.append(
                AssetInfo(
                    id=asset_id,
                    usable=usable and opens < closes,
                    kind=kind,
                    cobrandable=cobrandable,
                    tiers=frozenset(asset_tiers),
                    types=frozenset(types),
                    regions=frozenset(asset_regions),
                    opens=opens,
                    closes=closes,
                    versions=versions,
                )
            )
        announcement_rows, announcement_tier_rows = self._announcements(tier_groups, author)
        events = self._events(infos, downloads)

        load_rows("content_category", CATEGORY_COLUMNS, category_rows)
        # The asset and its current version point at each other: both in one transaction (the
        # foreign keys are checked at commit).
        with system_scope():
            cursor = connection.connection.cursor()
            copy_into(cursor, "content_asset", ASSET_COLUMNS, asset_rows)
            copy_into(cursor, "content_assetversion", VERSION_COLUMNS, version_rows)
            copy_into(cursor, "content_asset_tiers", ASSET_TIER_COLUMNS, tier_rows)
            # content.services.refresh_search's vector: title (A), tags and category (B),
            # description (C).
            cursor.execute(
                """
                UPDATE content_asset a
                   SET search = setweight(to_tsvector(%(config)s::regconfig, coalesce(a.title, '')), 'A')
                             || setweight(to_tsvector(%(config)s::regconfig,
                                          array_to_string(a.tags, ' ') || ' ' || c.name), 'B')
                             || setweight(to_tsvector(%(config)s::regconfig,
                                          coalesce(a.description, '')), 'C')
                  FROM content_category c
                 WHERE c.id = a.category_id
                """,
                {"config": SEARCH_CONFIG},
            )
        load_rows("content_announcement", ANNOUNCEMENT_COLUMNS, announcement_rows)
        load_rows("content_announcement_tiers", ANNOUNCEMENT_TIER_COLUMNS, announcement_tier_rows)
        n_events = load_rows("content_assetevent", EVENT_COLUMNS, events)
        files.ensure_placeholders()
        n_downloads = sum(1 for event in events if event[5] == "download")
        log(
            f"content: {len(asset_rows):,} assets, {len(version_rows):,} versions, {n_events:,} events "
            f"({n_downloads:,} downloads)"
        )
        return LoadedContent(
            assets=len(asset_rows), versions=len(version_rows), downloads=n_downloads, events=n_events
        )

    def _announcements(self, tier_groups: list[list[int]], author: int) -> tuple[list[tuple], list[tuple]]:
        rng, now = self.rng, self.now
        rows, tier_rows = [], []
        for number in range(1, 9):
            created = now - rng.uniform(1, 120) * DAY
            expires = created + rng.uniform(20, 90) * DAY
            rows.append(
                (
                    number,
                    f"Program news {number}",
                    "New SPIFs this quarter.\nRegister your deals early to keep the protection.",
                    "https://www.vendor.example/news" if number % 2 else "",
                    author,
                    stamp(created),
                    "{}",
                    "{}" if number % 3 else pg_array([rng.choice(list(REGION_WEIGHTS))]),
                    stamp(created),
                    stamp(expires),
                )
            )
            if number % 4 == 0:
                for tier_id in rng.choice(tier_groups):
                    tier_rows.append((len(tier_rows) + 1, number, tier_id))
        return rows, tier_rows

    def _events(self, infos: list[AssetInfo], downloads: int) -> list[tuple]:
        """Downloads, views and co-branded downloads by entitled partners' active members."""
        rng, now = self.rng, self.now
        partners = self.partners
        pids = [
            pid
            for pid in range(1, partners.count + 1)
            if partners.status[pid] in ("active", "onboarding", "prospect")
            and self.people.active_members(pid)
        ]
        if not pids:
            return []
        partner_cum = list(accumulate(self.weights[pid] for pid in pids))
        usable = [info for info in infos if info.usable]
        # Popularity: Zipf-like over a shuffled order.
        popularity = {
            info.id: 1.0 / rank**0.8 for rank, info in enumerate(rng.sample(usable, len(usable)), 1)
        }
        entitled: dict[tuple, tuple[list[AssetInfo], list[float]]] = {}

        def choices_for(pid: int) -> tuple[list[AssetInfo], list[float]]:
            key = (partners.tier[pid], partners.partner_type[pid], partners.region[pid])
            if key not in entitled:
                tier, partner_type, region = key
                mine = [
                    info
                    for info in usable
                    if (not info.tiers or tier in info.tiers)
                    and (not info.types or partner_type in info.types)
                    and (not info.regions or region in info.regions)
                ]
                entitled[key] = (mine, list(accumulate(popularity[info.id] for info in mine)))
            return entitled[key]

        events: list[tuple] = []
        wanted = {
            "download": downloads,
            "view": round(downloads * VIEWS_PER_DOWNLOAD),
            "cobranded": round(downloads * COBRANDED_SHARE),
        }
        members: dict[int, list[int]] = defaultdict(list)
        for kind, count in wanted.items():
            made = tries = 0
            while made < count and tries < count * 20:
                tries += 1
                pid = pids[bisect(partner_cum, rng.random() * partner_cum[-1])]
                mine, cum = choices_for(pid)
                if not mine:
                    continue
                info = mine[bisect(cum, rng.random() * cum[-1])]
                if kind == "cobranded" and not info.cobrandable:
                    continue
                if pid not in members:
                    members[pid] = self.people.active_members(pid)
                user_id = rng.choice(members[pid])
                opens = max(info.opens, self.people.joined_at(user_id), partners.created[pid].timestamp())
                if opens >= info.closes:
                    continue
                at = opens + (info.closes - opens) * rng.random() ** 0.7
                at = min(at, now - 1)
                version = None
                if kind != "view" and info.versions:
                    index = bisect(info.versions, (at, float("inf"))) - 1
                    version = info.versions[max(index, 0)][1]
                events.append((at, pid, user_id, info.id, version, kind))
                made += 1
        events.sort()
        return [
            (number, pid, user_id, asset_id, version, kind, stamp(at))
            for number, (at, pid, user_id, asset_id, version, kind) in enumerate(events, start=1)
        ]
