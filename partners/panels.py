"""The panels hook: how an app contributes a panel to a page of an app below it without that app
importing it (the ladder in ARCHITECTURE.md).

An app's config names a function for a hook, as a dotted path in a class attribute (or a list of
them, in order, when the app has more than one panel for the page)::

    class DealsConfig(AppConfig):
        partner_home_panel = "deals.panels.partner_home_panel"

and the page calls ``app_panels("partner_home_panel", request)``. Each function takes the request
and the keyword arguments the page passes for that hook (``fund_request=`` on an MDF request) and
returns a dict with the ``template`` to include (and whatever that template shows), or None to show
nothing. The hooks in use:

* ``partner_home_panel(request)``, ``vendor_home_panel(request)``: the partner home and the vendor
  dashboard (partners);
* ``company_panel(request, *, partner)``: the partner's company page (partners);
* ``mdf_request_panel(request, *, fund_request)``: an MDF request's page;
* ``mdf_report_panel(request)``, ``mdf_report_csv_rows(request)``: the vendor's MDF report and its
  CSV export (a list of rows keyed by the export's column names). The export is built by Celery
  (prm.exports), so ``mdf_report_csv_rows`` gets a request that carries only ``actor`` and ``user``;
* ``partner_360_panel(request, *, partner)``: a card on the partner 360 page (partners.vendor_360),
  for vendor staff looking at one partner they may see. The panel scopes its own reads with its
  app's policies (a channel account manager's portfolio), returns None for a role that has no
  business with it (money panels: the money-blind roles, ``partners.policies.sees_partner_business``)
  and keeps to two or three queries whatever the partner's size. Its template is a whole card;
  ``columns`` (optional) are its grid classes, "col-lg-6 col-xxl-4" by default.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.http import HttpRequest
from django.utils.module_loading import import_string


def app_panels(hook: str, request: HttpRequest, **context: Any) -> list[Any]:
    """What every installed app contributes to ``hook``, in INSTALLED_APPS order; empty answers
    are left out."""
    panels = []
    for config in apps.get_app_configs():
        paths = getattr(config, hook, None) or ()
        # One dotted path, or a list of them when an app has more than one panel for a page.
        for path in [paths] if isinstance(paths, str) else paths:
            panel = import_string(path)(request, **context)
            if panel:
                panels.append(panel)
    return panels
