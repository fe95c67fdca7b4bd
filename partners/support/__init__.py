"""Partner problem management: support cases (business consulting, complaints, business failure
reports and the kinds the vendor adds), their SLAs, messages, internal notes and files.

A sub-package of partners (the tenant's own problems belong with the tenant), laid out like an app:
``policies``, ``selectors``, ``services``, ``sla``, ``linkables`` (the registry through which deals,
MDF and training offer their items to link a case to), ``forms``, ``views``, ``urls``, ``admin``,
``tasks``, ``exports``, ``panels`` and ``demo``. Its tables are in ``partners.models`` (the
performance engine's are too): the models module imports nothing of the sub-package, so the
package keeps no import circle (import-linter's "no-circles" contract).
"""
