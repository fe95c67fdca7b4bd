from django.urls import path

from . import views

app_name = "mdf"

urlpatterns = [
    # Partner side
    path("funds/", views.funds, name="funds"),
    path("funds/allocations/<int:pk>/ledger/", views.allocation_ledger, name="allocation_ledger"),
    path("funds/requests/", views.request_list, name="request_list"),
    path("funds/requests/export.csv", views.request_export, name="request_export"),
    path("funds/requests/new/", views.request_create, name="request_create"),
    path("funds/requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("funds/requests/<int:pk>/edit/", views.request_edit, name="request_edit"),
    path("funds/requests/<int:pk>/submit/", views.request_submit, name="request_submit"),
    path("funds/requests/<int:pk>/claim/", views.claim_create, name="claim_create"),
    path("funds/proofs/<int:pk>/", views.proof_download, name="proof_download"),
    # Vendor side (approvals happen in the Django admin; these are the reports)
    path("vendor/funds/", views.vendor_report, name="vendor_report"),
    path("vendor/funds/export.csv", views.vendor_report_export, name="vendor_report_export"),
]
