"""Joint business plans: the services (drafting, the two-party sign-off in either order, a new
revision when an agreed plan's targets change, the agreed revision kept readable, refusals in
words), live progress for the plan's own period (its edges under time-machine, pace), overdue
activities, the policy's role matrix, the pages (bad input is a message, never a 500), the panels,
notifications and the CSV export. Foreign ids: test_plans_isolation.py; query counts:
test_plans_queries.py."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.test import TestCase

from partners.models import BusinessPlan, PartnerRole, PlanRevision, PlanStatus
from partners.plans import periods, services
from partners.plans.policies import plan_policy
from partners.plans.progress import plans_progress
from prm.errors import ApplicationError
from prm.models import AuditEvent, Notification
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from prm.tenancy import system_scope
from tests import factories
from tests.exports import exported
from tests.helpers import body_text, login
from tests.partners import plan_factories as pf
from tests.partners import scorecard_factories as sf
from tests.partners.scorecard_factories import at
from tests.scoping import acting

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    """31 March 2027: 90 of FY2027 H1's 181 days are gone."""
    with time_machine.travel(at(2027, 3, 31, 12), tick=False):
        yield


def _draft(side: pf.Side, goals: list[tuple[str, str]] = (("won_revenue", "1000"),)) -> BusinessPlan:
    with acting(side.cam):
        plan = services.plan_draft(actor=side.cam, partner=side.partner, period_key="2027H1")
    for kind, target in goals:
        with acting(side.cam):
            services.goal_add(
                actor=side.cam,
                plan=plan,
                kind=kind,
                target=target,
                label="Events" if kind == "custom" else "",
            )
    return BusinessPlan.objects.get(pk=plan.pk)


def _sign(actor: Any, plan: BusinessPlan) -> BusinessPlan:
    with acting(actor):
        return services.plan_sign(actor=actor, plan=BusinessPlan.objects.get(pk=plan.pk))


# --- periods ---------------------------------------------------------------------------------------------
def test_periods_are_fiscal_half_years_and_the_list_offers_last_current_and_next_two() -> None:
    choices = periods.period_choices(date(2027, 3, 31))
    assert [p.key for p in choices] == ["2026H2", "2027H1", "2027H2", "2028H1"]
    assert choices[1].start == date(2027, 1, 1) and choices[1].end == date(2027, 6, 30)
    assert periods.period_of(date(2027, 7, 1)).label == "FY2027 H2"


def test_a_fiscal_year_starting_in_july_is_named_after_the_year_it_ends(settings: Any) -> None:
    settings.PRM = {**settings.PRM, "FISCAL_YEAR_START_MONTH": 7}
    period = periods.period_of(date(2026, 8, 15))
    assert (period.label, period.start, period.end) == ("FY2027 H1", date(2026, 7, 1), date(2026, 12, 31))


# --- drafting and signing -------------------------------------------------------------------------------
@pytest.mark.parametrize("first", ["partner", "vendor"])
def test_a_plan_is_agreed_only_when_both_sides_signed_in_either_order(first: str) -> None:
    side = pf.side()
    plan = _draft(side)
    one, other = (side.admin, side.cam) if first == "partner" else (side.cam, side.admin)

    signed = _sign(one, plan)
    assert signed.status == PlanStatus.AWAITING
    assert not PlanRevision.objects.filter(plan=plan).exists()
    with pytest.raises(ApplicationError, match="already signed revision 1"):
        _sign(one, plan)  # the same side twice is no agreement

    agreed = _sign(other, plan)
    assert agreed.status == PlanStatus.AGREED
    assert agreed.partner_signed_by == side.admin.user and agreed.vendor_signed_by == side.cam.user
    revision = PlanRevision.objects.get(plan=plan)
    assert revision.number == 1 and revision.goals == [
        {"kind": "won_revenue", "label": "Won revenue", "target": "1000.00"}
    ]
    actions = list(
        AuditEvent.objects.filter(target_id=str(plan.pk), action="plan.signed")
        .order_by("pk")
        .values_list("after", flat=True)
    )
    assert [a["status"] for a in actions] == ["awaiting", "agreed"]
    with pytest.raises(ApplicationError, match="already agreed"):
        _sign(other, plan)


