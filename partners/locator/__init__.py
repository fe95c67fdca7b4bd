"""The public partner locator: an opt-in directory where end customers find active partners by
region, country, tier, certification and authorized product line, and write to one (the enquiry
becomes a lead for that partner). A partner admin keeps the listing (``PartnerListing``, in
partners/models.py like every sub-package's table)."""
