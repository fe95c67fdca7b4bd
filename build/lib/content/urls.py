from django.urls import path

from . import views

app_name = "content"

urlpatterns = [
    path("content/", views.library, name="library"),
    path("content/<int:pk>/", views.asset_detail, name="asset"),
    path("content/<int:pk>/download/", views.asset_download, name="download"),
    path("content/<int:pk>/cobranded.pdf", views.asset_cobranded, name="cobranded"),
    path("vendor/content/", views.vendor_report, name="vendor_report"),
    path("vendor/content/export.csv", views.vendor_report_export, name="vendor_report_export"),
]
