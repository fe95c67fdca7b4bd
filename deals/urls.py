from django.urls import path

from . import vendor_views, views, webhook_views

app_name = "deals"

urlpatterns = [
    # Partner side
    path("integrations/webhooks/", webhook_views.webhook_list, name="webhooks"),
    path("integrations/webhooks/<int:pk>/delete/", webhook_views.webhook_delete, name="webhook_delete"),
    path("integrations/webhooks/<int:pk>/rotate/", webhook_views.webhook_rotate, name="webhook_rotate"),
    path(
        "integrations/deliveries/<int:pk>/redeliver/",
        webhook_views.webhook_redeliver,
        name="webhook_redeliver",
    ),
    path("deals/", views.deal_list, name="list"),
    path("deals/export.csv", views.deal_export, name="export"),
    path("deals/new/", views.deal_create, name="create"),
    path("deals/line-row/", views.deal_line_row, name="line_row"),
    path("deals/pipeline/", views.pipeline, name="pipeline"),
    path("deals/<int:pk>/", views.deal_detail, name="detail"),
    path("deals/<int:pk>/edit/", views.deal_edit, name="edit"),
    path("deals/<int:pk>/submit/", views.deal_submit, name="submit"),
    path("deals/<int:pk>/extension/", views.deal_request_extension, name="request_extension"),
    path("deals/<int:pk>/stage/", views.deal_update_stage, name="update_stage"),
    path("deals/<int:pk>/won/", views.deal_mark_won, name="mark_won"),
    path("deals/<int:pk>/lost/", views.deal_mark_lost, name="mark_lost"),
    path("leads/", views.lead_list, name="lead_list"),
    path("leads/<int:pk>/accept/", views.lead_accept, name="lead_accept"),
    path("leads/<int:pk>/decline/", views.lead_decline, name="lead_decline"),
    # Vendor side
    path("vendor/deals/review/", vendor_views.review_queue, name="review_queue"),
    path("vendor/deals/review/export.csv", vendor_views.review_queue_export, name="review_queue_export"),
    path("vendor/deals/wins/", vendor_views.won_queue, name="won_queue"),
    path("vendor/deals/", vendor_views.vendor_deal_list, name="vendor_list"),
    path("vendor/deals/export.csv", vendor_views.vendor_deal_export, name="vendor_export"),
    path("vendor/deals/<int:pk>/", vendor_views.review_detail, name="review_detail"),
    path("vendor/deals/<int:pk>/approve/", vendor_views.deal_approve, name="approve"),
    path("vendor/deals/<int:pk>/reject/", vendor_views.deal_reject, name="reject"),
    path("vendor/deals/<int:pk>/return/", vendor_views.deal_return, name="return"),
    path("vendor/deals/<int:pk>/won/confirm/", vendor_views.deal_confirm_won, name="confirm_won"),
    path("vendor/deals/<int:pk>/won/reject/", vendor_views.deal_reject_won, name="reject_won"),
    path("vendor/conflicts/<int:pk>/resolve/", vendor_views.conflict_resolve, name="conflict_resolve"),
    path("vendor/extensions/<int:pk>/decide/", vendor_views.extension_decide, name="extension_decide"),
    path("vendor/pipeline/", vendor_views.pipeline, name="vendor_pipeline"),
    path("vendor/pipeline/export.csv", vendor_views.pipeline_export, name="vendor_pipeline_export"),
    path("vendor/leads/", vendor_views.lead_list, name="vendor_lead_list"),
    path("vendor/leads/export.csv", vendor_views.lead_export, name="vendor_lead_export"),
    path("vendor/leads/new/", vendor_views.lead_create, name="lead_create"),
    path("vendor/leads/import/", vendor_views.lead_import, name="lead_import"),
    path("vendor/leads/<int:pk>/", vendor_views.lead_detail, name="vendor_lead_detail"),
    path("vendor/leads/<int:pk>/distribute/", vendor_views.lead_distribute, name="lead_distribute"),
    path("vendor/leads/<int:pk>/assign/", vendor_views.lead_assign, name="lead_assign"),
]
