"""The partner home page at the site root, under the un-namespaced name ``home`` that every app
links to. A module of its own so the kernel's URL root can include it by name like every other
app's URLs, and never import partners (prm imports no domain app)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
]
