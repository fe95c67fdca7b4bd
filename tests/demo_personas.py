"""The demo's people (partners/management/commands/seed_demo.py), as the tests that walk the
portal as each of them name them."""

from __future__ import annotations

VENDOR_STAFF = [
    "ada.admin@prm.example",  # program admin: every admin table
    "carl.cam@prm.example",
    "fiona.finance@prm.example",
    "tom.training@prm.example",
    "sven.support@prm.example",
]
PARTNER_PEOPLE = [
    "alice.admin@acme.example",
    "sam.sales@acme.example",
    "mia.marketing@acme.example",
    "leo.learner@acme.example",
    "ivy.admin@initech.example",  # onboarding: the agreement is not accepted yet
    "uma.admin@umbrella.example",  # suspended
]
