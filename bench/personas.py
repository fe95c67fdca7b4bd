"""Who the page benchmark acts as, and their signed-in sessions.

Four personas: the admin of the busiest partner (most deals), the admin of a typical partner (the
median number of deals), the program admin, and the channel account manager with the largest
portfolio. Each gets a real session in the session store, as a sign-in would leave it, so the
servers see an ordinary signed-in browser; no login form, password or TOTP code is involved.

Vendor staff pass the portal's gates only as the portal would have set them up: a TOTP
authenticator (MFA is required), admin access (``is_staff`` follows the vendor role, see
``partners.services``), and for a channel account manager the django-guardian portfolio rows that
``partner_assign_channel_manager`` grants for every partner they manage. A bulk-loaded data set may
lack these; :func:`prepare` adds what is missing and says so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import import_module

from bench.log import log

PARTNER_PERSONAS = ("busiest", "typical")
VENDOR_PERSONAS = ("program_admin", "cam")


@dataclass(frozen=True)
class Persona:
    key: str  # busiest, typical, program_admin, cam
    side: str  # "partner" or "vendor"
    user_id: int
    label: str
    partner_id: int | None = None
    deals: int | None = None  # the partner's deals, or those of the manager's portfolio
    portfolio: int | None = None  # partners in a channel account manager's portfolio


def _deal_counts() -> dict[int, int]:
    from django.db.models import Count

    from deals.models import Deal

    return dict(
        Deal.objects.order_by().values("partner_id").annotate(n=Count("*")).values_list("partner_id", "n")
    )


def _partner_admins() -> dict[int, int]:
    """{partner id: user id of its first active admin} for partners whose people can use the
    portal today (active, current agreement): the gates would stop anyone else."""
    from django.conf import settings

    from partners.models import Membership, PartnerStatus

    admins: dict[int, int] = {}
    rows = (
        Membership.objects.filter(
            role="admin",
            is_active=True,
            user__is_active=True,
            partner__status=PartnerStatus.ACTIVE,
            partner__agreement_version=settings.PRM["PARTNER_AGREEMENT_VERSION"],
        )
        .order_by("partner_id", "user_id")
        .values_list("partner_id", "user_id")
    )
    for partner_id, user_id in rows:
        admins.setdefault(partner_id, user_id)
    return admins


def ensure_portfolios() -> int:
    """Grant each channel account manager of record the portfolio permission on their partners
    where it is missing (what ``partner_assign_channel_manager`` does); the number of rows added."""
    from django.contrib.auth.models import Permission

    from partners.models import Partner, PartnerUserObjectPermission
    from partners.policies import PORTFOLIO_PERMISSION
    from prm.roles import VendorRole

    permission = Permission.objects.get(codename=PORTFOLIO_PERMISSION, content_type__app_label="partners")
    existing = set(
        PartnerUserObjectPermission.objects.filter(permission=permission).values_list(
            "user_id", "content_object_id"
        )
    )
    wanted = Partner.objects.filter(
        channel_account_manager__vendor_role=VendorRole.CHANNEL_ACCOUNT_MANAGER,
        channel_account_manager__is_active=True,
    ).values_list("channel_account_manager_id", "id")
    missing = [
        PartnerUserObjectPermission(user_id=user_id, content_object_id=partner_id, permission=permission)
        for user_id, partner_id in wanted
        if (user_id, partner_id) not in existing
    ]
    PartnerUserObjectPermission.objects.bulk_create(missing, batch_size=5000)
    return len(missing)


def prepare_vendor_user(user_id: int) -> list[str]:
    """Give a vendor user what the portal gives vendor staff: admin access and a TOTP
    authenticator. What was changed (empty when nothing was)."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from prm.models import User

    user = User.objects.get(pk=user_id)
    changed = []
    if user.vendor_role and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        changed.append("admin access (is_staff, as the vendor role gives it)")
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, generate_totp_secret())
        changed.append("a TOTP authenticator")
    return changed


