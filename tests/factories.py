"""factory_boy factories and the personas tests build on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import factory
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.contrib.auth import get_user_model

from partners.models import (
    Membership,
    Partner,
    PartnerApplication,
    PartnerRole,
    PartnerStatus,
    PartnerType,
    Region,
    Tier,
)
from prm.roles import VendorRole
from prm.tenancy import Actor, Side

User = get_user_model()
PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def verified_email(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            EmailAddress.objects.get_or_create(
                user=self, email=self.email, defaults={"verified": True, "primary": True}
            )


class VendorUserFactory(UserFactory):
    email = factory.Sequence(lambda n: f"vendor{n}@prm.example")
    vendor_role = VendorRole.PROGRAM_ADMIN
    is_staff = True

    @factory.post_generation
    def totp(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        """Vendor staff cannot reach any page without MFA; give them a TOTP device by default."""
        if create and extracted is not False:
            TOTP.activate(self, generate_totp_secret())


def default_tiers() -> list[Tier]:
    """The tiers the data migration creates; transactional tests flush them, so re-create."""
    import importlib

    specs = importlib.import_module("partners.migrations.0004_default_tiers").TIERS
    return [Tier.objects.get_or_create(name=spec["name"], defaults=spec)[0] for spec in specs]


def tier(name: str = "Registered") -> Tier:
    return next(t for t in default_tiers() if t.name == name)


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    legal_name = factory.Sequence(lambda n: f"Partner Company {n} Ltd")
    partner_type = PartnerType.RESELLER
    country = "US"
    region = Region.NORTH_AMERICA
    website_domain = factory.Sequence(lambda n: f"partner{n}.example")
    status = PartnerStatus.ACTIVE
    tier = factory.LazyFunction(lambda: default_tiers()[0])
    agreement_version = factory.LazyFunction(lambda: settings.PRM["PARTNER_AGREEMENT_VERSION"])


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    partner = factory.SubFactory(PartnerFactory)
    role = PartnerRole.ADMIN


class ApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerApplication

    company_name = factory.Sequence(lambda n: f"Applicant {n} Inc")
    partner_type = PartnerType.MSP
    country = "DE"
    region = Region.EMEA
    website_domain = factory.Sequence(lambda n: f"applicant{n}.example")
    contact_name = factory.Faker("name")
    contact_email = factory.Sequence(lambda n: f"founder{n}@applicant.example")


def partner_user(partner: Partner | None = None, role: str = PartnerRole.ADMIN, **user_kwargs: Any) -> Any:
    membership = MembershipFactory(
        partner=partner or PartnerFactory(), role=role, user=UserFactory(**user_kwargs)
    )
    return membership.user


def vendor_user(role: str = VendorRole.PROGRAM_ADMIN, **kwargs: Any) -> Any:
    return VendorUserFactory(vendor_role=role, **kwargs)


def actor_for(user: Any) -> Actor:
    from partners.middleware import resolve_actor

    return resolve_actor(user)


def vendor_actor(role: str = VendorRole.PROGRAM_ADMIN) -> Actor:
    return Actor(user=vendor_user(role), side=Side.VENDOR, vendor_role=role)


def has_totp(user: Any) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


# --- file storage ---
def media_storage(settings: Any, root: Path) -> Path:
    """Point the default storage at ``root`` (``settings`` is pytest-django's fixture)."""
    settings.STORAGES = storages_at(root)
    return root


def storages_at(root: Path) -> dict[str, Any]:
    """The STORAGES setting with the default storage in ``root`` (for ``override_settings`` where
    pytest-django's ``settings`` fixture is not at hand: a world built once per module)."""
    from django.conf import settings

    return {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root), "base_url": "/media-not-served/"},
        },
    }


def stored_files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())
