"""Partner problem management: support cases (business consulting, complaints, business failure
reports and the kinds the vendor adds), their SLAs, messages, internal notes and files.

A sub-package of partners (the tenant's own problems belong with the tenant), laid out like an app:
``models`` (imported into ``partners.models``), ``policies``, ``selectors``, ``services``, ``sla``,
``linkables`` (the registry through which deals, MDF and training offer their items to link a case
to), ``forms``, ``views``, ``urls``, ``admin``, ``tasks``, ``exports``, ``panels`` and ``demo``.
"""