def find_personas(keys: tuple[str, ...] = PARTNER_PERSONAS + VENDOR_PERSONAS) -> list[Persona]:
    """The personas of ``keys`` found in the data (a missing one is left out, with a log line).
    Prepares the vendor personas (:func:`prepare_vendor_user`, :func:`ensure_portfolios`)."""
    from partners.models import PartnerUserObjectPermission
    from partners.policies import PORTFOLIO_PERMISSION
    from prm.models import User
    from prm.roles import VendorRole
    from prm.tenancy import system_scope

    personas: list[Persona] = []
    with system_scope():
        counts = _deal_counts()
        if any(key in PARTNER_PERSONAS for key in keys):
            admins = _partner_admins()
            ranked = sorted(admins, key=lambda pid: (counts.get(pid, 0), pid))
            if not ranked:
                log("no active partner with an admin: no partner personas")
            else:
                chosen = {"busiest": ranked[-1], "typical": ranked[len(ranked) // 2]}
                for key in PARTNER_PERSONAS:
                    if key in keys:
                        pid = chosen[key]
                        personas.append(
                            Persona(
                                key=key,
                                side="partner",
                                user_id=admins[pid],
                                partner_id=pid,
                                deals=counts.get(pid, 0),
                                label=f"admin of the {key} partner ({pid}, {counts.get(pid, 0):,} deals)",
                            )
                        )
        if "program_admin" in keys:
            admin = (
                User.objects.filter(vendor_role=VendorRole.PROGRAM_ADMIN, is_active=True)
                .order_by("pk")
                .first()
            )
            if admin is None:
                log("no active program admin: persona left out")
            else:
                for change in prepare_vendor_user(admin.pk):
                    log(f"program admin {admin.pk}: added {change}")
                personas.append(
                    Persona(key="program_admin", side="vendor", user_id=admin.pk, label="program admin")
                )
        if "cam" in keys:
            added = ensure_portfolios()
            if added:
                log(f"added {added:,} missing portfolio permissions (channel account managers of record)")
            portfolios: dict[int, list[int]] = {}
            for user_id, partner_id in PartnerUserObjectPermission.objects.filter(
                permission__codename=PORTFOLIO_PERMISSION,
                user__vendor_role=VendorRole.CHANNEL_ACCOUNT_MANAGER,
                user__is_active=True,
            ).values_list("user_id", "content_object_id"):
                portfolios.setdefault(user_id, []).append(partner_id)
            if not portfolios:
                log("no channel account manager with a portfolio: persona left out")
            else:
                # The largest portfolio; among equals, the one whose partners hold the most deals.
                def weight(uid: int) -> tuple[int, int, int]:
                    return len(portfolios[uid]), sum(counts.get(p, 0) for p in portfolios[uid]), -uid

                cam = max(portfolios, key=weight)
                size, deals, _ = weight(cam)
                for change in prepare_vendor_user(cam):
                    log(f"channel account manager {cam}: added {change}")
                personas.append(
                    Persona(
                        key="cam",
                        side="vendor",
                        user_id=cam,
                        portfolio=size,
                        deals=deals,
                        label=f"channel account manager ({size:,} partners, {deals:,} deals)",
                    )
                )
    return personas


def create_session(user_id: int) -> str:
    """A signed-in session for the user in the configured session store; its key.

    The same keys ``django.contrib.auth.login`` writes, plus the portal's session-lifetime
    marks (``prm.sessions``) as of now, so the first timed request does not write the session.
    """
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from prm.models import User
    from prm.sessions import LAST_SEEN_AT, STARTED_AT

    user = User.objects.get(pk=user_id)
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    # What a sign-in through the login page stores: the first backend (it authenticates first).
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    now = int(time.time())
    store[STARTED_AT] = now
    store[LAST_SEEN_AT] = now
    store.create()
    return store.session_key


def cookie_header(session_key: str) -> str:
    """The Cookie header of a browser signed in with this session, as it sends it from its second
    page on: with the CSRF cookie Django set on its first (the secret, 32 letters and digits).
    Without it every measured request of a page with a form drew a new secret, which no browser's
    request costs (32 more draws from the system's random source, about 0.1 ms)."""
    from django.conf import settings
    from django.utils.crypto import get_random_string

    csrf_secret = get_random_string(32)
    return f"{settings.SESSION_COOKIE_NAME}={session_key}; {settings.CSRF_COOKIE_NAME}={csrf_secret}"
