"""The hot pages of the page benchmark, by URL name (reversed against the portal's URLconf, so a
moved URL is followed and a removed one fails loudly)."""

from __future__ import annotations

from dataclasses import dataclass

# Server time p95 targets of issue 11 (ms): partner pages, vendor pages and admin changelists.
P95_TARGET_MS = {"partner": 50.0, "vendor": 300.0}
# Ratio of requests/s to the bare page's that the issue asks of some pages ("goal 0.5").
RATIO_TARGET = 0.35


@dataclass(frozen=True)
class Page:
    key: str
    label: str
    url_name: str
    side: str  # whose page: "partner" or "vendor"
    query: str = ""
    ratio_target: bool = False  # one of the pages the issue holds to RATIO_TARGET

    def path(self) -> str:
        from django.urls import reverse

        return reverse(self.url_name) + (f"?{self.query}" if self.query else "")


PAGES = [
    # Partner side, as a partner's admin.
    Page("healthz", "/healthz with the session (no view work)", "healthz", "partner"),
    Page("home", "partner home", "home", "partner", ratio_target=True),
    Page("deals", "partner deal list", "deals:list", "partner", ratio_target=True),
    Page("deals-approved", "deal list, approved", "deals:list", "partner", query="status=approved"),
    Page("company", "company", "partners:company", "partner", ratio_target=True),
    Page("pipeline", "pipeline", "deals:pipeline", "partner", ratio_target=True),
    Page("leads", "leads", "deals:lead_list", "partner"),
    Page("notifications", "notifications", "notifications", "partner"),
    Page("team", "team", "partners:team", "partner"),
    Page("mdf-requests", "MDF requests", "mdf:request_list", "partner", ratio_target=True),
    Page("training", "training catalogue", "training:catalogue", "partner", ratio_target=True),
    Page("content", "content library", "content:library", "partner", ratio_target=True),
    # Vendor side, as the program admin and a channel account manager.
    Page("vendor-dashboard", "vendor dashboard", "vendor:dashboard", "vendor"),
    Page("review-queue", "review queue", "deals:review_queue", "vendor", ratio_target=True),
    Page("vendor-deals", "all deals", "deals:vendor_list", "vendor"),
    Page("vendor-pipeline", "vendor pipeline", "deals:vendor_pipeline", "vendor", ratio_target=True),
    Page("vendor-partners", "partner list", "vendor:partner_list", "vendor", ratio_target=True),
    Page("admin-deals", "admin deal changelist", "admin:deals_deal_changelist", "vendor"),
    Page("admin-partners", "admin partner changelist", "admin:partners_partner_changelist", "vendor"),
    Page(
        "admin-fund-requests",
        "admin MDF request changelist",
        "admin:mdf_fundrequest_changelist",
        "vendor",
        ratio_target=True,
    ),
    Page(
        "admin-fund-requests-submitted",
        "admin MDF request changelist, submitted",
        "admin:mdf_fundrequest_changelist",
        "vendor",
        query="status__exact=submitted",
    ),
]


# A page that answers 200 only to a signed-in user of that side (anyone else is redirected).
SIGNED_IN_PAGE = {"partner": "partners:company", "vendor": "vendor:dashboard"}


def signed_in_path(side: str) -> str:
    from django.urls import reverse

    return reverse(SIGNED_IN_PAGE[side])


def select(keys: str | None) -> list[Page]:
    """The pages named in ``keys`` (comma-separated keys, or prefixes such as ``admin-``); all
    without. An unknown name is an error, not an empty run."""
    if not keys:
        return list(PAGES)
    wanted = [key.strip() for key in keys.split(",") if key.strip()]
    chosen = [page for page in PAGES if any(page.key == w or page.key.startswith(w) for w in wanted)]
    unknown = [w for w in wanted if not any(p.key == w or p.key.startswith(w) for p in PAGES)]
    if unknown:
        raise SystemExit(f"unknown page(s) {', '.join(unknown)}; known: {', '.join(p.key for p in PAGES)}")
    return chosen
