"""Settings shared by every environment. Everything that differs between machines comes from the
environment through django-environ, so the same code runs on a laptop, in CI and in production."""

from pathlib import Path
from urllib.parse import unquote

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A developer may keep local overrides in .env; the launcher and CI pass everything explicitly.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-development-key-change-me-0123456789abcdef")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# A failed CSRF check is the portal's own page: "your form expired, reload it" (templates/403_csrf.html).
CSRF_FAILURE_VIEW = "prm.views.csrf_failure"
SITE_URL = env("PRM_SITE_URL", default="http://localhost:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    # Form widgets' templates through TEMPLATES (FORM_RENDERER below), so templates/ can override one.
    "django.forms",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "guardian",
    "django_celery_beat",
    "django_filters",
    "django_htmx",
    "django_countries",
    "rest_framework",
    "drf_spectacular",
    "csp",
    # Our kernel first, then the apps in dependency order (prm <- partners <- the rest <- incentives).
    "prm",
    "partners",
    "deals",
    "mdf",
    "training",
    "content",
    "incentives",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy header on every response (CONTENT_SECURITY_POLICY below), built
    # once per process rather than per response (django-csp's CSPMiddleware otherwise).
    "prm.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Answers a multipart POST whose files were too large to read to the end (before the CSRF
    # check, which would refuse it for a token never read); see prm.files.UploadLimitHandler.
    "prm.middleware.UploadLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # API requests with a bearer token become that token's user before the actor is resolved.
    "prm.api.ApiTokenMiddleware",
    # The signed-in person's own language (their profile) wins over the browser's; prm.i18n.
    "prm.i18n.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Ends sessions past their side's absolute or idle limit (PRM["VENDOR_SESSION_*"], ...).
    "prm.sessions.SessionLifetimeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Resolves who is acting and opens the request's tenant-scoped transaction (RLS settings).
    "partners.middleware.ActorMiddleware",
    # Gates that come before any page: MFA for vendor staff, the partner agreement, suspended access.
    "partners.middleware.AccessGateMiddleware",
]

ROOT_URLCONF = "prm.urls"
WSGI_APPLICATION = "prm.wsgi.application"
ASGI_APPLICATION = "prm.asgi.application"

# --- Content-Security-Policy (django-csp 4). Scripts and style sheets come from our own static
# files only, so an injected <script> or event handler attribute does not run. A template that
# really needs an inline <script> or <style> gives it nonce="{{ request.csp_nonce }}" (the admin's
# MDF styles do); the nonce is added to the header only on responses that used it.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        # style="..." attributes (dozens in the templates and the admin's HTML helpers: bar widths,
        # pre-line text) may stay; they cannot run code. <style> elements still need the nonce.
        "style-src-attr": [UNSAFE_INLINE],
        # data: for Bootstrap's inline SVG icons in its CSS and allauth's TOTP QR code.
        "img-src": [SELF, "data:"],
        # Lesson videos (training.views.video_embed_url makes only these two kinds of URL).
        "frame-src": ["https://www.youtube-nocookie.com", "https://player.vimeo.com"],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "prm.context_processors.portal",
            ],
        },
    },
    # Hot fragments only (a long list's rows), rendered inside Django pages: see prm/jinja2.py.
    {
        "NAME": "jinja2",
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "prm.jinja2.environment"},
    },
]


