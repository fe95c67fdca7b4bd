"""Partner performance management: the engine that measures partners.

* ``kpis``      the KPI registry. Each app contributes the KPIs it owns through its AppConfig
                (``kpis = "deals.kpis.KPIS"``), so this package never imports an app above partners;
                a KPI computes its value for every partner at once, in SQL.
* ``scoring``   how a value becomes points (scoring bands against a target) and points a total.
* ``services``  the writes: the nightly snapshots, qualitative assessments, KPI switches.
* ``selectors`` the reads the pages use: a partner's scorecard, its trend, rankings.
* ``policies``  who sees which snapshot and assessment, who records a rating.

The tables are in ``partners.models`` (KpiSetting, ScorecardTemplate, ScorecardLine,
PartnerAssessment, ScorecardSnapshot); the nightly task in ``partners.tasks``.
"""
