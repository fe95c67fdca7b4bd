from django.urls import path

from bench.bare import views

urlpatterns = [path("bench-bare/", views.bare_rows, name="bench_bare")]

# Anything else is a plain 404: the portal's own 404 page extends its layout and links its pages,
# which are not in this URLconf.
handler404 = "bench.bare.views.not_found"
