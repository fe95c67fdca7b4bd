"""The partner home's own reads (partners.views.home), as kept statements (prm.statements): built
through the same selectors and policies as before, compiled once per shape and process. Building
and compiling the team's statement (a window and two subqueries) through the ORM on every visit
was about a sixth of the home's CPU. The support panel's cases (partners.support) come in the same
statement: one round trip, one statement for PostgreSQL to parse and plan, where there were two."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from django.db.models import (
    BigIntegerField,
    BooleanField,
    Count,
    Exists,
    Field,
    IntegerField,
    QuerySet,
    Subquery,
    Value,
    Window,
)
from django.db.models.functions import Coalesce

from prm.statements import Statement
from prm.tenancy import Actor

from . import selectors
from .models import PartnerRole
from .support.policies import case_policy
from .support.selectors import home_case_rows

# People on the home's team card; the rest are on the team page.
HOME_TEAM = 8


class MemberName(NamedTuple):
    """What the team card shows of a member's user (``membership.user.full_name`` / ``.email``)."""

    full_name: str
    email: str


class HomeMember(NamedTuple):
    """A membership as the team card shows it (``membership.role``, ``membership.user``)."""

    role: str
    user: MemberName

    def get_role_display(self) -> str:
        return str(PartnerRole(self.role).label) if self.role in PartnerRole.values else self.role


def _totp(actor: Actor) -> Exists:
    from allauth.mfa.models import Authenticator

    return Exists(Authenticator.objects.filter(user_id=actor.user.pk, type=Authenticator.Type.TOTP))


def _open_invitations(actor: Actor, now: datetime) -> QuerySet:
    return selectors.open_invitations(actor=actor, partner=actor.partner).filter(expires_at__gt=now)


def _home_team(actor: Actor, *, now: datetime) -> QuerySet:
    """The partner's active team (team_list's order), each row with how many there are (a window
    over the team), the partner's open invitations at ``now`` and whether the user has an
    authenticator app (two subqueries PostgreSQL runs once, beside the rows)."""
    invitations = _open_invitations(actor, now)
    return (
        selectors.team_list(actor=actor, partner=actor.partner)
        .filter(is_active=True)
        .annotate(
            home_team_count=Window(Count("*")),
            home_invitations=Coalesce(
                Subquery(invitations.order_by().values(one=Value(1)).annotate(n=Count("*")).values("n")), 0
            ),
            home_has_totp=_totp(actor),
        )
    )


# The two parts of the home's statement, told apart by their first column.
_TEAM, _CASES = 1, 2


def _none(field: Field) -> Value:
    # A column the other part fills: NULL, of that part's type.
    return Value(None, output_field=field)


def _home_rows(actor: Actor, *, now: datetime) -> QuerySet:
    """The team card's first HOME_TEAM members with its figures, then the support panel's latest
    cases with theirs (partners.support.selectors.home_case_rows): a UNION ALL of the two reads,
    each through its own selector and policy, in its own order and limit, their columns side by
    side as (part, role | status, full name | subject, e-mail | kind, count | open,
    invitations | waiting, NULL | to rate, has TOTP | NULL, NULL | case id, NULL | rating)."""
    team = _home_team(actor, now=now).values_list(
        Value(_TEAM),
        "role",
        "user__full_name",
        "user__email",
        "home_team_count",
        "home_invitations",
        _none(BigIntegerField()),
        "home_has_totp",
        _none(IntegerField()),
        _none(IntegerField()),
    )[:HOME_TEAM]
    if not case_policy.can(actor, "open"):
        return team
    cases = home_case_rows(
        actor,
        Value(_CASES),
        "status",
        "subject",
        "kind__name",
        "n_open",
        "n_waiting",
        "n_to_rate",
        _none(BooleanField()),
        "pk",
        "rating",
    )
    return team.union(cases, all=True)


_HOME_ROWS = Statement("partners.home_rows", _home_rows, values=["now"])


class HomeReads(NamedTuple):
    """What the home's statement read: the team card, its figures, and the support panel's rows
    (partners.support.selectors.OPEN_CASE_COLUMNS; None where the actor opens no cases)."""

    team: list[HomeMember]
    team_count: int
    open_invitations: int
    has_totp: bool
    case_rows: list[tuple] | None


def home_reads(actor: Actor, *, now: datetime) -> HomeReads:
    """The home's team card: the first HOME_TEAM active members (HomeMember), how many there are,
    the partner's open invitations and whether the user has an authenticator app; and the support
    panel's latest cases with their counts: one statement.

    The partner itself (with its tier and channel account manager) is the actor's: the actor cache
    is keyed by a version PostgreSQL triggers move on any write to the partner, its tier or a
    membership (partners.actor_cache), so it is as fresh as reading the row again was."""
    team: list[HomeMember] = []
    figures: tuple[int, int, bool] | None = None
    case_rows: list[tuple] | None = [] if case_policy.can(actor, "open") else None
    for part, text1, text2, text3, number1, number2, number3, flag, case_pk, rating in _HOME_ROWS.rows(
        actor, now=now
    ):
        if part == _TEAM:
            team.append(HomeMember(text1, MemberName(text2, text3)))
            figures = (number1, number2, flag)
        else:
            # OPEN_CASE_COLUMNS: pk, subject, status, rating, kind, open, waiting, to rate.
            case_rows.append((case_pk, text2, text1, rating, text3, number1, number2, number3))  # type: ignore[union-attr]
    if figures is not None:
        count, invitations, has_totp = figures
        return HomeReads(team, count, invitations, has_totp, case_rows)
    # No active colleague visible (the policy's choice): the two figures on their own.
    from allauth.mfa.models import Authenticator

    has_totp_now: Any = Authenticator.objects.filter(
        user_id=actor.user.pk, type=Authenticator.Type.TOTP
    ).exists()
    return HomeReads([], 0, _open_invitations(actor, now).count(), has_totp_now, case_rows)
