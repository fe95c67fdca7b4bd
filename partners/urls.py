from django.urls import path

from . import views
from .performance import views as performance_views

app_name = "partners"

urlpatterns = [
    path("agreement/", views.agreement, name="agreement"),
    path("company/", views.company, name="company"),
    path("company/logo/", views.company_logo, name="company_logo"),
    path("company/profile-change/", views.company_profile_change, name="company_profile_change"),
    path("partners/<int:pk>/logo/", views.partner_logo, name="partner_logo"),
    path("team/", views.team, name="team"),
    path("team/export.csv", views.team_export, name="team_export"),
    path("team/invite/", views.team_invite, name="team_invite"),
    path("team/members/<int:pk>/role/", views.member_role, name="member_role"),
    path("team/members/<int:pk>/deactivate/", views.member_deactivate, name="member_deactivate"),
    path("team/members/<int:pk>/reactivate/", views.member_reactivate, name="member_reactivate"),
    path("team/invitations/<int:pk>/resend/", views.invitation_resend, name="invitation_resend"),
    path("team/invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("apply/", views.apply, name="apply"),
    path("apply/thanks/", views.apply_thanks, name="apply_thanks"),
    path("scorecard/", performance_views.scorecard, name="scorecard"),
]
