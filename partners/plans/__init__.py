"""Joint business plans: a plan per partner and fiscal period that both sides sign.

* ``periods``   the fiscal half-years a plan may cover (the choice list; plans never overlap).
* ``policies``  who sees a plan, who drafts, edits and signs it (a partner admin for the partner;
                the partner's channel account manager or a program admin for the vendor).
* ``services``  the writes, each audited; status moves through prm.transitions. Signing twice,
                once per side, agrees a revision; a goal changed on an agreed plan opens the next.
* ``progress``  each goal's actual against its target and the pace expected by today, computed
                live from the KPI registry (partners.performance.kpis) for the plan's own period.
* ``selectors``, ``views``, ``forms``, ``exports``, ``panels``, ``demo``.

The tables are in ``partners.models`` (BusinessPlan, PlanGoal, PlanActivity, PlanComment,
PlanRevision), like the performance tables, so the models module imports no sub-package.
"""
