"""Events the deals app emits for the apps above it (incentives, co-op accrual, tiers,
scorecards). Sent after the transaction commits, with the deal's id only."""

from django.dispatch import Signal

deal_won = Signal()  # kwargs: deal_id
deal_lost = Signal()  # kwargs: deal_id
