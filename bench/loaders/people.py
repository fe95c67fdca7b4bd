"""The rest of the portal's people: more members per partner (learners, marketing, more sales and
admins) on top of the admin and sales user of ``bench.loaders.partners``, so that the users reach
the wanted total with a realistic skew (the busiest partners ~100 people, most 5-10); the vendor
staff the other apps need (two finance users for the four-eyes rule, a content manager); and each
channel account manager's portfolio (django-guardian ``work_partner``, as the console grants it).

Ids are derived, not read back: users ``VENDOR_USERS + 1 .. VENDOR_USERS + 2 * partners`` are the
admins and sales users (``partner_user_ids``), the extra members of all partners follow in partner
order, then the extra vendor staff; a member's membership id is its user id minus
``VENDOR_USERS``, as for the first two. The partners app defines four roles (admin, sales,
marketing, learner): there is no partner finance role.
"""

from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass
from itertools import accumulate

from bench.loaders.bulk import check_columns, load_rows
from bench.loaders.partners import (
    MEMBERSHIP_COLUMNS,
    USER_COLUMNS,
    VENDOR_USERS,
    LoadedPartners,
    channel_account_manager_id,
    partner_user_ids,
)
from bench.loaders.timeline import DAY, Timeline
from bench.names import FIRST_NAMES, SURNAMES

PERMISSION_COLUMNS = ("id", "permission_id", "user_id", "content_object_id")
# The extra members' roles: learners take the courses, marketing requests the funds.
EXTRA_ROLES = {"learner": 40, "sales": 30, "marketing": 20, "admin": 10}
JOB_TITLES = {
    "admin": "Operations manager",
    "sales": "Account executive",
    "marketing": "Marketing manager",
    "learner": "Systems engineer",
}
# Members who left the company: deactivated, not deleted (their history stays theirs).
INACTIVE_SHARE = 0.04
# Team size grows with the partner's deal activity ``w`` (1 for the busiest) as ``w ** SKEW``:
# with 10,000 partners and 100,000 users that gives the busiest ~100 people and the median ~9.
SKEW = 0.53
BASE_EXTRA = 3


@dataclass
class People:
    """Every partner user: lists indexed by ``user id - first_member`` and by partner id."""

    first_member: int  # the first partner user's id
    role: list[str]
    partner: list[int]
    active: list[bool]
    joined: list[float]  # date_joined as a timestamp
    first_extra: list[int]  # by partner id: the partner's first extra member (if it has any)
    extra: list[int]  # by partner id: how many extra members
    finance: tuple[int, int]  # two vendor finance users: one approves, the other pays
    content_manager: int
    users: int  # every user row, vendor staff included

    def members(self, partner_id: int) -> list[int]:
        """The partner's user ids: admin, sales, then the extra members."""
        start = self.first_extra[partner_id]
        return [*partner_user_ids(partner_id), *range(start, start + self.extra[partner_id])]

    def active_members(self, partner_id: int, roles: set[str] | None = None) -> list[int]:
        return [
            user_id
            for user_id in self.members(partner_id)
            if self.active[user_id - self.first_member]
            and (roles is None or self.role[user_id - self.first_member] in roles)
        ]

    def role_of(self, user_id: int) -> str:
        return self.role[user_id - self.first_member]

    def joined_at(self, user_id: int) -> float:
        return self.joined[user_id - self.first_member]


def check_tables() -> None:
    from partners.models import PartnerUserObjectPermission

    check_columns(PartnerUserObjectPermission, PERMISSION_COLUMNS)


