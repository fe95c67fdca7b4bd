"""WSGI entry point of the page benchmark: ``gunicorn bench.bare.wsgi:application``.

The portal's own application (``prm.wsgi``, production settings, its RLS role check) serves every
request but ``/bench-bare/``, which the bare handler serves in the same worker processes.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prm.settings.production")

from prm.wsgi import application as portal_application  # sets Django up  # noqa: I001

from bench.bare.dispatch import Dispatcher
from bench.bare.handler import BareHandler

application = Dispatcher(bare=BareHandler(), portal=portal_application)
