from django.urls import path

from bench.bare import views

urlpatterns = [path("bench-bare/", views.bare_rows, name="bench_bare")]
