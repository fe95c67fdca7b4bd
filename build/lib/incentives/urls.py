from django.urls import path

from . import views

app_name = "incentives"

urlpatterns = [
    path("mdf/requests/<int:pk>/attribute/", views.attribute_deal, name="attribute_deal"),
    path("mdf/attributions/<int:pk>/detach/", views.detach_deal, name="detach_deal"),
    path("earnings/", views.earnings, name="earnings"),
    path("earnings/export.csv", views.earnings_export, name="earnings_export"),
    path("statements/<int:pk>/pdf/", views.statement_pdf, name="statement_pdf"),
    path("vendor/settlements/", views.settlements, name="settlements"),
    path("vendor/settlements/<int:pk>/approve/", views.statement_approve, name="statement_approve"),
    path("vendor/settlements/<int:pk>/paid/", views.statement_mark_paid, name="statement_mark_paid"),
    path("vendor/incentives/programs/", views.programs, name="programs"),
]
