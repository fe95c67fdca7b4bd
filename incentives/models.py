"""What turns activity in the other apps into rewards and standing: which deals an MDF activity
sourced (for ROI), incentive programs, the partners' earnings ledger and its settlement. Lives
here because it links sibling apps (deals, mdf, partners)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from deals.models import Deal
from mdf.models import FundRequest
from partners.models import Partner, Tier
from prm.money import currency_field, money_field
from prm.transitions import StateMachine


class MdfAttribution(models.Model):
    """A partner says "this deal came from that MDF activity". One activity per deal."""

    TENANT_COLUMN = "partner_id"
    RLS_MONEY = True  # content / training managers' database scope leaves it out

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    deal = models.OneToOneField(Deal, on_delete=models.CASCADE, related_name="mdf_attribution")
    fund_request = models.ForeignKey(FundRequest, on_delete=models.CASCADE, related_name="attributions")
    attributed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.deal} ← {self.fund_request}"


# --- Incentive programs, the earnings ledger and settlement ---------------------------------------
class ProgramKind(models.TextChoices):
    SPIF = "spif", _("SPIF (fixed amount per won deal)")
    # A percent sign, not a placeholder (msgfmt --check would refuse a translation of it).
    # xgettext:no-python-format
    REBATE = "rebate", _("Rebate (% of won revenue)")


class ProgramStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    ENDED = "ended", _("Ended")


def _decimal(value: object) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


class IncentiveProgram(models.Model):
    """A vendor-owned incentive (edited in the Django admin). A won deal qualifies when its
    ``closed_on`` falls in the window, its currency is the program's, the partner's tier is listed
    (or none are) and one of its lines is in a listed product line (or none are)."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=ProgramKind.choices)
    status = models.CharField(
        _("status"), max_length=8, choices=ProgramStatus.choices, default=ProgramStatus.DRAFT
    )
    currency = currency_field(verbose_name=_("currency"))
    spif_amount = money_field(
        verbose_name=_("SPIF amount per deal"),
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    rebate_percent = models.DecimalField(
        _("base rebate %"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Applies until the partner's quarterly revenue reaches the first bracket."),
    )
    brackets = models.JSONField(
        _("volume brackets"),
        default=list,
        blank=True,
        help_text=_(
            "Quarterly won revenue from which a higher rate applies, ascending, e.g. "
            '[["50000", "4"], ["100000", "5"]].'
        ),
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    tiers = models.ManyToManyField(
        Tier, verbose_name=_("eligible tiers"), blank=True, related_name="+", help_text=_("None: all tiers.")
    )
    product_lines = ArrayField(
        models.CharField(max_length=100),
        verbose_name=_("eligible product lines"),
        default=list,
        blank=True,
        help_text=_("Comma-separated; empty: every product line."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-starts_on", "name"]
        verbose_name = _("incentive program")

    def __str__(self) -> str:
        return self.name

    def bracket_list(self) -> list[tuple[Decimal, Decimal]]:
        """The brackets as Decimals, ascending (validated by ``clean``)."""
        return [
            (Decimal(str(threshold)), Decimal(str(percent))) for threshold, percent in self.brackets or []
        ]

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            errors["ends_on"] = _("The program cannot end before it starts.")
        if self.kind == ProgramKind.SPIF:
            if not self.spif_amount or self.spif_amount <= 0:
                errors["spif_amount"] = _("A SPIF pays a fixed amount per deal: enter it.")
            if self.rebate_percent is not None or self.brackets:
                errors["rebate_percent"] = _("A SPIF has no rebate percentage or brackets.")
        if self.kind == ProgramKind.REBATE:
            if self.rebate_percent is None:
                errors["rebate_percent"] = _("Enter the base rebate percentage (0 to 100).")
            elif not 0 <= self.rebate_percent <= 100:
                errors["rebate_percent"] = _("A rebate percentage is between 0 and 100.")
            if self.spif_amount is not None:
                errors["spif_amount"] = _("A rebate has no fixed SPIF amount.")
            bracket_error = self._bracket_error()
            if bracket_error:
                errors["brackets"] = bracket_error
        if errors:
            raise ValidationError(errors)

    def _bracket_error(self) -> str:
        if not isinstance(self.brackets, list):
            return _('Brackets are a list of [threshold, percent] pairs, e.g. [["50000", "4"]].')
        previous: Decimal | None = None
        for pair in self.brackets:
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                return _('Each bracket is a [threshold, percent] pair, e.g. ["50000", "4"].')
            threshold, percent = _decimal(pair[0]), _decimal(pair[1])
            if threshold is None or percent is None or threshold <= 0:
                return _("Bracket thresholds are amounts above zero and percentages are numbers.")
            if not 0 <= percent <= 100:
                return _("A bracket's percentage is between 0 and 100.")
            if previous is not None and threshold <= previous:
                return _("Bracket thresholds must be in ascending order, each higher than the one before.")
            previous = threshold
        return ""


class EarningKind(models.TextChoices):
    ACCRUAL = "accrual", _("Accrual")
    REVERSAL = "reversal", _("Reversal")
    ADJUSTMENT = "adjustment", _("Adjustment")


class EarningEntry(models.Model):
    """One movement of a partner's incentive earnings. Append-only (the database refuses UPDATE
    and DELETE); a correction is a new row, a reversal a negative one. The signed amounts sum to
    the balance."""

    TENANT_COLUMN = "partner_id"
    RLS_MONEY = True  # content / training managers' database scope leaves it out

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey(IncentiveProgram, on_delete=models.PROTECT, related_name="entries")
    deal = models.ForeignKey(Deal, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=12, choices=EarningKind.choices)
    amount = money_field(verbose_name=_("amount"))
    currency = currency_field(verbose_name=_("currency"))
    idempotency_key = models.CharField(max_length=120, unique=True)
    memo = models.CharField(_("memo"), max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("earning entry")
        verbose_name_plural = _("earning entries")
        indexes = [models.Index(fields=["partner", "currency"], name="earning_partner_currency_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency}"


class StatementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    APPROVED = "approved", _("Approved")
    PAID = "paid", _("Paid")


# The only status changes there are; the services check them.
STATEMENT_TRANSITIONS: dict[str, set[str]] = {
    StatementStatus.DRAFT: {StatementStatus.APPROVED},
    StatementStatus.APPROVED: {StatementStatus.PAID},
    StatementStatus.PAID: set(),
}


class Statement(models.Model):
    """What the vendor owes one partner in one currency for the entries settled by one run."""

    TENANT_COLUMN = "partner_id"
    TRANSITIONS = StateMachine(
        STATEMENT_TRANSITIONS, refusal=_("Statement %(number)s is %(current)s; it cannot become %(target)s.")
    )
    RLS_MONEY = True  # content / training managers' database scope leaves it out

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    currency = currency_field(verbose_name=_("currency"))
    period_end = models.DateField(_("period end"))
    number = models.CharField(_("number"), max_length=40, unique=True)
    status = models.CharField(
        _("status"), max_length=8, choices=StatementStatus.choices, default=StatementStatus.DRAFT
    )
    total = money_field(verbose_name=_("total"))
    created_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    payment_reference = models.CharField(_("payment reference"), max_length=100, blank=True)

    class Meta:
        ordering = ["-period_end", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "currency", "period_end"], name="statement_one_per_partner_currency_period"
            )
        ]

    def __str__(self) -> str:
        return _("Statement %(number)s") % {"number": self.number}


class SettlementLine(models.Model):
    """Membership of one earning entry in one statement. ``entry`` is unique, so the database
    itself refuses to settle an entry twice (the ledger row stays untouched: it is append-only)."""

    TENANT_COLUMN = "partner_id"
    RLS_MONEY = True  # content / training managers' database scope leaves it out

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="lines")
    entry = models.OneToOneField(EarningEntry, on_delete=models.PROTECT, related_name="settlement_line")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    amount = money_field(verbose_name=_("amount"))

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.statement} · {self.entry}"
