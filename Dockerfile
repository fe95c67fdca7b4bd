# PRM partner portal: one image for the web process (gunicorn), the Celery worker and Celery beat.
#
#   docker build -t prm:latest .
#   docker compose up            (see docker-compose.yml)
#
# Configuration comes from the environment at run time (prm/settings/production.py); nothing
# secret is baked into the image.

# --- Stage 1: the source tree, minus what must never reach the image -------------------------
# Copying everything and pruning here (rather than listing directories one by one) keeps new
# top-level directories such as locale/ in the image without anyone having to remember this file;
# the pruned paths exist only in this throw-away stage, not in the final image's layers.
FROM python:3.11-slim-bookworm AS source
COPY . /src
RUN rm -rf /src/.venv /src/venv /src/var /src/.git /src/.ci /src/.env /src/build /src/dist \
        /src/.pytest_cache /src/test-results /src/screenshots /src/*.egg-info \
 && find /src -name __pycache__ -type d -prune -exec rm -rf {} +
# The compiled translations (.mo, never committed), built here with gettext's msgfmt -- what
# `manage.py compilemessages` runs -- so gettext stays out of the runtime image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gettext \
 && rm -rf /var/lib/apt/lists/* \
 && find /src -name '*.mo' -path '*/LC_MESSAGES/*' -delete \
 && find /src -name '*.po' -path '*/LC_MESSAGES/*' -print0 \
    | xargs -0 -r -n1 sh -c 'msgfmt --check-format -o "${0%.po}.mo" "$0"'

# --- Stage 2: the runtime image -------------------------------------------------------------
FROM python:3.11-slim-bookworm

# PYTHONPATH: import the project from /app in every process (gunicorn, celery, manage.py), so
# BASE_DIR (templates/, static/, locale/) is /app and never the copy pip puts in site-packages.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=prm.settings.production

# Shared libraries WeasyPrint loads at run time (PDF certificates and statements), plus a font.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY --from=source /src /app

# Runtime dependencies only (no dev extras); not editable.
RUN pip install . \
 && rm -rf /app/build /app/*.egg-info

# Hashed, compressed static files (whitenoise) into var/staticfiles. This step needs settings to
# import, not a database or real credentials: a throw-away random key (production settings refuse
# any key written down in this repository) that lives only in this RUN step's environment.
RUN DJANGO_SETTINGS_MODULE=prm.settings.production DJANGO_ALLOWED_HOSTS=x \
    DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    python manage.py collectstatic --noinput

# Run as an unprivileged user. It may write only to var/media (uploads when no S3 bucket is set)
# and its own home (gunicorn's control socket, $HOME/.gunicorn); the code stays root-owned.
RUN groupadd --system --gid 10001 prm \
 && useradd --system --uid 10001 --gid prm --create-home --home-dir /home/prm --shell /usr/sbin/nologin prm \
 && mkdir -p /app/var/media \
 && chown -R prm:prm /app/var/media

USER prm

EXPOSE 8000

CMD ["gunicorn", "prm.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--access-logfile", "-"]
