"""Settings for the test suite: the same PostgreSQL and Redis as production, faster hashing."""

import re

from .base import *  # noqa: F403
from .base import env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A test that starts a real worker points it at a file backend through the environment.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
# Tasks run in-process unless a test starts a real worker (tests/prm/test_celery_worker.py).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
MEDIA_ROOT = env("PRM_MEDIA_ROOT", default="/tmp/prm-test-media")  # noqa: S108
STORAGES["default"]["OPTIONS"]["location"] = str(MEDIA_ROOT)  # noqa: F405
CACHES["default"]["KEY_PREFIX"] = env("PRM_CACHE_PREFIX", default="prm-test")  # noqa: F405
# Tests with several requests per second from one address must not trip the login rate limit;
# the rate-limit test sets its own values.
ACCOUNT_RATE_LIMITS = {**ACCOUNT_RATE_LIMITS, "login": "1000/m/ip"}  # noqa: F405
# Serve static files straight from the app and static/ folders (no collectstatic needed).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Each pytest-xdist worker gets its own Redis database for the cache, so one worker clearing its
# cache (tests/conftest.py) never resets another's rate-limit counters or MFA state.
_match = re.match(r"^(redis://[^/]+)/(\d+)$", REDIS_URL)  # noqa: F405
if _match:
    _worker = int(env("PYTEST_XDIST_WORKER", default="gw0").removeprefix("gw") or 0)
    CACHES["default"]["LOCATION"] = f"{_match.group(1)}/{(int(_match.group(2)) + 8 + _worker) % 16}"  # noqa: F405

# Each request resolves its actor from the database unless a test turns the actor cache on (its
# own tests do: tests/partners/test_actor_cache.py): a cached actor would make a page's query
# count depend on whether the test's previous request left one behind. PRM_ACTOR_CACHE_SECONDS=300
# runs the suite with it, as production does.
PRM["ACTOR_CACHE_SECONDS"] = env.int("PRM_ACTOR_CACHE_SECONDS", default=0)  # noqa: F405

# Webhook receivers in tests and local development run on this machine (http://127.0.0.1:…).
PRM["WEBHOOK_ALLOW_PRIVATE_URLS"] = True  # noqa: F405

# `manage.py seed_demo` creates logins with a published password; only here may it run.
DEMO_DATA_ALLOWED = True

# Every kept statement (prm.statements) is checked against the ORM's own on each call: the whole
# suite proves the statements compiled once are the ones the ORM builds for every actor it runs.
PRM["VERIFY_STATEMENTS"] = True  # noqa: F405
