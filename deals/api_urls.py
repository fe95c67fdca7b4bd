from django.urls import re_path
from rest_framework.routers import DefaultRouter

from . import api

router = DefaultRouter()
router.register("products", api.ProductViewSet, basename="api-product")
router.register("deals", api.DealViewSet, basename="api-deal")
router.register("leads", api.LeadViewSet, basename="api-lead")

urlpatterns = [
    *router.urls,
    # Last: any other address under the API answers the API's JSON 404, not the portal's HTML page.
    re_path(r"^.*$", api.NotFoundView.as_view(), name="api-not-found"),
]
