from django.urls import path

from . import views

app_name = "incentives"

urlpatterns = [
    path("mdf/requests/<int:pk>/attribute/", views.attribute_deal, name="attribute_deal"),
    path("mdf/attributions/<int:pk>/detach/", views.detach_deal, name="detach_deal"),
]