def team_sizes(weights: list[float], extra: int) -> list[int]:
    """How many extra members each partner gets (index = partner id, 0 unused): ``BASE_EXTRA``
    each, the rest in proportion to ``weight ** SKEW``, rounded so they add up to ``extra``."""
    n = len(weights) - 1
    base = min(BASE_EXTRA, extra // n) if n else 0
    rest = extra - base * n
    shares = [0.0] + [weight**SKEW for weight in weights[1:]]
    total = sum(shares) or 1.0
    exact = [rest * share / total for share in shares]
    sizes = [int(value) for value in exact]
    # Largest remainders first, so the sizes add up exactly.
    short = rest - sum(sizes)
    for pid in sorted(range(1, n + 1), key=lambda p: exact[p] - sizes[p], reverse=True)[:short]:
        sizes[pid] += 1
    return [0] + [base + size for size in sizes[1:]]


def load_people(
    *,
    rng: random.Random,
    timeline: Timeline,
    partners: LoadedPartners,
    weights: list[float],
    users: int,
) -> People:
    """Load the extra members so that ``prm_user`` holds ``users`` rows in all, the extra vendor
    staff and the portfolios."""
    from django.contrib.auth.models import Permission

    n = partners.count
    first_member = VENDOR_USERS + 1
    vendor_extra = 3
    extra_total = max(0, users - VENDOR_USERS - 2 * n - vendor_extra)
    sizes = team_sizes(weights, extra_total)
    roles = list(EXTRA_ROLES)
    role_cum = list(accumulate(EXTRA_ROLES.values()))

    member_role: list[str] = []
    member_partner: list[int] = []
    for pid in range(1, n + 1):
        member_role += ["admin", "sales"]
        member_partner += [pid, pid]
    member_active = [True] * len(member_role)
    # As bench.loaders.partners has them: the admin and sales users joined 2,000 days ago.
    member_joined = [timeline.now_ts - 2000 * DAY] * len(member_role)
    first_extra = [0] * (n + 1)
    user_rows: list[tuple] = []
    membership_rows: list[tuple] = []
    next_id = first_member + 2 * n
    for pid in range(1, n + 1):
        first_extra[pid] = next_id
        created = partners.created[pid]
        age = max(DAY, timeline.now_ts - created.timestamp())
        for index in range(sizes[pid]):
            # Every partner with extra members has somebody in marketing, who asks for the funds.
            role = "marketing" if index == 0 else roles[bisect(role_cum, rng.random() * role_cum[-1])]
            active = rng.random() >= INACTIVE_SHARE
            joined = timeline.ts(rng.uniform(0, age))
            user_id = next_id
            next_id += 1
            first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
            user_rows.append(
                (
                    user_id,
                    "!bench",
                    None,
                    False,
                    f"{role}{index + 1}@partner{pid}.example",
                    f"{first} {last}",
                    "",
                    False,
                    True,
                    joined,
                    True,
                    "{}",
                    False,
                    "",
                )
            )
            membership_rows.append(
                (user_id - VENDOR_USERS, user_id, pid, role, active, JOB_TITLES[role], joined)
            )
            member_role.append(role)
            member_partner.append(pid)
            member_active.append(active)
            member_joined.append(joined.timestamp())
    finance = (next_id, next_id + 1)
    content_manager = next_id + 2
    joined = timeline.ts(2000 * DAY)
    for user_id, email, name, vendor_role in (
        (finance[0], "finance1@vendor.bench", "Finance One", "finance"),
        (finance[1], "finance2@vendor.bench", "Finance Two", "finance"),
        (content_manager, "content@vendor.bench", "Content Manager", "content_manager"),
    ):
        user_rows.append(
            (
                user_id,
                "!bench",
                None,
                False,
                email,
                name,
                vendor_role,
                False,
                True,
                joined,
                True,
                "{}",
                False,
                "",
            )
        )

    permission_id = Permission.objects.get(codename="work_partner", content_type__app_label="partners").pk
    portfolio = ((pid, permission_id, channel_account_manager_id(pid), pid) for pid in range(1, n + 1))

    load_rows("prm_user", USER_COLUMNS, user_rows)
    load_rows("partners_membership", MEMBERSHIP_COLUMNS, membership_rows)
    load_rows("partners_partneruserobjectpermission", PERMISSION_COLUMNS, portfolio)
    return People(
        first_member=first_member,
        role=member_role,
        partner=member_partner,
        active=member_active,
        joined=member_joined,
        first_extra=first_extra,
        extra=sizes,
        finance=finance,
        content_manager=content_manager,
        users=next_id + 2,
    )
