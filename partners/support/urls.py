from django.urls import path

from . import views

app_name = "support"

urlpatterns = [
    path("support/", views.case_list, name="case_list"),
    path("support/new/", views.case_open, name="case_open"),
    path("support/cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("support/cases/<int:pk>/reply/", views.case_reply, name="case_reply"),
    path("support/cases/<int:pk>/files/", views.case_add_files, name="case_add_files"),
    path("support/cases/<int:pk>/close/", views.case_close, name="case_close"),
    path("support/cases/<int:pk>/rate/", views.case_rate, name="case_rate"),
    path("support/cases/<int:pk>/assign/", views.case_assign, name="case_assign"),
    path("support/cases/<int:pk>/priority/", views.case_priority, name="case_priority"),
    path("support/cases/<int:pk>/resolve/", views.case_resolve, name="case_resolve"),
    path("support/cases/<int:pk>/reopen/", views.case_reopen, name="case_reopen"),
    path("support/files/<int:pk>/", views.attachment_download, name="attachment_download"),
    path("vendor/support/", views.queue, name="queue"),
    path("vendor/support/report/", views.report, name="report"),
    path("vendor/support/report/export.csv", views.report_export, name="report_export"),
]
