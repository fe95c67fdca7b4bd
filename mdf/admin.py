from django.contrib import admin

from .models import FundRequest


@admin.register(FundRequest)
class FundRequestAdmin(admin.ModelAdmin):
    """Placeholder until the approval admin lands."""
