"""Admin for market development funds: where vendor staff decide.

Channel account managers approve, return and reject fund requests (their portfolio only, up to
their approval limit); finance approves claims and marks payouts paid; program admins set up
periods, budgets, allocations and approval limits.

Every decision calls the same service as every other entry point (``mdf.services``), one object at
a time in its own savepoint, and every refusal (``ApplicationError``) is reported per object. The
admin never edits a request, claim or ledger row itself: those forms are read-only. Decisions ask
for amounts and reasons on an intermediate page, reached from the list (bulk actions) or from the
buttons on an object's page (the same page for that one object).

List pages run a constant number of queries: ledger balances are aggregated in SQL (a correlated
subquery or ``ledger.balance_annotations()``), never per row.
"""

from . import claims, funds, requests  # noqa: F401  (each module registers its admins)
