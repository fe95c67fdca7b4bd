"""Demo data: named personas on both sides, partners in several states, applications to review.

Idempotent: every row is found by its natural key first, so running it again (``bin/portal`` does
on every start) adds nothing twice. It prints the logins at the end.

It runs only where the settings say ``DEMO_DATA_ALLOWED = True`` (local and test settings): its
logins share a published password and vendor MFA secrets go to the console, so production settings
refuse it.
"""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from allauth.mfa.utils import decrypt
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.module_loading import import_string

from partners import services
from partners.locator.demo import seed as seed_listings
from partners.models import (
    ApplicationStatus,
    Invitation,
    Membership,
    Partner,
    PartnerApplication,
    PartnerRole,
    PartnerStatus,
    PartnerType,
    Region,
    Tier,
)
from partners.performance.demo import seed as seed_scorecards
from partners.plans.demo import seed as seed_plans
from partners.support.demo import seed as seed_support_cases
from prm.roles import VendorRole
from prm.tenancy import Actor, Side, system_scope

User = get_user_model()
DEMO_PASSWORD = "prm-demo-2026"

VENDOR_STAFF = [
    ("ada.admin@prm.example", "Ada Admin", VendorRole.PROGRAM_ADMIN),
    ("carl.cam@prm.example", "Carl Castillo", VendorRole.CHANNEL_ACCOUNT_MANAGER),
    ("cora.cam@prm.example", "Cora Chen", VendorRole.CHANNEL_ACCOUNT_MANAGER),
    ("fiona.finance@prm.example", "Fiona Fischer", VendorRole.FINANCE),
    # A second pair of eyes: Felix pays the statements Fiona approves (PRM["SETTLEMENT_FOUR_EYES"]).
    ("felix.finance@prm.example", "Felix Ferreira", VendorRole.FINANCE),
    ("tom.training@prm.example", "Tom Tanaka", VendorRole.CONTENT_MANAGER),
    ("sven.support@prm.example", "Sven Svensson", VendorRole.SUPPORT),
]

PARTNERS: list[dict[str, Any]] = [
    {
        "legal_name": "Acme Networks Inc.",
        "partner_type": PartnerType.RESELLER,
        "country": "US",
        "region": Region.NORTH_AMERICA,
        "website_domain": "acme-networks.example",
        "tier": "Gold",
        "phone": "+1 415 555 0100",
        "status": PartnerStatus.ACTIVE,
        "cam": "carl.cam@prm.example",
        "accepted": True,
        "people": [
            ("alice.admin@acme.example", "Alice Anders", PartnerRole.ADMIN),
            ("sam.sales@acme.example", "Sam Sato", PartnerRole.SALES),
            ("mia.marketing@acme.example", "Mia Moreau", PartnerRole.MARKETING),
            ("leo.learner@acme.example", "Leo Lind", PartnerRole.LEARNER),
        ],
    },
    {
        "legal_name": "Globex Systems GmbH",
        "partner_type": PartnerType.MSP,
        "country": "DE",
        "region": Region.EMEA,
        "website_domain": "globex.example",
        "tier": "Silver",
        "phone": "+49 30 5550 1000",
        "status": PartnerStatus.ACTIVE,
        "cam": "carl.cam@prm.example",
        "accepted": True,
        "people": [
            ("bob.admin@globex.example", "Bob Becker", PartnerRole.ADMIN),
            ("sara.sales@globex.example", "Sara Schulz", PartnerRole.SALES),
        ],
    },
    {
        "legal_name": "Initech Solutions Pte. Ltd.",
        "partner_type": PartnerType.ISV,
        "country": "SG",
        "region": Region.APAC,
        "website_domain": "initech.example",
        "tier": "Registered",
        "phone": "",
        "status": PartnerStatus.ONBOARDING,
        "cam": "cora.cam@prm.example",
        "accepted": False,
        "people": [("ivy.admin@initech.example", "Ivy Ito", PartnerRole.ADMIN)],
    },
    {
        "legal_name": "Umbrella Distribution Ltd",
        "partner_type": PartnerType.DISTRIBUTOR,
        "country": "GB",
        "region": Region.EMEA,
        "website_domain": "umbrella.example",
        "tier": "Platinum",
        "phone": "+44 20 5550 2000",
        "status": PartnerStatus.SUSPENDED,
        "cam": "cora.cam@prm.example",
        "accepted": True,
        "people": [("uma.admin@umbrella.example", "Uma Underwood", PartnerRole.ADMIN)],
    },
]

