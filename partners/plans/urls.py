"""The plan pages (namespace ``plans``): the partner portal's under /plans/, the vendor console's
under /vendor/plans/, and the changes either side posts to a plan."""

from django.urls import path

from . import views

app_name = "plans"

urlpatterns = [
    path("plans/", views.partner_list, name="partner_list"),
    path("plans/<int:pk>/", views.partner_detail, name="partner_detail"),
    path("plans/<int:pk>/sign/", views.plan_sign, name="sign"),
    path("plans/<int:pk>/ask-sign-off/", views.plan_request_signoff, name="request_signoff"),
    path("plans/<int:pk>/goals/", views.goal_add, name="goal_add"),
    path("plans/<int:pk>/goals/<int:goal_pk>/target/", views.goal_target, name="goal_target"),
    path("plans/<int:pk>/goals/<int:goal_pk>/value/", views.goal_value, name="goal_value"),
    path("plans/<int:pk>/goals/<int:goal_pk>/remove/", views.goal_remove, name="goal_remove"),
    path("plans/<int:pk>/activities/", views.activity_add, name="activity_add"),
    path(
        "plans/<int:pk>/activities/<int:activity_pk>/status/", views.activity_status, name="activity_status"
    ),
    path("plans/<int:pk>/comments/", views.comment_add, name="comment_add"),
    path("plans/<int:pk>/review/", views.review_save, name="review"),
    path("plans/<int:pk>/revisions/<int:revision_pk>/", views.revision_detail, name="revision"),
    path("vendor/plans/", views.vendor_list, name="vendor_list"),
    path("vendor/plans/export.csv", views.vendor_export, name="vendor_export"),
    path("vendor/plans/new/", views.vendor_new, name="vendor_new"),
    path("vendor/plans/<int:pk>/", views.vendor_detail, name="vendor_detail"),
]
