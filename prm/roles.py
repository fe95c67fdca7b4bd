"""Vendor-side roles. Kept free of model imports so AppConfigs can name them."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class VendorRole(models.TextChoices):
    PROGRAM_ADMIN = "program_admin", _("Program admin")
    CHANNEL_ACCOUNT_MANAGER = "channel_account_manager", _("Channel account manager")
    FINANCE = "finance", _("Finance")
    CONTENT_MANAGER = "content_manager", _("Content / training manager")
    # Works partners' support cases (partners.support): every partner's cases, no money.
    SUPPORT = "support", _("Support staff")


# Vendor roles that never see money (deal amounts, funds, proofs, earnings): PRODUCT.md's
# "content / training manager". Their database scope leaves the money tables out.
# Support staff read cases, not deals or funds: the same money-blind database scope.
MONEY_BLIND_ROLES = frozenset({VendorRole.CONTENT_MANAGER, VendorRole.SUPPORT})