APPLICATIONS = [
    {
        "company_name": "Hooli Cloud Services",
        "partner_type": PartnerType.SERVICE_PROVIDER,
        "country": "US",
        "region": Region.NORTH_AMERICA,
        "website_domain": "hooli.example",
        "contact_name": "Gavin Bell",
        "contact_email": "gavin@hooli.example",
        "employee_count": 240,
        "message": "We run managed Kubernetes for 300 mid-market customers and want to resell your platform.",
    },
    {
        "company_name": "Stark Integrations S.A.",
        "partner_type": PartnerType.RESELLER,
        "country": "BR",
        "region": Region.LATIN_AMERICA,
        "website_domain": "stark-integrations.example",
        "contact_name": "Pepa Souza",
        "contact_email": "pepa@stark-integrations.example",
        "employee_count": 45,
        "message": "Systems integrator in São Paulo, 12 certified engineers.",
    },
]


class Command(BaseCommand):
    help = "Load the demo personas and data (idempotent) and print the logins."

    def handle(self, *args: Any, **options: Any) -> None:
        if not getattr(settings, "DEMO_DATA_ALLOWED", False):
            raise CommandError(
                f"seed_demo refused: these settings ({settings.SETTINGS_MODULE}) do not allow demo "
                "data. Its logins share a password published in the README; load it only into a "
                "local or trial database (DJANGO_SETTINGS_MODULE=prm.settings.local, or "
                "`docker compose --profile demo up`)."
            )
        with system_scope():
            vendor = self._vendor_staff()
            admin_actor = Actor(
                user=vendor["ada.admin@prm.example"], side=Side.VENDOR, vendor_role=VendorRole.PROGRAM_ADMIN
            )
            for spec in PARTNERS:
                self._partner(spec, vendor, admin_actor)
            self._applications(admin_actor)
            totp = {email: self._totp(user) for email, user in vendor.items()}
            # The other apps add their own demo data (they depend on partners, not the reverse).
            for config in apps.get_app_configs():
                if getattr(config, "demo_seeder", None):
                    import_string(config.demo_seeder)(stdout=self.stdout)
            # Then what reads more than one app's demo data (deals' product authorizations count
            # training's certified people).
            for config in apps.get_app_configs():
                if getattr(config, "demo_seeder_after", None):
                    import_string(config.demo_seeder_after)(stdout=self.stdout)
            # Support cases may be about the other apps' demo deals.
            seed_support_cases(stdout=self.stdout)
            # Scorecards last: their KPIs read what every other app's demo data just made.
            seed_scorecards(stdout=self.stdout)
            # Joint business plans after them: their progress reads the same data, live.
            seed_plans(stdout=self.stdout)
            # The public partner locator: a few partners opted in.
            seed_listings(stdout=self.stdout)
        self._print_logins(totp)

    def _user(self, email: str, name: str, **extra: Any) -> Any:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=DEMO_PASSWORD, full_name=name, **extra)
        EmailAddress.objects.get_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user

    def _vendor_staff(self) -> dict[str, Any]:
        return {
            email: self._user(email, name, vendor_role=role, is_staff=True)
            for email, name, role in VENDOR_STAFF
        }

    def _totp(self, user: Any) -> str:
        """Vendor staff must use MFA; demo accounts get a TOTP secret printed for an authenticator
        app (or ``manage.py demo_totp EMAIL``)."""
        authenticator = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
        if authenticator is None:
            secret = generate_totp_secret()
            TOTP.activate(user, secret)
            RecoveryCodes.activate(user)
            return secret
        return decrypt(authenticator.data["secret"])

    @transaction.atomic
    def _partner(self, spec: dict[str, Any], vendor: dict[str, Any], admin_actor: Actor) -> None:
        partner = Partner.objects.filter(legal_name=spec["legal_name"]).first()
        if partner is not None:
            return
        partner = Partner.objects.create(
            legal_name=spec["legal_name"],
            partner_type=spec["partner_type"],
            country=spec["country"],
            region=spec["region"],
            website_domain=spec["website_domain"],
            phone=spec["phone"],
            contact_email=spec["people"][0][0],
            tier=Tier.objects.get(name=spec["tier"]),
            status=PartnerStatus.ONBOARDING,
        )
        services.partner_assign_channel_manager(
            actor=admin_actor, partner=partner, manager=vendor[spec["cam"]]
        )
        admin_user = None
        for email, name, role in spec["people"]:
            user = self._user(email, name)
            Membership.objects.get_or_create(user=user, defaults={"partner": partner, "role": role})
            if role == PartnerRole.ADMIN and admin_user is None:
                admin_user = user
        if spec["accepted"]:
            partner_actor = Actor(
                user=admin_user, side=Side.PARTNER, partner=partner, partner_role=PartnerRole.ADMIN
            )
            services.partner_accept_agreement(actor=partner_actor, partner=partner)
        if spec["status"] == PartnerStatus.SUSPENDED:
            services.partner_suspend(actor=admin_actor, partner=partner, reason="Overdue partner fee (demo)")
        if spec["legal_name"].startswith("Acme"):
            Invitation.objects.get_or_create(
                partner=partner,
                email="nina.newhire@acme.example",
                defaults={"role": PartnerRole.SALES, "invited_by": admin_user},
            )

    def _applications(self, admin_actor: Actor) -> None:
        for spec in APPLICATIONS:
            PartnerApplication.objects.get_or_create(contact_email=spec["contact_email"], defaults=spec)
        if not PartnerApplication.objects.filter(contact_email="rick@vaporware.example").exists():
            application = PartnerApplication.objects.create(
                company_name="Vaporware Ventures",
                partner_type=PartnerType.REFERRAL,
                country="US",
                region=Region.NORTH_AMERICA,
                website_domain="vaporware.example",
                contact_name="Rick Ross",
                contact_email="rick@vaporware.example",
                employee_count=2,
                message="Looking for leads.",
            )
            services.application_reject(
                actor=admin_actor,
                application=application,
                reason="No sales or services capacity in our target segments yet.",
            )
        assert ApplicationStatus.SUBMITTED  # keeps the import meaningful for readers

    def _print_logins(self, totp: dict[str, str]) -> None:
        site = settings.SITE_URL
        lines = [
            "",
            "=" * 78,
            f"PRM demo is ready at {site}/",
            "",
            f"Every demo login uses the password: {DEMO_PASSWORD}",
            "",
            "Vendor staff (MFA is required: add the TOTP secret to an authenticator app,",
            "or print the current code with: .venv/bin/python manage.py demo_totp EMAIL)",
        ]
        for email, _name, role in VENDOR_STAFF:
            lines.append(f"  {email:<32} {role.label:<28} TOTP secret {totp[email]}")
        lines += ["", "Partner users (MFA optional):"]
        for spec in PARTNERS:
            for email, _name, role in spec["people"]:
                lines.append(f"  {email:<32} {role.label:<14} {spec['legal_name']} ({spec['status'].label})")
        lines += ["", f"Become-a-partner form: {site}/apply/    Admin: {site}/admin/", "=" * 78, ""]
        self.stdout.write("\n".join(lines))
