from django.urls import path

from . import views

app_name = "training"

urlpatterns = [
    path("training/", views.catalogue, name="catalogue"),
    path("training/courses/<int:pk>/", views.course_detail, name="course"),
    path("training/lessons/<int:pk>/", views.lesson, name="lesson"),
    path("training/lessons/<int:pk>/complete/", views.lesson_complete, name="lesson_complete"),
    path("training/courses/<int:pk>/quiz/start/", views.quiz_start, name="quiz_start"),
    path("training/attempts/<int:pk>/", views.attempt, name="attempt"),
    path("training/attempts/<int:pk>/submit/", views.attempt_submit, name="attempt_submit"),
    path("training/certifications/", views.my_certifications, name="certifications"),
    path("training/certifications/<int:pk>/", views.certificate, name="certificate"),
    path("training/certifications/<int:pk>/pdf/", views.certificate_pdf, name="certificate_pdf"),
    path("training/team/", views.team_progress, name="team_progress"),
    path("training/team/export.csv", views.team_progress_export, name="team_progress_export"),
    path("vendor/training/", views.vendor_report, name="vendor_report"),
    path("vendor/training/export.csv", views.vendor_report_export, name="vendor_report_export"),
    path("verify/<str:code>/", views.verify, name="verify"),
]