def test_two_people_of_the_same_side_never_agree_a_plan() -> None:
    side = pf.side()
    plan = _draft(side)
    admin = factories.vendor_actor(VendorRole.PROGRAM_ADMIN)
    _sign(side.cam, plan)
    with pytest.raises(ApplicationError, match="already signed"):
        _sign(admin, plan)
    second_admin = factories.actor_for(factories.partner_user(side.partner))
    _sign(second_admin, plan)
    assert BusinessPlan.objects.get(pk=plan.pk).status == PlanStatus.AGREED


def test_changing_a_target_of_an_agreed_plan_opens_a_new_revision_that_needs_both_again() -> None:
    side = pf.side()
    plan = _draft(side)
    _sign(side.admin, plan)
    _sign(side.cam, plan)
    goal = plan.goals.get()
    with acting(side.admin):
        services.goal_update(actor=side.admin, goal=goal, target="2500")
    plan.refresh_from_db()
    assert (plan.status, plan.revision, plan.partner_signed_by, plan.vendor_signed_by) == (
        PlanStatus.DRAFT,
        2,
        None,
        None,
    )
    assert AuditEvent.objects.filter(target_id=str(plan.pk), action="plan.revised").exists()
    # The agreed revision stays as it was agreed.
    assert PlanRevision.objects.get(plan=plan, number=1).goals[0]["target"] == "1000.00"
    _sign(side.cam, plan)
    assert BusinessPlan.objects.get(pk=plan.pk).status == PlanStatus.AWAITING  # one side is not enough
    _sign(side.admin, plan)
    assert BusinessPlan.objects.get(pk=plan.pk).status == PlanStatus.AGREED
    assert list(PlanRevision.objects.filter(plan=plan).values_list("number", "goals__0__target")) == [
        (2, "2500.00"),
        (1, "1000.00"),
    ]
    # Revision 1 is still readable on its page.
    first = PlanRevision.objects.get(plan=plan, number=1)
    response = login(side.admin).get(f"/plans/{plan.pk}/revisions/{first.pk}/")
    assert response.status_code == 200 and "1000.00" in body_text(response)


def test_a_goal_changed_after_one_signature_clears_it() -> None:
    """Otherwise one side could sign, the other change the targets and sign: agreed to what?"""
    side = pf.side()
    plan = _draft(side)
    _sign(side.admin, plan)
    with acting(side.cam):
        services.goal_add(
            actor=side.cam, plan=BusinessPlan.objects.get(pk=plan.pk), kind="deals_registered", target="5"
        )
    plan.refresh_from_db()
    assert (plan.status, plan.revision, plan.partner_signed_by) == (PlanStatus.DRAFT, 1, None)
    _sign(side.cam, plan)
    assert BusinessPlan.objects.get(pk=plan.pk).status == PlanStatus.AWAITING


def test_refusals_say_what_is_wrong() -> None:
    side = pf.side()
    with acting(side.cam):
        plan = services.plan_draft(actor=side.cam, partner=side.partner, period_key="2027H1")
    with pytest.raises(ApplicationError, match="already has a plan for FY2027 H1"), acting(side.admin):
        services.plan_draft(actor=side.admin, partner=side.partner, period_key="2027H1")
    with pytest.raises(ApplicationError, match="Choose one of the periods"), acting(side.cam):
        services.plan_draft(actor=side.cam, partner=side.partner, period_key="2019H1")
    with pytest.raises(ApplicationError, match="at least one goal"):
        _sign(side.admin, plan)
    with acting(side.cam):
        services.goal_add(actor=side.cam, plan=plan, kind="won_revenue", target="10")
        with pytest.raises(ApplicationError, match="already has a Won revenue goal"):
            services.goal_add(actor=side.cam, plan=plan, kind="won_revenue", target="20")
        for bad in ("abc", "-5", "0", "NaN", "1e40"):
            with pytest.raises(ApplicationError, match="must be"):
                services.goal_add(actor=side.cam, plan=plan, kind="deals_registered", target=bad)
        with pytest.raises(ApplicationError, match="Name the custom goal"):
            services.goal_add(actor=side.cam, plan=plan, kind="custom", target="3")
        with pytest.raises(ApplicationError, match="from the list"):
            services.goal_add(actor=side.cam, plan=plan, kind="win_rate", target="3")
        with pytest.raises(ApplicationError, match="measured from the portal"):
            services.goal_record_value(actor=side.cam, goal=plan.goals.get(), value="5")


