"""The demo's URLs (prm.settings.local, ``bin/portal``): the portal's own plus the outbox page.
Production settings keep ROOT_URLCONF = prm.urls, so /demo/outbox/ does not exist there."""

from django.urls import include, path

from . import demo_views

urlpatterns = [
    path("demo/outbox/", demo_views.outbox, name="demo_outbox"),
    path("", include("prm.urls")),
]
