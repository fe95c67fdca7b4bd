from django.urls import path

from . import views

app_name = "locator"

urlpatterns = [
    path("find-a-partner/", views.directory, name="directory"),
    path("find-a-partner/<int:pk>/", views.listing_detail, name="detail"),
    path("find-a-partner/<int:pk>/thanks/", views.thanks, name="thanks"),
    path("find-a-partner/<int:pk>/logo/", views.listing_logo, name="logo"),
    path("partners/<int:pk>/listing/", views.listing_manage, name="manage"),
]
