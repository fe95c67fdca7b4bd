from rest_framework.routers import DefaultRouter

from . import api

router = DefaultRouter()
router.register("products", api.ProductViewSet, basename="api-product")
router.register("deals", api.DealViewSet, basename="api-deal")
router.register("leads", api.LeadViewSet, basename="api-lead")

urlpatterns = router.urls
