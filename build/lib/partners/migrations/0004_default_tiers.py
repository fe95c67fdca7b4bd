from decimal import Decimal

from django.db import migrations

# PRODUCT.md: Registered -> Silver -> Gold -> Platinum. Program admins edit them afterwards.
TIERS = [
    dict(name="Registered", rank=1, min_trailing_revenue=Decimal("0"), min_certified_people=0, min_deals_won=0,
         deal_registration_discount_percent=Decimal("5"), mdf_accrual_percent=Decimal("0"), lead_weight=0),
    dict(name="Silver", rank=2, min_trailing_revenue=Decimal("100000"), min_certified_people=1, min_deals_won=2,
         deal_registration_discount_percent=Decimal("10"), mdf_accrual_percent=Decimal("1"), lead_weight=1),
    dict(name="Gold", rank=3, min_trailing_revenue=Decimal("500000"), min_certified_people=3, min_deals_won=6,
         deal_registration_discount_percent=Decimal("15"), mdf_accrual_percent=Decimal("2"), lead_weight=3),
    dict(name="Platinum", rank=4, min_trailing_revenue=Decimal("2000000"), min_certified_people=6,
         min_deals_won=15, deal_registration_discount_percent=Decimal("20"), mdf_accrual_percent=Decimal("3"),
         lead_weight=5),
]


def create_tiers(apps, schema_editor):
    Tier = apps.get_model("partners", "Tier")
    for values in TIERS:
        Tier.objects.update_or_create(name=values["name"], defaults=values)


class Migration(migrations.Migration):
    dependencies = [("partners", "0003_partner_name_search")]
    operations = [migrations.RunPython(create_tiers, migrations.RunPython.noop)]
