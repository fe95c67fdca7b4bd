"""Production settings: everything secret or host-specific must come from the environment."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import PRM, env

DEBUG = False
# No default, and never one of the keys published in this repository: sessions, password-reset
# links and signed values would be forgeable by anyone who has read it.
_PUBLISHED_SECRET_KEYS = {
    "insecure-development-key-change-me-0123456789abcdef",  # prm/settings/base.py
    "change-me-local-docker-only-3f9c1a7e5b2d8046-not-for-production-use",  # an old docker-compose.yml
    "build-only",  # the Dockerfile's collectstatic step
}
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
if (
    not SECRET_KEY.strip()
    or SECRET_KEY in _PUBLISHED_SECRET_KEYS
    or SECRET_KEY.startswith("django-insecure-")  # Django's startproject placeholder
):
    raise ImproperlyConfigured(
        "Set DJANGO_SECRET_KEY to a long random value of your own (for example the output of "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'); production settings do "
        "not start without one."
    )
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)  # noqa: F405
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")

# Never in production, whatever the environment says: a partner's webhook URL must not reach
# private or internal addresses (prm/outbound.py), and the demo's public logins must not exist.
PRM = {**PRM, "WEBHOOK_ALLOW_PRIVATE_URLS": False}
DEMO_DATA_ALLOWED = False