def test_sales_finance_and_other_portfolios_may_not_sign_or_edit() -> None:
    side = pf.side()
    plan = _draft(side)
    sales = factories.actor_for(factories.partner_user(side.partner, role=PartnerRole.SALES))
    finance = factories.vendor_actor(VendorRole.FINANCE)
    other_cam = pf.side("Other Co").cam
    for actor in (sales, finance):
        with pytest.raises(PermissionDenied):
            _sign(actor, plan)
    with pytest.raises(PermissionDenied), acting(other_cam):
        services.plan_draft(actor=other_cam, partner=side.partner, period_key="2027H2")
    assert BusinessPlan.objects.get(pk=plan.pk).status == PlanStatus.DRAFT


def test_signing_notifies_the_other_side_in_app_and_by_email_after_commit(
    django_capture_on_commit_callbacks: Any,
) -> None:
    side = pf.side()
    side.partner.channel_account_manager = side.cam.user
    side.partner.save()
    plan = _draft(side)
    with django_capture_on_commit_callbacks(execute=True):
        _sign(side.cam, plan)
    to_admin = Notification.objects.get(recipient=side.admin.user, kind="plan.signoff_requested")
    assert "asks for your sign-off" in to_admin.title and to_admin.url == f"/plans/{plan.pk}/"
    assert any(
        "asks for your sign-off" in m.subject or "asks for your sign-off" in m.body for m in mail.outbox
    )
    with django_capture_on_commit_callbacks(execute=True):
        _sign(side.admin, plan)
    to_cam = Notification.objects.get(recipient=side.cam.user, kind="plan.agreed")
    assert "is agreed" in to_cam.title and to_cam.url == f"/vendor/plans/{plan.pk}/"
    # Nothing leaves for a sign-off that rolls back.
    outbox = len(mail.outbox)
    with TestCase.captureOnCommitCallbacks(execute=True), pytest.raises(ApplicationError):
        _sign(side.admin, plan)
    assert len(mail.outbox) == outbox


# --- live progress ------------------------------------------------------------------------------------
def _progress(plan: BusinessPlan, today: date) -> Any:
    with system_scope():
        return plans_progress([BusinessPlan.objects.prefetch_related("goals").get(pk=plan.pk)], today=today)[
            plan.pk
        ]