def _database_from_url(url: str) -> dict:
    config = environ.Env.db_url_config(url)
    # A Unix-socket host arrives percent-encoded (postgres://user@%2Fpath%2Fto%2Fdir/name).
    config["HOST"] = unquote(config.get("HOST") or "")
    # One transaction per request, a view that fails leaving nothing half-saved: the one
    # partners.middleware.ActorMiddleware opens with the request's RLS scope, and rolls back when
    # the view fails (prm.tenancy.request_transaction). Django's ATOMIC_REQUESTS would nest a
    # savepoint in it around the view: two more statements on every request, and no more safety.
    config["ATOMIC_REQUESTS"] = False
    config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
    config["CONN_HEALTH_CHECKS"] = True
    if config.get("ENGINE") == "django.db.backends.postgresql":
        # Django's backend whose health check of a reused connection asks the socket, not the
        # server (one round trip less per request): prm/postgresql/base.py.
        config["ENGINE"] = "prm.postgresql"
        # No JIT compilation on the portal's connections. Its statements read pages of rows and
        # maintained figures, never long enough for compiled code to pay back, and PostgreSQL
        # decides to compile by estimated cost alone: under row-level security the estimates are
        # guesses, and a statement planned with sorting made the last resort (enable_sort = off,
        # the vendor lists' index walks) costs more than 10^10 whenever it must sort anyway (PostgreSQL
        # 15-17), which compiled it for 100-700 ms (EXPLAIN ANALYZE of the fund request changelist's filters).
        options = config.setdefault("OPTIONS", {})
        options["options"] = " ".join(filter(None, (options.get("options"), "-c jit=off")))
        if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
            # Parameters bound by the server, and a statement run PREPARE_THRESHOLD times on a
            # connection prepared (psycopg), so that PostgreSQL plans it once (a generic plan) rather
            # than on every request: under row-level security planning was most of many statements'
            # time. prm_bench_full, bench/profile_pages.py, 200 requests, wall per page off -> on (two
            # runs on a shared 2-core machine): a partner's home 6.4/4.8 -> 3.5/4.6 ms, fund requests
            # 6.1/5.1 -> 3.3/3.2 ms, the program admin's partner list 6.3/4.4 -> 3.8/4.1 ms; the
            # user and bell statements of every page 0.3 -> 0.1-0.2 ms each. A channel account
            # manager's pages are unchanged: their statements send the portfolio and are not
            # prepared (prm/postgresql/base.py: their generic plans were 4-5 times slower).
            # Fragile: (1) a transaction-mode pooler (PgBouncer < 1.21) in front of PostgreSQL breaks
            # prepared statements: turn this off there. (2) PostgreSQL picks a generic plan by its
            # own estimates, which are guesses under row-level security: a statement whose kept plan
            # is bad gets slower with no error (DATABASE_PLAN_CACHE_MODE=force_custom_plan shows it).
            # (3) planner settings must change through prm.pagination's Planner or planner, which
            # name them in the SQL; a raw SET of a planner setting would share a plan made without it.
            # (4) a ROLLBACK makes psycopg drop the connection's prepared statements.
            options["server_side_binding"] = True
            options["prepare_threshold"] = env.int("DATABASE_PREPARE_THRESHOLD", default=5)
            plan_cache_mode = env("DATABASE_PLAN_CACHE_MODE", default="")
            if plan_cache_mode:
                options["options"] += f" -c plan_cache_mode={plan_cache_mode}"
    return config


