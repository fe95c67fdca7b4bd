from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView

from . import views
from .admin import admin_urls_by_app, remembered_app_list

# The admin signs in through allauth: its MFA stage and rate limits apply there too.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = _("PRM administration")
admin.site.site_title = _("PRM admin")
admin.site.index_title = _("Program administration")
# The app list of every admin page's sidebar, built once per user's access (prm.admin).
admin.site.get_app_list = remembered_app_list(admin.site.get_app_list)

urlpatterns = [
    # First: load balancers and monitors ask for it far more often than anyone asks for a page, and
    # Django tries the patterns in order (behind every app's included list it cost ~0.3 ms a call).
    path("healthz", views.healthz, name="healthz"),
    # Before the apps' lists too (no app's pattern starts with "notifications/"): the inbox is
    # opened from the bell on every page, and failing every app's patterns first cost ~0.2 ms.
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/read-all/", views.notification_mark_all_read, name="notifications_read_all"),
    path("notifications/<int:pk>/", views.notification_open, name="notification_open"),
    # Before the apps' lists too (no app's pattern starts with "admin/"; the admin's own final
    # catch-all only ever saw "admin/..." paths): failing every app's patterns first cost ~90 µs
    # on every admin page. Its models grouped by app (prm.admin.admin_urls_by_app): ~180 µs more.
    path("admin/", admin_urls_by_app(admin.site)),
    path("", include("partners.home_urls")),
    path("", include("partners.urls")),
    path("vendor/", include("partners.vendor_urls")),
    path("", include("deals.urls")),
    path("", include("mdf.urls")),
    path("", include("training.urls")),
    path("", include("content.urls")),
    path("", include("incentives.urls")),
    path("", include("partners.support.urls")),
    path("", include("partners.plans.urls")),
    path("", include("partners.locator.urls")),
    path("search/", views.search_page, name="search"),
    path("exports/", views.export_list, name="exports"),
    path("exports/<int:pk>/", views.export_row, name="export_row"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
    path("account/api-tokens/", views.api_tokens, name="api_tokens"),
    path("account/api-tokens/<int:pk>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("account/language/", views.language_settings_page, name="language_settings"),
    path("account/notifications/", views.notification_settings_page, name="notification_settings"),
    path("api/v1/", include("deals.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]

# The portal's own error pages (prm.views).
handler403 = "prm.views.permission_denied"
handler404 = "prm.views.page_not_found"
handler500 = "prm.views.server_error"
handler429 = "prm.views.rate_limited"