def test_progress_counts_the_plans_own_period_live_with_its_edges() -> None:
    sf.rates()
    side = pf.side()
    plan = pf.plan(side.partner, goals=[("won_revenue", "1000"), ("deals_registered", "4"), ("custom", "10")])
    sf.deal(side.partner, "won", won_amount="100.00", closed_on=date(2026, 12, 31))  # the day before: out
    sf.deal(side.partner, "won", won_amount="200.00", closed_on=date(2027, 1, 1))  # first day: in
    sf.deal(
        side.partner, "won", won_amount="100.00", currency="EUR", closed_on=date(2027, 3, 31)
    )  # today, 110 USD
    sf.deal(side.partner, "won", won_amount="999.00", closed_on=date(2027, 4, 1))  # tomorrow: not yet
    sf.deal(side.partner, "submitted", first_submitted_at=at(2027, 1, 1, 0))
    sf.deal(side.partner, "submitted", first_submitted_at=at(2026, 12, 31, 23, 59))
    sf.deal(pf.side("Someone Else").partner, "won", won_amount="5000.00", closed_on=date(2027, 2, 1))
    custom = plan.goals.get(kind="custom")
    custom.manual_value = D("3")
    custom.save()

    progress = _progress(plan, date(2027, 3, 31))
    goals = {g.goal.kind: g for g in progress.goals}
    assert goals["won_revenue"].actual == D("310.00")
    assert goals["deals_registered"].actual == D("1")
    assert goals["custom"].actual == D("3")
    # 90 of 181 days gone: 1000 expects 497.24 by today; 310 is 62 % of that, behind.
    assert goals["won_revenue"].expected == D("497.24")
    assert goals["won_revenue"].of_target == D("31") and goals["won_revenue"].of_pace == D("62")
    assert goals["won_revenue"].behind and progress.behind

    # Nothing is stored: a new win shows at once.
    sf.deal(side.partner, "won", won_amount="700.00", closed_on=date(2027, 3, 30))
    assert _progress(plan, date(2027, 3, 31)).goals[0].actual == D("1010.00")

    # After the period, the figures stop at its last day and the whole target is expected.
    after = _progress(plan, date(2027, 8, 1))
    assert after.share == 1 and after.goals[0].expected == D("1000.00")
    assert after.goals[0].actual == D("2009.00")  # the 1 April deal counts too (in the period)


@pytest.mark.parametrize(
    ("today", "share", "expected"),
    [
        (date(2026, 12, 31), D(0), D("0.00")),
        (date(2027, 1, 1), D(1) / 181, D("5.52")),
        (date(2027, 6, 30), D(1), D("1000.00")),
    ],
)
def test_pace_at_the_periods_edges(today: date, share: Decimal, expected: Decimal) -> None:
    side = pf.side()
    plan = pf.plan(side.partner, goals=[("won_revenue", "1000")])
    with time_machine.travel(at(today.year, today.month, today.day, 12), tick=False):
        progress = _progress(plan, today)
    assert progress.share == share and progress.goals[0].expected == expected
    if today < date(2027, 1, 1):
        assert progress.pace is None and not progress.behind  # nothing expected before it starts


def test_mdf_spend_is_the_funds_claimed_in_the_period() -> None:
    side = pf.side()
    plan = pf.plan(side.partner, goals=[("mdf_spend", "500")])
    allocation = sf.allocation(side.partner, sf.fund_period(date(2027, 1, 1), date(2027, 6, 30)))
    sf.ledger(allocation, "allocated", "1000.00", at(2027, 1, 2))
    sf.ledger(allocation, "claimed", "120.00", at(2027, 2, 2))
    sf.ledger(allocation, "claimed", "80.00", at(2026, 12, 30))  # before the period
    assert _progress(plan, date(2027, 3, 31)).goals[0].actual == D("120.00")


def test_overdue_activities_are_the_open_ones_past_their_date() -> None:
    side = pf.side()
    plan = pf.plan(side.partner, goals=[("won_revenue", "10")])
    today = date(2027, 3, 31)
    late = pf.activity(plan, side.admin.user, today - timedelta(days=1), title="Late webinar")
    pf.activity(plan, side.admin.user, today - timedelta(days=1), status="done", title="Done on time")
    pf.activity(plan, side.admin.user, today, title="Due today")
    assert late.is_overdue(today)
    assert [a.title for a in plan.activities.all() if a.is_overdue(today)] == ["Late webinar"]
    text = body_text(login(side.admin).get(f"/plans/{plan.pk}/"))
    assert "1 overdue" in text and text.count("overdue-flag") == 1


# --- policy matrix ---------------------------------------------------------------------------------------
ROLE_MATRIX = [
    # (who, sees the plan, may edit / sign)
    ("partner_admin", True, True),
    ("partner_sales", True, False),
    ("partner_marketing", True, False),
    ("partner_learner", False, False),
    ("other_partner_admin", False, False),
    ("cam", True, True),
    ("other_cam", False, False),
    ("program_admin", True, True),
    ("finance", True, False),
    ("content_manager", False, False),
]


