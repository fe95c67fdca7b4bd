from django.urls import path

from . import tier_views, vendor_360
from . import vendor_views as views
from .performance import views as performance_views

app_name = "vendor"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("partners/", views.partner_list, name="partner_list"),
    path("partners/export.csv", views.partner_export, name="partner_export"),
    path("partners/suggest/", views.partner_suggest, name="partner_suggest"),
    path("partners/import/", views.partner_import, name="partner_import"),
    path("partners/<int:pk>/", views.partner_detail, name="partner_detail"),
    path("partners/<int:pk>/status/", views.partner_change_status, name="partner_change_status"),
    path("partners/<int:pk>/manager/", views.partner_assign_manager, name="partner_assign_manager"),
    path("partners/<int:pk>/tier/", views.partner_change_tier, name="partner_change_tier"),
    path("partners/<int:pk>/portfolio/grant/", views.partner_portfolio_grant, name="partner_portfolio_grant"),
    path(
        "partners/<int:pk>/portfolio/<int:user_pk>/revoke/",
        views.partner_portfolio_revoke,
        name="partner_portfolio_revoke",
    ),
    path("profile-changes/", views.profile_change_list, name="profile_change_list"),
    path("profile-changes/<int:pk>/approve/", views.profile_change_approve, name="profile_change_approve"),
    path("profile-changes/<int:pk>/reject/", views.profile_change_reject, name="profile_change_reject"),
    path("applications/", views.application_list, name="application_list"),
    path("applications/<int:pk>/", views.application_detail, name="application_detail"),
    path("applications/<int:pk>/approve/", views.application_approve, name="application_approve"),
    path("applications/<int:pk>/reject/", views.application_reject, name="application_reject"),
    path("partners/<int:pk>/360/", vendor_360.partner_360, name="partner_360"),
    path("scorecards/", performance_views.rankings, name="scorecard_rankings"),
    path("scorecards/export.csv", performance_views.rankings_export, name="scorecard_rankings_export"),
    path("partners/<int:pk>/scorecard/", performance_views.partner_scorecard, name="partner_scorecard"),
    path("tier-reviews/", tier_views.tier_review_list, name="tier_review_list"),
    path("tier-reviews/evaluate/", tier_views.tier_evaluate, name="tier_evaluate"),
    path("tier-reviews/<int:pk>/approve/", tier_views.tier_proposal_approve, name="tier_proposal_approve"),
    path("tier-reviews/<int:pk>/waive/", tier_views.tier_proposal_waive, name="tier_proposal_waive"),
]
