import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prm.settings.production")
application = get_wsgi_application()

# Row-level security is the database's half of tenant isolation: never serve with a role that
# bypasses it.
from prm.checks import require_role_cannot_bypass_rls  # noqa: E402 (needs the apps loaded)

require_role_cannot_bypass_rls()