@pytest.mark.parametrize(("who", "sees", "works"), ROLE_MATRIX)
def test_policy_role_matrix(who: str, sees: bool, works: bool) -> None:
    side = pf.side()
    plan = pf.plan(side.partner, goals=[("won_revenue", "10")])
    other = pf.side("Other Partner")
    actor = {
        "partner_admin": lambda: side.admin,
        "partner_sales": lambda: factories.actor_for(
            factories.partner_user(side.partner, role=PartnerRole.SALES)
        ),
        "partner_marketing": lambda: factories.actor_for(
            factories.partner_user(side.partner, role=PartnerRole.MARKETING)
        ),
        "partner_learner": lambda: factories.actor_for(
            factories.partner_user(side.partner, role=PartnerRole.LEARNER)
        ),
        "other_partner_admin": lambda: other.admin,
        "cam": lambda: side.cam,
        "other_cam": lambda: other.cam,
        "program_admin": lambda: factories.vendor_actor(VendorRole.PROGRAM_ADMIN),
        "finance": lambda: factories.vendor_actor(VendorRole.FINANCE),
        "content_manager": lambda: factories.vendor_actor(VendorRole.CONTENT_MANAGER),
    }[who]()
    with acting(actor):
        assert plan_policy.scope(actor).filter(pk=plan.pk).exists() is sees
        assert plan_policy.can(actor, "view", plan) is sees
        for action in ("edit", "sign", "comment", "review"):
            assert plan_policy.can(actor, action, plan) is works
    page = "/plans/" if actor.is_partner else "/vendor/plans/"
    response = login(actor).get(f"{page}{plan.pk}/")
    assert response.status_code == (200 if sees else 404)
    if sees:
        assert ('id="plan-sign"' in body_text(response)) is works


# --- pages ----------------------------------------------------------------------------------------------
def test_bad_input_on_every_form_is_a_message_never_a_500() -> None:
    side = pf.side()
    plan = pf.plan(side.partner, goals=[("won_revenue", "10"), ("custom", "5")])
    goal, custom = plan.goals.order_by("position")
    activity = pf.activity(plan, side.admin.user, date(2027, 4, 1))
    client = login(side.admin, raise_request_exception=False)
    posts = [
        (f"/plans/{plan.pk}/goals/", {"kind": "won_revenue", "target": "x"}),
        (f"/plans/{plan.pk}/goals/", {"kind": "won_revenue", "target": "12"}),  # a duplicate
        (f"/plans/{plan.pk}/goals/", {"kind": "custom", "target": "12"}),  # no name
        (f"/plans/{plan.pk}/goals/{goal.pk}/target/", {"target": "-1"}),
        (f"/plans/{plan.pk}/goals/{goal.pk}/target/", {"target": "9" * 40}),
        (f"/plans/{plan.pk}/goals/{goal.pk}/value/", {"value": "4"}),  # a measured goal
        (f"/plans/{plan.pk}/goals/{custom.pk}/value/", {"value": "abc"}),
        (f"/plans/{plan.pk}/activities/", {"title": "", "owner": "partner:1", "due_on": "tomorrow"}),
        (f"/plans/{plan.pk}/activities/", {"title": "X", "owner": "vendor:999999", "due_on": "2027-04-01"}),
        (f"/plans/{plan.pk}/activities/{activity.pk}/status/", {"status": "exploded"}),
        (f"/plans/{plan.pk}/comments/", {"body": "   "}),
        ("/plans/", {"period": "1999H1"}),
    ]
    for url, data in posts:
        response = client.post(url, data, follow=True)
        assert response.status_code in (200, 400), (url, data, response.status_code)
        assert "alert" in body_text(response) or "invalid-feedback" in body_text(response), (url, data)
    plan.refresh_from_db()
    assert list(plan.goals.values_list("target", flat=True).order_by("position")) == [D("10.00"), D("5.00")]


