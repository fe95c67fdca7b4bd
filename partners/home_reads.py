"""The partner home's own reads (partners.views.home), as kept statements (prm.statements): built
through the same selectors and policies as before, compiled once per shape and process. Building
and compiling the team's statement (a window and two subqueries) through the ORM on every visit
was about a sixth of the home's CPU."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from django.db.models import Count, Exists, QuerySet, Subquery, Value, Window
from django.db.models.functions import Coalesce

from prm.statements import Statement
from prm.tenancy import Actor

from . import selectors
from .models import PartnerRole

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


def _home_team_rows(actor: Actor, *, now: datetime) -> QuerySet:
    """The first HOME_TEAM of the partner's active team (team_list's order), each row with how many
    there are (a window over the team), the partner's open invitations at ``now`` and whether the
    user has an authenticator app (two subqueries PostgreSQL runs once, beside the rows)."""
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
        .values_list(
            "role", "user__full_name", "user__email", "home_team_count", "home_invitations", "home_has_totp"
        )[:HOME_TEAM]
    )


_HOME_TEAM = Statement("partners.home_team", _home_team_rows, values=["now"])


def home_team(actor: Actor, *, now: datetime) -> tuple[list[HomeMember], int, int, bool]:
    """The home's team card: the first HOME_TEAM active members (HomeMember), how many there are,
    the partner's open invitations and whether the user has an authenticator app: one statement.

    The partner itself (with its tier and channel account manager) is the actor's: the actor cache
    is keyed by a version PostgreSQL triggers move on any write to the partner, its tier or a
    membership (partners.actor_cache), so it is as fresh as reading the row again was."""
    rows = _HOME_TEAM.rows(actor, now=now)
    if rows:
        team = [HomeMember(role, MemberName(full_name, email)) for role, full_name, email, *_figures in rows]
        _role, _name, _email, count, invitations, has_totp = rows[0]
        return team, count, invitations, has_totp
    # No active colleague visible (the policy's choice): the two figures on their own.
    from allauth.mfa.models import Authenticator

    has_totp_now: Any = Authenticator.objects.filter(
        user_id=actor.user.pk, type=Authenticator.Type.TOTP
    ).exists()
    return [], 0, _open_invitations(actor, now).count(), has_totp_now
