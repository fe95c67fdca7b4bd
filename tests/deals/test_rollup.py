"""The pipeline's maintained figures (deals.rollup) never drift from the deals they sum: after
every deal transition, line edit, bulk write and partner move, in each writer's own database
scope, the rollup equals a live aggregate of the deals and lines, per partner (products too),
vendor-wide, per partner in all (PartnerTotal) and by product (ProductRollup), before and after a
fold."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from deals import rollup, services
from deals.models import Deal, DealLine, DealRollup, DealStage, DealStatus, Product, VendorRollup
from partners import services as partner_services
from partners.models import Region
from prm.roles import VendorRole
from prm.tenancy import Actor, Scope, system_scope, tenant_scope
from tests import factories
from tests.deals import factories as f

pytestmark = pytest.mark.django_db


def assert_exact(*, fold: bool = True) -> None:
    """The rollup equals the live aggregate, per partner and vendor-wide; then the same after a
    fold (which must change no figure)."""
    assert rollup.all_differences() == []
    if fold:
        rollup.fold()
        assert not DealRollup.objects.filter(folded=False).exists()
        assert rollup.all_differences() == []


@pytest.fixture
def firewall(db: Any) -> Product:
    return f.product("Firewall X", price="100.00")


@pytest.fixture
def switch(db: Any) -> Product:
    return f.product("Core Switch", price="50.00")


def exact(step: str) -> None:
    """assert_exact without a fold, naming the step that drifted."""
    try:
        assert_exact(fold=False)
    except AssertionError as exc:
        raise AssertionError(f"after '{step}': {exc}") from exc


def test_every_transition_keeps_the_figures_exact(
    team_a: f.Team, team_b: f.Team, vendor_admin: Actor, cam: Actor, firewall: Product, switch: Product
) -> None:
    sales, admin = team_a.sales_actor, team_a.admin_actor
    deal = f.draft(sales, customer="Initech", lines=[f.line(firewall, 2, "500.00")])
    exact("draft")
    lines = [f.line(firewall, 1, "300.00"), f.line(switch, 3, "40.00"), f.line(switch, 1, "10.00")]
    deal = _save(sales, deal, currency="EUR", lines=lines)
    exact("draft edited: lines replaced, two of one product, currency changed")
    deal = f.submit(sales, deal)
    exact("submitted")
    deal = _as(vendor_admin, services.deal_return_for_info, deal, reason="Which site?")
    exact("returned for information")
    deal = _save(sales, deal, currency="EUR", lines=[f.line(firewall, 4, "250.00")])
    exact("edited while returned: a product dropped")
    deal = f.submit(sales, deal)
    exact("resubmitted")
    deal = _as(cam, services.deal_approve, deal)
    exact("approved by the channel account manager")
    deal = _as(sales, services.deal_update_stage, deal, stage=DealStage.PROPOSAL)
    exact("stage moved")
    today = timezone.localdate()
    deal = _as(sales, services.deal_mark_won, deal, won_amount=Decimal("1500.00"), closed_on=today)
    assert deal.status == DealStatus.WON_PENDING
    exact("won above the registered amount: waits for the vendor")
    deal = _as(cam, services.deal_reject_won, deal, reason="Not what was registered")
    exact("win turned down: approved again")
    deal = _as(sales, services.deal_mark_won, deal, won_amount=Decimal("900.00"), closed_on=today)
    exact("won as registered")
    other = f.approved(team_b.sales_actor, vendor_admin, customer="Globex", domain="globex.com",
                       lines=[f.line(switch, 2, "75.00")])  # fmt: skip
    exact("another partner's deal approved")
    _as(team_b.admin_actor, services.deal_mark_lost, other, reason="Price")
    exact("lost")
    rejected = f.submitted(admin, customer="Hooli", domain="hooli.com")
    _as(vendor_admin, services.deal_reject, rejected, reason="Duplicate")
    exact("rejected")
    expiring = f.approved(admin, vendor_admin, customer="Umbrella", domain="umbrella.com")
    with system_scope():  # as the beat job runs it
        services.deal_expire(deal=expiring, now=timezone.now() + timedelta(days=400))
    exact("expired")
    statuses = set(Deal.objects.values_list("status", flat=True))
    assert statuses >= {DealStatus.WON, DealStatus.LOST, DealStatus.REJECTED, DealStatus.EXPIRED}
    assert_exact()
    assert VendorRollup.objects.exists()


def _save(actor: Actor, deal: Deal, *, lines: list[Any], **data: Any) -> Deal:
    with f.acting(actor):
        return services.deal_save_draft(
            actor=actor, deal=deal, data=f.deal_data(customer=deal.customer_name, **data), lines=lines
        )


def _as(actor: Actor, service: Callable[..., Any], deal: Deal, **kwargs: Any) -> Any:
    with f.acting(actor):
        return service(actor=actor, deal=deal, **kwargs)


def test_bulk_writes_outside_the_services_are_counted_too(
    team_a: f.Team, vendor_admin: Actor, firewall: Product
) -> None:
    from tests.deals.test_query_counts import bulk_deals

    bulk_deals(team_a, 30, product=firewall)
    assert_exact(fold=False)
    Deal.objects.filter(status=DealStatus.SUBMITTED).update(
        status=DealStatus.APPROVED, stage=DealStage.NEGOTIATION
    )
    DealLine.objects.filter(quantity=2).update(amount=Decimal("999.00"))
    assert_exact()
    DealLine.objects.filter(deal__status=DealStatus.LOST).delete()
    Deal.objects.filter(status=DealStatus.DRAFT).delete()
    assert_exact()


def test_a_partner_moving_tier_or_region_takes_its_figures_along(
    team_a: f.Team, team_b: f.Team, vendor_admin: Actor, firewall: Product
) -> None:
    f.approved(team_a.sales_actor, vendor_admin, lines=[f.line(firewall, 1, "100.00")])
    f.submitted(team_b.sales_actor, customer="Globex", domain="globex.com")
    rollup.fold()
    with f.acting(vendor_admin):
        partner_services.partner_change_tier(
            actor=vendor_admin, partner=team_a.partner, tier=factories.tier("Platinum")
        )
    assert_exact(fold=False)
    team_b.partner.region = Region.EMEA
    with tenant_scope(Scope.partner(team_b.partner.pk)):
        team_b.partner.save(update_fields=["region"])  # the partner's own scope
    assert_exact()
    tiers = set(VendorRollup.objects.filter(product__isnull=True).values_list("tier__name", "region"))
    assert tiers == {("Platinum", team_a.partner.region), (team_b.partner.tier.name, Region.EMEA)}


def test_many_partners_moving_in_one_update_take_their_figures_along(
    team_a: f.Team, team_b: f.Team, vendor_admin: Actor, firewall: Product, switch: Product
) -> None:
    """The tier evaluation moves thousands of partners per UPDATE (partners.performance.
    tier_moves): the statement trigger moves all of their figures at once, products and drafts
    too, and a second move in the same transaction (the next tier group) as well."""
    from partners.models import Partner
    from partners.performance.tier_moves import move_tiers

    f.approved(team_a.sales_actor, vendor_admin, lines=[f.line(firewall, 2, "100.00")])
    f.approved(
        team_b.sales_actor,
        vendor_admin,
        customer="Globex",
        domain="globex.com",
        lines=[f.line(firewall, 1, "100.00"), f.line(switch, 3, "50.00")],
    )
    f.draft(team_b.admin_actor, customer="Hooli", domain="hooli.com")
    rollup.fold()
    team_c = f.team("Eastwind Partners", tier="Gold")  # no deals: nothing of its own to move
    platinum = factories.tier("Platinum")
    with transaction.atomic(), f.acting(vendor_admin):
        moved = Partner.objects.filter(
            pk__in=[team_a.partner.pk, team_b.partner.pk, team_c.partner.pk]
        ).update(tier=platinum, region=Region.APAC)
        assert moved == 3
        assert rollup.differences(rollup.expected(), rollup.current()) == []
        assert rollup.differences(rollup.vendor_expected(), rollup.vendor_current()) == []
        assert move_tiers(
            {
                (platinum.pk, factories.tier("Gold").pk): [team_a.partner.pk, team_c.partner.pk],
                (platinum.pk, factories.tier("Silver").pk): [team_b.partner.pk],
            }
        ) == {team_a.partner.pk, team_b.partner.pk, team_c.partner.pk}
    assert rollup.differences(rollup.expected(), rollup.current()) == []
    assert rollup.differences(rollup.vendor_expected(), rollup.vendor_current()) == []
    assert_exact()
    tiers = set(VendorRollup.objects.values_list("tier__name", "region"))
    assert tiers == {("Gold", Region.APAC), ("Silver", Region.APAC)}


def test_a_scope_that_cannot_see_the_deals_cannot_move_a_partner(team_a: f.Team, vendor_admin: Actor) -> None:
    f.submitted(team_a.sales_actor)
    team_a.partner.region = Region.APAC
    with (
        pytest.raises(DatabaseError, match=r"deals\.rollup"),
        transaction.atomic(),
        tenant_scope(Scope.vendor(money=False)),
    ):
        team_a.partner.save(update_fields=["region"])
    assert_exact()


def test_a_partner_writes_only_its_own_figures_and_reads_no_vendor_wide_ones(
    team_a: f.Team, team_b: f.Team, vendor_admin: Actor
) -> None:
    f.submitted(team_a.sales_actor)
    f.submitted(team_b.sales_actor, customer="Globex", domain="globex.com")
    rollup.fold()
    with tenant_scope(Scope.partner(team_a.partner.pk)):
        assert set(DealRollup.objects.values_list("partner_id", flat=True)) == {team_a.partner.pk}
        assert not VendorRollup.objects.exists()
    with tenant_scope(Scope.vendor(portfolio=[team_b.partner.pk])):
        assert set(DealRollup.objects.values_list("partner_id", flat=True)) == {team_b.partner.pk}


def test_rebuild_recomputes_what_the_triggers_hold(team_a: f.Team, vendor_admin: Actor) -> None:
    f.approved(team_a.sales_actor, vendor_admin)
    f.draft(team_a.admin_actor, customer="Hooli", domain="hooli.com")
    before = rollup.current()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE deals_dealrollup SET deals = deals + 5")  # drift, on purpose
    assert rollup.differences(rollup.expected(), rollup.current())
    rollup.rebuild()
    assert rollup.current() == before
    assert_exact()


def test_a_cam_approving_writes_figures_inside_the_portfolio(team_a: f.Team, cam: Actor) -> None:
    deal = f.submitted(team_a.sales_actor)
    assert cam.vendor_role == VendorRole.CHANNEL_ACCOUNT_MANAGER
    _as(cam, services.deal_approve, deal)
    assert_exact()