def test_the_partner_drafts_fills_and_signs_through_the_pages() -> None:
    side = pf.side()
    client = login(side.admin)
    response = client.post("/plans/", {"period": "2027H1"})
    plan = BusinessPlan.objects.get(partner=side.partner)
    assert response.status_code == 302 and response["Location"] == f"/plans/{plan.pk}/"
    client.post(f"/plans/{plan.pk}/goals/", {"kind": "deals_registered", "target": "6"})
    client.post(f"/plans/{plan.pk}/goals/", {"kind": "custom", "label": "Joint webinars", "target": "3"})
    client.post(
        f"/plans/{plan.pk}/activities/",
        {"title": "Run a webinar", "owner": f"vendor:{side.cam.user.pk}", "due_on": "2027-03-01"},
    )
    client.post(f"/plans/{plan.pk}/comments/", {"body": "Let us aim high"})
    client.post(f"/plans/{plan.pk}/review/", {"note": "Webinars are late"})
    response = client.post(f"/plans/{plan.pk}/sign/", follow=True)
    text = body_text(response)
    assert "The other side is asked for its sign-off" in text
    for shown in (
        "Deals registered",
        "Joint webinars",
        "Run a webinar",
        "Overdue",
        "Let us aim high",
        "Webinars are late",
        "plan-chart",
    ):
        assert shown in text, shown
    cam_page = body_text(login(side.cam).get(f"/vendor/plans/{plan.pk}/"))
    assert 'id="plan-sign"' in cam_page and "Awaiting sign-off" in cam_page
    login(side.cam).post(f"/plans/{plan.pk}/sign/")
    assert BusinessPlan.objects.get(pk=plan.pk).status == PlanStatus.AGREED


def test_the_vendor_list_puts_behind_plans_first_and_filters() -> None:
    sf.rates()
    admin = factories.vendor_actor(VendorRole.PROGRAM_ADMIN)
    ahead, behind, empty = pf.side("Ahead Corp"), pf.side("Behind Corp"), pf.side("Empty Corp")
    pf.plan(ahead.partner, goals=[("won_revenue", "100")])
    pf.plan(behind.partner, goals=[("won_revenue", "100000")], status=PlanStatus.AGREED)
    pf.plan(empty.partner)
    sf.deal(ahead.partner, "won", won_amount="90.00", closed_on=date(2027, 2, 1))
    text = body_text(login(admin).get("/vendor/plans/"))
    assert text.index("Behind Corp") < text.index("Ahead Corp") < text.index("Empty Corp")
    only_behind = body_text(login(admin).get("/vendor/plans/", {"behind": "on"}))
    assert "Behind Corp" in only_behind and "Ahead Corp" not in only_behind
    agreed = body_text(login(admin).get("/vendor/plans/", {"status": "agreed", "period": "bogus"}))
    assert "Behind Corp" in agreed and "Ahead Corp" not in agreed
    # A channel account manager sees the portfolio only.
    cam_text = body_text(login(ahead.cam).get("/vendor/plans/"))
    assert "Ahead Corp" in cam_text and "Behind Corp" not in cam_text


def test_the_csv_export_has_every_plan_of_the_scope_with_progress() -> None:
    sf.rates()
    one, two = pf.side("Export One"), pf.side("Export Two")
    pf.plan(one.partner, goals=[("won_revenue", "100"), ("custom", "4")])
    pf.plan(two.partner, goals=[("won_revenue", "100")])
    response = exported(login(one.cam), "/vendor/plans/export.csv")
    rows = list(csv.DictReader(io.StringIO(body_text(response))))
    assert {r["partner"] for r in rows} == {"Export One"}
    assert [r["goal"] for r in rows] == ["Won revenue", "Custom 1"] and rows[0]["behind"] == "yes"
    assert exported(login(one.admin), "/vendor/plans/export.csv").status_code == 404


