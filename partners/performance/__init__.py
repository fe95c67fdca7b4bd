"""Partner performance management: the engine that measures partners.

* ``kpis``      the KPI registry. Each app contributes the KPIs it owns through its AppConfig
                (``kpis = "deals.kpis.KPIS"``), so this package never imports an app above partners;
                a KPI computes its value for every partner at once, in SQL.
* ``scoring``   how a value becomes points (scoring bands against a target) and points a total.
* ``services``  the writes: the nightly snapshots, qualitative assessments, KPI switches.
* ``selectors`` the reads the pages use: a partner's scorecard, its trend, rankings.
* ``policies``  who sees which snapshot and assessment, who records a rating.
* ``display``   a scorecard as the pages show it: values in words, trend charts as SVG geometry,
                and ``scorecard_summary`` for a panel on another page (the partner 360 page,
                with ``partners/performance/_scorecard_summary.html``).
* ``views``, ``forms``  the partner's scorecard page (``partners:scorecard``), the vendor rankings
                (``vendor:scorecard_rankings``, its CSV export in ``partners.exports``) and one
                partner's scorecard with the quarterly rating (``vendor:partner_scorecard``).

The tables are in ``partners.models`` (KpiSetting, ScorecardTemplate, ScorecardLine,
PartnerAssessment, ScorecardSnapshot); the nightly task in ``partners.tasks``.
"""
