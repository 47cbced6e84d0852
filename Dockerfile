# syntax=docker/dockerfile:1
# One image for web (gunicorn), the Celery worker and Celery beat; docker-compose.yml runs it.

# Front-end packages come from npm at build time; node stays in this stage only.
FROM node:20-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-fund --no-audit --loglevel=error


FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=billing_site.settings.production \
    MEDIA_ROOT=/data/media \
    WEB_CONCURRENCY=3

# Pango and HarfBuzz are what WeasyPrint renders PDFs with; DejaVu gives it a font to use.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
WORKDIR /app

# Dependencies first, in their own layer, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
COPY --from=assets /build/node_modules ./node_modules

# Editable, so the code runs from /app where templates/ and static/ live (BASE_DIR).
# collectstatic needs production settings to import; the key is thrown away with this layer.
RUN pip install --no-deps -e . \
    && SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
       ALLOWED_HOSTS=build.invalid \
       python manage.py collectstatic --noinput -v0

# Numeric ids, so an orchestrator can tell the image does not run as root.
RUN groupadd --system --gid 10001 billing \
    && useradd --system --uid 10001 --gid billing --create-home --shell /usr/sbin/nologin billing \
    && mkdir -p /data/media \
    && chown billing:billing /data/media
USER 10001:10001

EXPOSE 8000
CMD ["gunicorn", "billing_site.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "--timeout", "120"]