def test_learners_and_content_managers_get_no_plan_pages_nor_navigation() -> None:
    side = pf.side()
    learner = factories.partner_user(side.partner, role=PartnerRole.LEARNER)
    assert login(learner).get("/plans/").status_code == 404
    assert 'id="nav-plans"' not in body_text(login(learner).get("/"))
    assert 'id="nav-plans"' in body_text(login(side.admin).get("/"))
    content = factories.vendor_user(VendorRole.CONTENT_MANAGER)
    assert login(content).get("/vendor/plans/").status_code == 404


def test_the_partner_home_and_the_360_page_show_the_active_plan() -> None:
    sf.rates()
    side = pf.side()
    plan = pf.plan(side.partner, goals=[("won_revenue", "1000")], status=PlanStatus.AGREED)
    pf.activity(plan, side.admin.user, date(2027, 3, 1))
    home = body_text(login(side.admin).get("/"))
    assert 'id="plan-panel"' in home and "FY2027 H1" in home and "1 activity overdue" in home
    page = body_text(login(side.cam).get(f"/vendor/partners/{side.partner.pk}/360/"))
    assert 'id="p360-plans"' in page and f"/vendor/plans/{plan.pk}/" in page and "1 activity overdue" in page
    content = factories.vendor_user(VendorRole.CONTENT_MANAGER)
    assert 'id="p360-plans"' not in body_text(login(content).get(f"/vendor/partners/{side.partner.pk}/360/"))


def test_an_activity_moves_only_as_its_states_allow_and_says_so() -> None:
    side = pf.side()
    plan = pf.plan(side.partner, goals=[("won_revenue", "10")])
    activity = pf.activity(plan, side.admin.user, date(2027, 4, 1))
    with acting(side.admin):
        services.activity_set_status(actor=side.admin, activity=activity, status="done")
        with pytest.raises(ApplicationError, match="An activity that is done cannot become cancelled"):
            services.activity_set_status(actor=side.admin, activity=activity, status="cancelled")
    activity.refresh_from_db()
    assert activity.status == "done" and not activity.is_overdue(date(2027, 5, 1))
    assert AuditEvent.objects.filter(action="plan.activity_status", target_id=str(activity.pk)).count() == 1


def test_a_second_draft_for_the_same_period_racing_the_first_is_refused_in_words() -> None:
    """Two requests that both pass the overlap check: the unique constraint decides, as a message."""
    side = pf.side()
    pf.plan(side.partner)
    with (
        mock.patch.object(BusinessPlan.objects, "filter", return_value=BusinessPlan.objects.none()),
        pytest.raises(ApplicationError, match="already has a plan for FY2027 H1"),
        acting(side.cam),
    ):
        services.plan_draft(actor=side.cam, partner=side.partner, period_key="2027H1")


def test_the_vendor_drafts_a_plan_for_a_partner_of_the_portfolio_only() -> None:
    side, other = pf.side("Portfolio Partner"), pf.side("Not Mine")
    client = login(side.cam)
    assert client.get("/vendor/plans/new/").status_code == 200
    refused = client.post("/vendor/plans/new/", {"partner": other.partner.pk, "period": "2027H1"})
    assert refused.status_code == 400 and not BusinessPlan.objects.filter(partner=other.partner).exists()
    bad_period = client.post("/vendor/plans/new/", {"partner": side.partner.pk, "period": "1999H1"})
    assert bad_period.status_code == 400 and "invalid-feedback" in body_text(bad_period)
    made = client.post("/vendor/plans/new/", {"partner": side.partner.pk, "period": "2027H2"})
    plan = BusinessPlan.objects.get(partner=side.partner)
    assert made["Location"] == f"/vendor/plans/{plan.pk}/" and plan.period_label == "FY2027 H2"
    again = client.post("/vendor/plans/new/", {"partner": side.partner.pk, "period": "2027H2"})
    assert again.status_code == 400 and "already has a plan for FY2027 H2" in body_text(again)
    assert login(factories.vendor_user(VendorRole.FINANCE)).get("/vendor/plans/new/").status_code == 404
