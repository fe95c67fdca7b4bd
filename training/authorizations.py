"""What training contributes to deals' product authorizations (registered in
``TrainingConfig.authorization_certifications``; the engine is deals.authorizations, which never
imports this app): the certifications a rule may ask for, and who holds them.

A person counts for a partner while they hold a valid award of the certification (active, awarded,
not expired) and are still an active member of the partner that earned it, as the certification
KPIs count them (training.kpis)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from django.db import connection

from partners.models import Membership

from .models import AwardStatus, Certification, CertificationAward, PublishStatus


class Certifications:
    def choices(self) -> list[tuple[int, str]]:
        """Every published certification, by name (a draft one cannot be earned yet)."""
        return list(
            Certification.objects.filter(status=PublishStatus.PUBLISHED)
            .order_by("name")
            .values_list("pk", "name")
        )

    def names(self, ids: Collection[int]) -> dict[int, str]:
        return dict(Certification.objects.filter(pk__in=list(ids)).values_list("pk", "name"))

    def holders(
        self,
        *,
        certification_ids: Collection[int],
        at: datetime,
        partner_ids: Collection[int] | None = None,
    ) -> dict[tuple[int, int], list[datetime | None]]:
        """For each (partner, certification) with anybody certified at ``at``: each certified
        person's latest expiry, latest first (None, "never expires", before any date).

        One query for every partner (or ``partner_ids``) and every certification asked: the N-th
        entry is when the partner would have fewer than N people certified."""
        if not certification_ids:
            return {}
        awards = CertificationAward._meta.db_table
        members = Membership._meta.db_table
        where_partner = "AND a.partner_id = ANY(%(partners)s)" if partner_ids is not None else ""
        sql = f"""
            SELECT partner_id, certification_id,
                   array_agg(CASE WHEN never THEN NULL ELSE until END ORDER BY never DESC, until DESC)
            FROM (
                SELECT a.partner_id, a.certification_id, a.user_id,
                       bool_or(a.expires_at IS NULL) AS never, max(a.expires_at) AS until
                FROM {awards} a
                JOIN {members} m
                  ON m.user_id = a.user_id AND m.partner_id = a.partner_id AND m.is_active
                WHERE a.status = %(active)s
                  AND a.certification_id = ANY(%(certifications)s)
                  AND a.awarded_at <= %(at)s
                  AND (a.expires_at IS NULL OR a.expires_at > %(at)s)
                  {where_partner}
                GROUP BY a.partner_id, a.certification_id, a.user_id
            ) people
            GROUP BY partner_id, certification_id
        """  # noqa: S608 (table names from the models, values as parameters)
        params = {
            "active": AwardStatus.ACTIVE,
            "certifications": list(certification_ids),
            "at": at,
            "partners": list(partner_ids or []),
        }
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return {(partner, certification): list(until) for partner, certification, until in cursor}


CERTIFICATIONS = Certifications()
