"""What turns activity in the other apps into rewards and standing. For now: which deals an MDF
activity sourced (for ROI). Lives here because it links two sibling apps (deals, mdf)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from deals.models import Deal
from mdf.models import FundRequest
from partners.models import Partner


class MdfAttribution(models.Model):
    """A partner says "this deal came from that MDF activity". One activity per deal."""

    TENANT_COLUMN = "partner_id"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    deal = models.OneToOneField(Deal, on_delete=models.CASCADE, related_name="mdf_attribution")
    fund_request = models.ForeignKey(FundRequest, on_delete=models.CASCADE, related_name="attributions")
    attributed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.deal} ← {self.fund_request}"
