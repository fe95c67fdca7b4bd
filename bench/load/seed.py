"""The data of a load run, on a fresh database, written through the services so it is real data
(audit trail, ledger, webhooks, notifications), and the file the simulated users read
(``accounts.json``: logins, TOTP secrets, the quiz's answer key).

* vendor staff: ``--program-admins`` program admins and ``--cams`` channel account managers, each
  with a TOTP authenticator (MFA is required for them, as in production), and one training
  manager who publishes the course;
* ``--partners`` active partners (agreement accepted), each with an admin, a sales and a marketing
  user, a channel account manager (round robin), MDF allocations in the current and the next
  half-year, and a webhook endpoint (every event) pointing at the run's receiver;
* the product catalogue of the demo, a published course with three lessons and a quiz, and a
  certification that requires it;
* work the beat jobs find due when the run starts: approved deals whose protection just ended and
  others about to end, submitted deals whose review is nearly due, leads whose offer went
  unanswered (and more that time out during the run), certifications expiring soon and one
  expired.

Every login gets one random password per run (written to ``accounts.json``, never a published
one). Hashing it with production's PBKDF2 costs ~0.7 s, so it is hashed once and the hash shared.

    DJANGO_SETTINGS_MODULE=bench.load.settings python -m bench.load.seed --out DIR --receiver URL
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any


def _half_year(day: date) -> tuple[str, date, date]:
    if day.month <= 6:
        return f"FY{day.year} H1", date(day.year, 1, 1), date(day.year, 6, 30)
    return f"FY{day.year} H2", date(day.year, 7, 1), date(day.year, 12, 31)


class Seeder:
    def __init__(self, *, partners: int, cams: int, program_admins: int, receiver: str) -> None:
        from django.contrib.auth.hashers import make_password

        self.n_partners = partners
        self.n_cams = cams
        self.n_admins = program_admins
        self.receiver = receiver.rstrip("/")
        self.password = secrets.token_urlsafe(18)
        self.password_hash = make_password(self.password)
        self.accounts: dict[str, Any] = {"password": self.password, "vendor": [], "partner": []}

    # --- people ------------------------------------------------------------------------------
    def _user(self, email: str, name: str, **extra: Any) -> Any:
        from allauth.account.models import EmailAddress
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.create(
            email=email, full_name=name, password=self.password_hash, **extra
        )
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        return user

    def _vendor(self, email: str, name: str, role: str) -> tuple[Any, str]:
        from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value

        from bench.load.web import totp

        user = self._user(email, name, vendor_role=role, is_staff=True)
        secret = generate_totp_secret()
        TOTP.activate(user, secret)
        # The simulated users compute codes with bench.load.web.totp: it must agree with allauth.
        now = time.time()
        assert totp(secret, now) == format_hotp_value(hotp_value(secret, int(now // 30))), "TOTP mismatch"
        return user, secret

    def vendor_staff(self) -> None:
        from partners.middleware import resolve_actor
        from prm.roles import VendorRole

        self.admins, self.cams = [], []
        for index in range(self.n_admins):
            user, secret = self._vendor(
                f"admin{index}@vendor.load.example", f"Program Admin {index}", VendorRole.PROGRAM_ADMIN
            )
            self.admins.append(user)
            self.accounts["vendor"].append({"email": user.email, "role": "program_admin", "totp": secret})
        for index in range(self.n_cams):
            user, secret = self._vendor(
                f"cam{index}@vendor.load.example",
                f"Channel Manager {index}",
                VendorRole.CHANNEL_ACCOUNT_MANAGER,
            )
            self.cams.append(user)
            self.accounts["vendor"].append({"email": user.email, "role": "cam", "totp": secret})
        self.trainer, _secret = self._vendor(
            "training@vendor.load.example", "Training Manager", VendorRole.CONTENT_MANAGER
        )
        self.admin_actor = resolve_actor(self.admins[0])

    def partners(self) -> None:
        from partners import services
        from partners.middleware import resolve_actor
        from partners.models import Membership, Partner, PartnerRole, PartnerStatus, PartnerType, Region, Tier
        from prm import webhooks
        from prm.tenancy import system_scope

        tiers = list(Tier.objects.order_by("rank"))
        regions = [Region.NORTH_AMERICA, Region.EMEA, Region.APAC]
        countries = {Region.NORTH_AMERICA: "US", Region.EMEA: "DE", Region.APAC: "SG"}
        self.partner_rows: list[Any] = []
        self.partner_admins: dict[int, Any] = {}
        self.partner_people: dict[int, dict[str, Any]] = {}
        for index in range(self.n_partners):
            with system_scope():
                region = regions[index % len(regions)]
                partner = Partner.objects.create(
                    legal_name=f"Load Partner {index:03d} Ltd",
                    partner_type=list(PartnerType.values)[index % len(PartnerType.values)],
                    country=countries[region],
                    region=region,
                    website_domain=f"p{index:03d}.load.example",
                    contact_email=f"admin{index}@p{index:03d}.load.example",
                    tier=tiers[index % len(tiers)],
                    status=PartnerStatus.ONBOARDING,
                )
                services.partner_assign_channel_manager(
                    actor=self.admin_actor, partner=partner, manager=self.cams[index % len(self.cams)]
                )
                people = {}
                for role in (PartnerRole.ADMIN, PartnerRole.SALES, PartnerRole.MARKETING):
                    user = self._user(f"{role}{index}@p{index:03d}.load.example", f"{role.label} {index}")
                    Membership.objects.create(user=user, partner=partner, role=role)
                    people[role] = user
                    self.accounts["partner"].append(
                        {"email": user.email, "role": str(role), "partner": partner.pk}
                    )
                admin = resolve_actor(people[PartnerRole.ADMIN])
                partner = services.partner_accept_agreement(actor=admin, partner=partner)
                if partner.status != PartnerStatus.ACTIVE:
                    partner = services.partner_activate(actor=self.admin_actor, partner=partner)
                admin = resolve_actor(people[PartnerRole.ADMIN])
                webhooks.endpoint_create(
                    actor=admin,
                    url=f"{self.receiver}/p{partner.pk}",
                    events=[],
                    description="load run receiver",
                )
            self.partner_rows.append(partner)
            self.partner_admins[partner.pk] = admin
            self.partner_people[partner.pk] = people

    # --- catalogue, funds, training -----------------------------------------------------------
    def catalogue(self) -> None:
        from deals.demo import CATALOGUE
        from deals.models import Product

        for name, sku, line, price in CATALOGUE:
            Product.objects.create(name=name, sku=sku, product_line=line, list_price=Decimal(price))
        self.products = list(Product.objects.order_by("pk"))

    def funds(self) -> None:
        from django.utils import timezone

        from mdf import services
        from mdf.models import Budget, FundPeriod
        from prm.tenancy import system_scope

        today = timezone.localdate()
        current = _half_year(today)
        # The current and the next half-year: an activity 3 to 8 weeks ahead falls into one of them.
        for name, starts, ends in (current, _half_year(current[2] + timedelta(days=1))):
            with system_scope():
                period = FundPeriod.objects.create(name=name, starts_on=starts, ends_on=ends)
                budget = Budget.objects.create(period=period, currency="USD", amount=Decimal("100000000"))
            for partner in self.partner_rows:
                with system_scope():
                    services.allocation_add(
                        actor=self.admin_actor,
                        partner=partner,
                        budget=budget,
                        amount=Decimal("500000"),
                        memo=f"{name} load-run allocation",
                    )

    def training(self) -> None:
        from partners.middleware import resolve_actor
        from partners.models import PartnerRole
        from prm.tenancy import system_scope
        from training import services
        from training.demo import FUNDAMENTALS, _course
        from training.models import Certification, PublishStatus

        with system_scope():
            author = resolve_actor(self.trainer)
            course = services.course_publish(
                actor=author, course=_course(FUNDAMENTALS, list(PartnerRole.values))
            )
            certification = Certification.objects.create(
                name="Certified Platform Partner",
                description="Knows the platform, its deployment options and its licensing.",
                validity_months=24,
                status=PublishStatus.PUBLISHED,
            )
            certification.courses.set([course])
            quiz = course.quiz
            self.course = course
            self.accounts["training"] = {
                "course": course.pk,
                "lessons": list(course.lessons.order_by("position").values_list("pk", flat=True)),
                "answers": {
                    str(question.pk): [choice.pk for choice in question.choices.all() if choice.is_correct]
                    for question in quiz.questions.prefetch_related("choices")
                },
            }

    # --- what the beat jobs find due ----------------------------------------------------------
    def beat_work(self, *, partners: int) -> None:
        """For the first ``partners`` partners: deals, leads and certifications that the scheduled
        jobs act on during the run (each job's side effects are checked for duplicates)."""
        from django.utils import timezone

        from bench.names import invented_word
        from deals import leads
        from deals import services as deal_services
        from deals.models import Deal, Lead
        from partners.middleware import resolve_actor
        from partners.models import PartnerRole
        from prm.tenancy import system_scope
        from training import services as training_services
        from training.models import CertificationAward

        now = timezone.now()
        answers = {int(q): ids for q, ids in self.accounts["training"]["answers"].items()}
        cam_actors = {user.pk: resolve_actor(user) for user in self.cams}

        rng = random.Random(11)

        def draft(actor: Any, index: int, label: str) -> Deal:
            # Invented names: no two seeded customers look alike, so none waits on a conflict.
            name = f"{invented_word(rng, 3)} {invented_word(rng, 3)}"
            domain = name.lower().replace(" ", "-") + ".example"
            product = self.products[index % len(self.products)]
            return deal_services.deal_save_draft(
                actor=actor,
                data={
                    "customer_name": name,
                    "customer_domain": domain,
                    "customer_country": "US",
                    "contact_name": "Jordan Lee",
                    "contact_email": f"jordan@{domain}",
                    "title": f"{label} deal",
                    "stage": "qualification",
                    "expected_close_date": timezone.localdate() + timedelta(days=60),
                    "currency": "USD",
                    "notes": "Seeded for the load run's scheduled jobs.",
                },
                lines=[deal_services.LineInput(product.pk, 2, product.list_price)],
            )

        for index, partner in enumerate(self.partner_rows[:partners]):
            people = self.partner_people[partner.pk]
            sales = resolve_actor(people[PartnerRole.SALES])
            cam = cam_actors[partner.channel_account_manager_id]
            with system_scope():
                expired = deal_services.deal_submit(actor=sales, deal=draft(sales, index, "expired"))
                deal_services.deal_approve(actor=cam, deal=expired)
                Deal.objects.filter(pk=expired.pk).update(protection_expires_at=now - timedelta(minutes=1))
                expiring = deal_services.deal_submit(actor=sales, deal=draft(sales, index, "expiring"))
                deal_services.deal_approve(actor=cam, deal=expiring)
                Deal.objects.filter(pk=expiring.pk).update(protection_expires_at=now + timedelta(days=2))
                due = deal_services.deal_submit(actor=sales, deal=draft(sales, index, "review"))
                Deal.objects.filter(pk=due.pk).update(review_due_at=now + timedelta(hours=1))

                # Leads: one offer already unanswered, one that runs out 4-9 minutes in.
                for late, respond_by in (("late", now - timedelta(minutes=5)), ("soon", None)):
                    lead = leads.lead_create(
                        actor=self.admin_actor,
                        data={
                            "company_name": f"{invented_word(rng, 3)} {late.title()} Lead",
                            "domain": f"lead-{late}-{index:03d}.example",
                            "country": partner.country,
                            "region": partner.region,
                            "contact_name": "Robin Park",
                            "contact_email": f"robin@lead-{late}-{index:03d}.example",
                            "currency": "USD",
                            "estimated_value": Decimal("25000"),
                        },
                    )
                    leads.lead_assign(actor=self.admin_actor, lead=lead, partner=partner)
                    offer_ends = respond_by or now + timedelta(minutes=4 + index % 6)
                    Lead.objects.filter(pk=lead.pk).update(respond_by=offer_ends)
                    lead.offers.filter(outcome="pending").update(respond_by=offer_ends)

                # Certifications: the partner admin is certified; one expires in 20 days (the
                # 30-day reminder is due), one has just expired (the expiry job restarts its course).
                admin = resolve_actor(people[PartnerRole.ADMIN])
                for lesson in self.course.lessons.order_by("position"):
                    training_services.lesson_complete(actor=admin, lesson=lesson)
                attempt = training_services.attempt_start(actor=admin, quiz=self.course.quiz)
                training_services.attempt_submit(actor=admin, attempt=attempt, answers=answers)
                expires = now + (timedelta(days=20) if index % 2 == 0 else -timedelta(minutes=1))
                CertificationAward.objects.filter(user=admin.user).update(expires_at=expires)

    def make_beat_jobs_due(self) -> None:
        """Install the schedule as beat does on start and mark every interval job due: a portal
        that has been running has jobs falling due all the time; a fresh schedule would first wait
        one full interval (15 minutes and more, longer than a run)."""
        from django.conf import settings
        from django.utils import timezone
        from django_celery_beat.models import PeriodicTask
        from django_celery_beat.schedulers import ModelEntry

        from prm.celery import app

        now = timezone.now()
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            ModelEntry.from_entry(name, app=app, **entry)
            task = PeriodicTask.objects.get(name=name)
            if task.interval is not None:
                every = timedelta(
                    seconds=task.interval.every
                    * {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}[task.interval.period]
                )
                PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=now - every - timedelta(seconds=1))

    def run(self, *, beat_partners: int) -> dict[str, Any]:
        from prm.tenancy import system_scope

        started = time.monotonic()
        with system_scope():
            self.vendor_staff()
            self.catalogue()
        self.partners()
        self.funds()
        self.training()
        self.beat_work(partners=beat_partners)
        self.make_beat_jobs_due()
        self.accounts["seconds"] = round(time.monotonic() - started, 1)
        return self.accounts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", required=True, help="directory for accounts.json")
    parser.add_argument("--receiver", required=True, help="base URL of the webhook receiver")
    parser.add_argument("--partners", type=int, default=60)
    parser.add_argument("--cams", type=int, default=16)
    parser.add_argument("--program-admins", type=int, default=4)
    parser.add_argument("--beat-partners", type=int, default=12, help="partners with work for the beat jobs")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.load.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    accounts = Seeder(
        partners=args.partners, cams=args.cams, program_admins=args.program_admins, receiver=args.receiver
    ).run(beat_partners=min(args.beat_partners, args.partners))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "accounts.json").write_text(json.dumps(accounts, indent=1))
    print(
        f"[bench] seeded {len(accounts['partner'])} partner users, {len(accounts['vendor'])} vendor staff "
        f"in {accounts['seconds']} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
