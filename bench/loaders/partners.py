"""Vendor users, partners (tiers from the migration, regions, statuses) and one admin and one
sales member per partner.

User ids follow from partner ids (``partner_user_ids``), so other loaders can name a partner's
people without reading them back.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bench.loaders.bulk import check_columns, copy_rows, create_stage, insert_from_stage
from bench.loaders.timeline import DAY, Timeline
from bench.names import invented_word

USER_COLUMNS = (
    "id",
    "password",
    "last_login",
    "is_superuser",
    "email",
    "full_name",
    "vendor_role",
    "is_staff",
    "is_active",
    "date_joined",
    "email_notifications",
    "notification_channels",
    "notification_digest",
    "language",  # blank: the browser's (prm.i18n)
)
PARTNER_COLUMNS = (
    "id",
    "legal_name",
    "partner_type",
    "country",
    "region",
    "website_domain",
    "phone",
    "contact_email",
    "logo",
    "status",
    "tier_id",
    "channel_account_manager_id",
    "agreement_version",
    "agreement_accepted_by_id",
    "agreement_accepted_at",
    "created_at",
    "updated_at",
)
MEMBERSHIP_COLUMNS = ("id", "user_id", "partner_id", "role", "is_active", "job_title", "created_at")
VENDOR_USERS = 21  # user 1: program admin; users 2..21: channel account managers

REGIONS = {
    "na": (["US"] * 5 + ["CA"], ["USD"]),
    "latam": (["BR", "MX", "AR", "CL", "CO"], ["USD"]),
    "emea": (["DE", "GB", "FR", "NL", "ES", "IT", "SE", "PL", "ZA", "AE"], ["EUR", "EUR", "GBP", "CHF"]),
    "apac": (["JP", "AU", "IN", "SG", "KR"], ["USD", "AUD", "JPY", "INR"]),
}
REGION_WEIGHTS = {"na": 40, "emea": 35, "apac": 17, "latam": 8}
PARTNER_TYPES = ["reseller"] * 5 + ["distributor", "isv", "msp", "msp", "referral", "service_provider"]
TIER_WEIGHTS = {"Registered": 50, "Silver": 30, "Gold": 15, "Platinum": 5}


def check_tables() -> None:
    from partners.models import Membership, Partner
    from prm.models import User

    for model, columns in (
        (User, USER_COLUMNS),
        (Partner, PARTNER_COLUMNS),
        (Membership, MEMBERSHIP_COLUMNS),
    ):
        check_columns(model, columns)


def partner_user_ids(partner_id: int) -> tuple[int, int]:
    """(admin, sales) user ids of a loaded partner."""
    return VENDOR_USERS + 2 * partner_id - 1, VENDOR_USERS + 2 * partner_id


def channel_account_manager_id(partner_id: int) -> int:
    """The vendor user who manages (and reviews the deals of) a loaded partner."""
    return 2 + partner_id % (VENDOR_USERS - 1)


@dataclass
class LoadedPartners:
    """What the other loaders need to know about the loaded partners (lists indexed by partner
    id; index 0 is unused)."""

    count: int
    users: int
    region: list[str]
    tier: list[int]
    tier_discount: dict[int, str]
    partner_type: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    created: list[datetime] = field(default_factory=list)


def load_partners(*, rng: random.Random, timeline: Timeline, partners: int) -> LoadedPartners:
    from django.conf import settings
    from django.db import connection

    from partners.models import Tier
    from prm.tenancy import system_scope

    n = partners
    agreement = settings.PRM["PARTNER_AGREEMENT_VERSION"]
    tiers = dict(Tier.objects.values_list("name", "id"))
    tier_discount = {
        tier_id: str(discount)
        for tier_id, discount in Tier.objects.values_list("id", "deal_registration_discount_percent")
    }
    tier_names = list(TIER_WEIGHTS)
    regions = list(REGION_WEIGHTS)
    partner_region: list[str] = [""]
    partner_tier: list[int] = [0]
    partner_type: list[str] = [""]
    partner_status: list[str] = [""]
    partner_created: list[datetime] = [timeline.now]
    partner_rows = []
    for pid in range(1, n + 1):
        region = rng.choices(regions, REGION_WEIGHTS.values())[0]
        country = rng.choice(REGIONS[region][0])
        tier_id = tiers[rng.choices(tier_names, TIER_WEIGHTS.values())[0]]
        status = rng.choices(
            ["active", "onboarding", "prospect", "suspended", "terminated"], [88, 4, 2, 3, 3]
        )[0]
        base = f"{invented_word(rng, 2)} {rng.choice(['IT', 'Networks', 'Systems', 'Solutions'])}"
        admin_id, _ = partner_user_ids(pid)
        created = timeline.ts(rng.uniform(400, 1800) * DAY)
        current = status == "active" or rng.random() < 0.5
        # Drawn in the order the row's fields were always drawn in, so a seed gives the same data.
        legal_name = f"{base} {pid} {rng.choice(['Inc', 'GmbH', 'Ltd', 'BV', 'Pty Ltd'])}"
        partner_region.append(region)
        partner_tier.append(tier_id)
        partner_type.append(rng.choice(PARTNER_TYPES))
        partner_status.append(status)
        partner_created.append(created)
        partner_rows.append(
            (
                pid,
                legal_name,
                partner_type[-1],
                country,
                region,
                f"partner{pid}.example",
                "",
                f"contact@partner{pid}.example",
                "",
                status,
                tier_id,
                channel_account_manager_id(pid),
                agreement if current else "",
                admin_id if current else None,
                created + timedelta(days=3) if current else None,
                created,
                created,
            )
        )

    def users() -> Any:
        joined = timeline.ts(2000 * DAY)
        yield (1, "!bench", None, False, "admin@vendor.bench", "Bench Admin", "program_admin",
               True, True, joined, True, "{}", False, "")  # fmt: skip
        for uid in range(2, VENDOR_USERS + 1):
            yield (uid, "!bench", None, False, f"cam{uid}@vendor.bench", f"CAM {uid}",
                   "channel_account_manager", False, True, joined, True, "{}", False, "")  # fmt: skip
        for pid in range(1, n + 1):
            admin_id, sales_id = partner_user_ids(pid)
            yield (admin_id, "!bench", None, False, f"admin@partner{pid}.example", f"Admin {pid}", "",
                   False, True, joined, True, "{}", False, "")  # fmt: skip
            yield (sales_id, "!bench", None, False, f"sales@partner{pid}.example", f"Sales {pid}", "",
                   False, True, joined, True, "{}", False, "")  # fmt: skip

    def memberships() -> Any:
        for pid in range(1, n + 1):
            admin_id, sales_id = partner_user_ids(pid)
            created = partner_rows[pid - 1][-1]
            yield (2 * pid - 1, admin_id, pid, "admin", True, "Managing director", created)
            yield (2 * pid, sales_id, pid, "sales", True, "Account executive", created)

    with system_scope():
        cursor = connection.connection.cursor()
        n_users = copy_rows(cursor, "prm_user", USER_COLUMNS, users())
        # The partner tables have forced row-level security: through a staging table (bench.loaders.bulk).
        for table, columns, rows in (
            ("partners_partner", PARTNER_COLUMNS, partner_rows),
            ("partners_membership", MEMBERSHIP_COLUMNS, memberships()),
        ):
            stage = create_stage(cursor, table, on_commit="DROP")
            copy_rows(cursor, stage, columns, rows)
            insert_from_stage(cursor, table, stage, columns)
    return LoadedPartners(
        count=n,
        users=n_users,
        region=partner_region,
        tier=partner_tier,
        tier_discount=tier_discount,
        partner_type=partner_type,
        status=partner_status,
        created=partner_created,
    )
