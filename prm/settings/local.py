"""Settings for `bin/portal`: a developer's machine with the embedded or local services."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# One line per e-mail in the terminal; the messages themselves at /demo/outbox/ (prm.demo_outbox).
EMAIL_BACKEND = env("EMAIL_BACKEND", default="prm.demo_outbox.OutboxBackend")
PRM_DEMO_OUTBOX_DIR = env("PRM_DEMO_OUTBOX_DIR", default=str(BASE_DIR / "var" / "outbox"))  # noqa: F405
# The portal's URLs plus the demo outbox page; production keeps prm.urls.
ROOT_URLCONF = "prm.demo_urls"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
# Serve static files straight from the app and static/ folders (no collectstatic needed).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Webhook receivers in tests and local development run on this machine (http://127.0.0.1:…).
PRM["WEBHOOK_ALLOW_PRIVATE_URLS"] = True  # noqa: F405

# `manage.py seed_demo` creates logins with a published password; only here may it run.
DEMO_DATA_ALLOWED = True