DATABASES = {
    "default": _database_from_url(env("DATABASE_URL", default="postgres://prm_app@127.0.0.1:5432/prm"))
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("PRM_CACHE_PREFIX", default="prm"),
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

AUTH_USER_MODEL = "prm.User"
AUTHENTICATION_BACKENDS = [
    # First: a sign-in stores the path of the backend that authenticated it, and this one (allauth's
    # sign-in, a cheaper read of the user row on every request) is the one to store. The next two
    # stay for the sessions that stored their paths (and for guardian's check, which wants
    # ModelBackend listed).
    "prm.auth_backends.AuthenticationBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "guardian.backends.ObjectPermissionBackend",
    "prm.auth_backends.VendorRoleBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# --- django-allauth: e-mail login, no open sign-up, MFA available to all, rate-limited.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_ADAPTER = "partners.adapters.InvitationOnlyAccountAdapter"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PRESERVE_USERNAME_CASING = False
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "5/5m/key,20/5m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[PRM] "
# Reverse proxies of our own in front of the portal (the TLS proxy the README recommends: 1). Rate
# limits key on the client's address: with N trusted proxies the N-th address from the right of
# X-Forwarded-For, with 0 REMOTE_ADDR (X-Forwarded-For is then ignored: a client can forge it).
# allauth's login limits and the portal's own (partners.ratelimit) read the same number.
PRM_TRUSTED_PROXY_COUNT = env.int("PRM_TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = PRM_TRUSTED_PROXY_COUNT
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "PRM partner portal"
# Accept the code of the neighbouring 30-second step too (RFC 6238, 5.2): a code typed as the
# step turns over, or a phone clock a few seconds off, is not refused. allauth still refuses a
# code used once already.
MFA_TOTP_TOLERANCE = 1

# --- django-guardian: per-object exceptions only (a CAM's portfolio), never the main filter.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("de", _("German")), ("fr", _("French")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "prm" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Widgets render through TEMPLATES, where templates/ comes first: templates/admin/widgets/ labels
# each input of the admin's date/time pair (issue 14, accessibility).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env("PRM_MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
# Files are private: they are served only through views that check the policy, so the storage
# has no public base URL.
MEDIA_URL = "/media-not-served/"
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if env("PRM_S3_BUCKET", default=""):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("PRM_S3_BUCKET"),
            "endpoint_url": env("PRM_S3_ENDPOINT_URL", default=None),
            "region_name": env("PRM_S3_REGION", default=None),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }

# Uploads: the first handler stops reading a request once its files are too large, the others
# keep files in memory up to FILE_UPLOAD_MAX_MEMORY_SIZE and in a temporary file beyond it.
FILE_UPLOAD_HANDLERS = [
    "prm.files.UploadLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# (Both sizes are Django's defaults, stated because the upload limit builds on them.)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Everything in a request body but its files (form fields, JSON) may be at most this large; Django
# answers 400 to more.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="PRM portal <portal@prm.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)

# --- Celery (Redis broker). Tasks are thin and idempotent; see prm/celery.py.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
# Installed into django-celery-beat's tables when beat starts (editable in the admin afterwards).
CELERY_BEAT_SCHEDULE = {
    "deals-expire": {"task": "deals.tasks.expire_deals", "schedule": 15 * 60},
    "deals-expiry-warnings": {"task": "deals.tasks.warn_expiring_deals", "schedule": 60 * 60},
    "deals-review-reminders": {"task": "deals.tasks.remind_reviewers", "schedule": 15 * 60},
    "deals-fold-pipeline-rollup": {"task": "deals.tasks.fold_pipeline_rollup", "schedule": 60},
    "leads-reassign-unanswered": {"task": "deals.tasks.reassign_unanswered_leads", "schedule": 5 * 60},
    "mdf-expire-unclaimed": {"task": "mdf.tasks.expire_unclaimed_requests", "schedule": 6 * 60 * 60},
    "mdf-close-ended-periods": {"task": "mdf.tasks.close_ended_periods", "schedule": 6 * 60 * 60},
    "training-expiry-reminders": {"task": "training.tasks.send_expiry_reminders", "schedule": 6 * 60 * 60},
    "training-expire-certifications": {"task": "training.tasks.expire_certifications", "schedule": 60 * 60},
    "files-sweep-orphans": {"task": "prm.tasks.sweep_orphan_files", "schedule": 24 * 60 * 60},
    "webhooks-send-due": {"task": "prm.tasks.send_due_webhooks", "schedule": 60},
    "exports-sweep": {"task": "prm.tasks.sweep_exports", "schedule": 60 * 60},
    # Support case SLAs: reminders before a target is due, escalations when it is missed (once each).
    "support-sla-check": {"task": "partners.support.tasks.check_support_slas", "schedule": 5 * 60},
    # Every partner's scorecard as of yesterday, at 01:30 (before the settlement run on the 1st).
    "partners-scorecards-nightly": {
        "task": "partners.tasks.compute_scorecards",
        "schedule": crontab(minute=30, hour=1),
    },
    # Product authorizations: granted, warned and lapsed as partners' tiers and certifications
    # change (deals.authorizations), every night after the certifications' own expiry run.
    "deals-evaluate-authorizations": {
        "task": "deals.tasks.evaluate_authorizations",
        "schedule": crontab(minute=15, hour=1),
    },
    # Tier evaluation on the figures of the month just ended, on the 1st at 01:45 (after the
    # scorecards it reads a score from); nightly, the partners whose grace period is over.
    "partners-tier-evaluation-monthly": {
        "task": "partners.tasks.evaluate_tiers",
        "schedule": crontab(minute=45, hour=1, day_of_month=1),
    },
    "partners-tier-grace-ends": {
        "task": "partners.tasks.evaluate_tiers",
        "schedule": crontab(minute=50, hour=1),
        "kwargs": {"grace_ends_only": True},
    },
    # The daily notification digest e-mails, for the users who chose one (prm.notifications).
    "notifications-daily-digest": {
        "task": "prm.tasks.send_notification_digests",
        "schedule": crontab(minute=0, hour=7),
    },
    # Settlement statements for the previous calendar month, on the 1st at 02:00.
    "incentives-settlement-monthly": {
        "task": "incentives.tasks.run_settlement",
        "schedule": crontab(minute=0, hour=2, day_of_month=1),
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "prm.api.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # The API speaks JSON: a deal's lines do not fit a form, and the schema promises only JSON.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "prm.api.PageNumberPagination",
    "PAGE_SIZE": 50,
    # prm.api's handler, with the rollback DRF asks ATOMIC_REQUESTS for (prm.middleware).
    "EXCEPTION_HANDLER": "prm.middleware.api_exception_handler",
    # A 429 with Retry-After past these rates (prm.api reads them per request).
    "DEFAULT_THROTTLE_CLASSES": ["prm.api.UserRateThrottle", "prm.api.AnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": env("PRM_API_USER_RATE", default="120/minute"),
        "anon": env("PRM_API_ANON_RATE", default="20/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PRM API",
    "DESCRIPTION": "Partner-side REST API: send `Authorization: Bearer <token>` with a personal token "
    "from the portal (Account → API tokens). Every request acts as the token's user and sees only "
    "that user's partner data. Bodies are JSON (`Content-Type: application/json`); text cannot "
    "contain NUL characters. Errors are described by the `Error` schema.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema is for the API's users: signed in on the portal, or with a token.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Request bodies get their own components, without the read-only fields and with what a
    # request must satisfy (e.g. a non-empty customer name).
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "prm.api_schema.document_error_responses",
    ],
    # The same choices appear on several models: one name each in the schema.
    "ENUM_NAME_OVERRIDES": {
        "CountryEnum": "django_countries.countries",
        "RegionEnum": "partners.models.Region",
        # A registration may name only an open stage (prm.api.WritableChoiceField); a deal has any.
        "DealStageEnum": "deals.models.DealStage",
        "OpenDealStageEnum": "deals.models.OPEN_STAGE_CHOICES",
    },
}

# --- Product defaults (PRODUCT.md, "Default numbers"); each can be changed per deployment.
PRM = {
    # Reports that add amounts of several currencies convert them into this one (prm.ExchangeRate).
    "REPORTING_CURRENCY": env("PRM_REPORTING_CURRENCY", default="USD"),
    # Partners' webhook URLs must be public https:// addresses; local development and tests relax it.
    "WEBHOOK_ALLOW_PRIVATE_URLS": env.bool("PRM_WEBHOOK_ALLOW_PRIVATE_URLS", default=False),
    "PARTNER_AGREEMENT_VERSION": env("PRM_PARTNER_AGREEMENT_VERSION", default="2026.1"),
    "INVITATION_VALID_DAYS": env.int("PRM_INVITATION_VALID_DAYS", default=14),
    "LOGO_MAX_BYTES": env.int("PRM_LOGO_MAX_BYTES", default=2 * 1024 * 1024),
    "UPLOAD_MAX_BYTES": env.int("PRM_UPLOAD_MAX_BYTES", default=20 * 1024 * 1024),
    # Session lifetimes in seconds (prm.sessions): vendor staff see every partner's data, so theirs
    # are short. An idle timeout of 0 turns it off.
    "VENDOR_SESSION_MAX_AGE": env.int("PRM_VENDOR_SESSION_MAX_AGE", default=12 * 60 * 60),
    "VENDOR_SESSION_IDLE_TIMEOUT": env.int("PRM_VENDOR_SESSION_IDLE_TIMEOUT", default=30 * 60),
    "PARTNER_SESSION_MAX_AGE": env.int("PRM_PARTNER_SESSION_MAX_AGE", default=14 * 24 * 60 * 60),
    "PARTNER_SESSION_IDLE_TIMEOUT": env.int("PRM_PARTNER_SESSION_IDLE_TIMEOUT", default=7 * 24 * 60 * 60),
    # Who a signed-in person acts as (membership, partner, portfolio) is kept in each web process
    # between requests, keyed by the user's actor_version, which database triggers move on at every
    # change to those rows (partners.actor_cache); an entry is dropped after this long unused or
    # not. 0: resolved from the database every time.
    "ACTOR_CACHE_SECONDS": env.int("PRM_ACTOR_CACHE_SECONDS", default=300),
    # Check each statement compiled once (prm.statements) against the ORM's on every call (tests).
    "VERIFY_STATEMENTS": False,
    "APPLY_RATE_LIMIT": env("PRM_APPLY_RATE_LIMIT", default="5/h"),
    "VERIFY_RATE_LIMIT": env("PRM_VERIFY_RATE_LIMIT", default="30/m"),
    # Enquiries an address may send through the public partner locator (partners.locator).
    "LOCATOR_CONTACT_RATE_LIMIT": env("PRM_LOCATOR_CONTACT_RATE_LIMIT", default="5/h"),
    # The same e-mail writing to the same partner again within this many minutes is refused.
    "LOCATOR_DUPLICATE_MINUTES": env.int("PRM_LOCATOR_DUPLICATE_MINUTES", default=60),
    # An API token expires: by default this many days after it is issued, at most API_TOKEN_MAX_DAYS.
    "API_TOKEN_DEFAULT_DAYS": env.int("PRM_API_TOKEN_DEFAULT_DAYS", default=90),
    "API_TOKEN_MAX_DAYS": env.int("PRM_API_TOKEN_MAX_DAYS", default=365),
    # Days a partner below its tier's requirements keeps the tier before a downgrade is proposed
    # (partners.performance.tier_services). Whether an upgrade applies at once or waits for the
    # channel account manager's approval is a setting of each tier (Tier.upgrade_needs_approval,
    # in the admin), so a program can let partners climb the first steps alone.
    "TIER_GRACE_DAYS": env.int("PRM_TIER_GRACE_DAYS", default=90),
    "DEAL_PROTECTION_DAYS": 90,
    "DEAL_EXTENSION_DAYS": 30,
    "DEAL_MAX_EXTENSIONS": 1,
    "DEAL_EXPIRY_WARNING_DAYS": [14, 3],
    # Trigram similarity of normalised customer names at which two registrations may conflict.
    "DEAL_CONFLICT_NAME_SIMILARITY": 0.6,
    "DEAL_REVIEW_SLA_BUSINESS_DAYS": 2,
    # A win reported more than this far above the registered (approved) amount waits for the
    # channel account manager's confirmation before anything accrues from it.
    "WON_AMOUNT_TOLERANCE_PERCENT": env.int("PRM_WON_AMOUNT_TOLERANCE_PERCENT", default=10),
    # A won amount above this multiple of the registered amount is refused outright (a typo or an
    # abuse, never a deal that grew): the partner registers the extra business as a new deal.
    "WON_AMOUNT_MAX_MULTIPLE": env.int("PRM_WON_AMOUNT_MAX_MULTIPLE", default=100),
    # The deal reviewer is warned (never blocked) about a line whose unit price is more than this
    # many percent below the product's list price, or more than this multiple of it (deals.pricing).
    "DEAL_PRICE_WARN_BELOW_PERCENT": env.int("PRM_DEAL_PRICE_WARN_BELOW_PERCENT", default=50),
    "DEAL_PRICE_WARN_ABOVE_MULTIPLE": env.int("PRM_DEAL_PRICE_WARN_ABOVE_MULTIPLE", default=3),
    "LEAD_ACCEPTANCE_SLA_HOURS": 48,
    "MDF_VENDOR_SHARE_PERCENT": 50,
    "MDF_REQUEST_LEAD_BUSINESS_DAYS": 10,
    "MDF_CLAIM_DEADLINE_DAYS": 60,
    # A channel account manager without an explicit ApprovalLimit may approve up to this much.
    "MDF_DEFAULT_CAM_APPROVAL_LIMIT": env.int("PRM_MDF_DEFAULT_CAM_APPROVAL_LIMIT", default=10000),
    "MDF_MAX_PROOF_FILES": 10,
    "QUIZ_PASS_MARK_PERCENT": 80,
    "QUIZ_MAX_ATTEMPTS": 3,
    "CERTIFICATION_REMINDER_DAYS": [60, 30, 7],
    # Four eyes on payouts: the finance user who approved a statement (or an MDF claim) cannot
    # also mark it paid.
    "SETTLEMENT_FOUR_EYES": env.bool("PRM_SETTLEMENT_FOUR_EYES", default=True),
    # CSV exports (prm.exports): a finished file can be downloaded for this many days, and one
    # person may have this many exports queued or running at once.
    "EXPORT_RETENTION_DAYS": env.int("PRM_EXPORT_RETENTION_DAYS", default=7),
    "EXPORT_MAX_ACTIVE": env.int("PRM_EXPORT_MAX_ACTIVE", default=3),
}
# The most the files of one request may add up to: enough for a claim's proofs, all at the limit.
PRM["UPLOAD_MAX_REQUEST_BYTES"] = env.int(
    "PRM_UPLOAD_MAX_REQUEST_BYTES", default=PRM["MDF_MAX_PROOF_FILES"] * PRM["UPLOAD_MAX_BYTES"]
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
